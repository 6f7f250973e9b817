"""
The local AWS's CodeBuild additions to moto (imported by local_aws.py, which says what they do):
UpdateProject, and builds that run (StartBuild, BatchGetBuilds, StopBuild, ListBuildsForProject,
ListBuilds) with the build runner's reports merged in by report().
"""
import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import uuid

from moto.codebuild.exceptions import InvalidInputException, ResourceNotFoundException
from moto.codebuild.models import CodeBuildBackend
from moto.codebuild.responses import (
    CodeBuildResponse,
    _validate_required_params_artifacts,
    _validate_required_params_environment,
    _validate_required_params_project_name,
    _validate_required_params_service_role,
    _validate_required_params_source,
)
from moto.core.utils import unix_time
from moto.utilities.utils import get_partition

# UpdateProject's request fields that replace the field of the same name in the project.
_REPLACED = (
    "description",
    "source",
    "secondarySources",
    "sourceVersion",
    "secondarySourceVersions",
    "artifacts",
    "secondaryArtifacts",
    "cache",
    "environment",
    "serviceRole",
    "timeoutInMinutes",
    "queuedTimeoutInMinutes",
    "encryptionKey",
    "tags",
    "vpcConfig",
    "logsConfig",
    "fileSystemLocations",
    "buildBatchConfig",
    "concurrentBuildLimit",
)


def _update_project(self: CodeBuildBackend, name: str, changes: dict) -> dict:
    project = self.codebuild_projects.get(name)
    if project is None:
        raise ResourceNotFoundException(
            f"Project cannot be found: arn:{get_partition(self.region_name)}:codebuild:"
            f"{self.region_name}:{self.account_id}:project/{name}"
        )
    meta = project.project_metadata
    for field, value in changes.items():
        if value is None:
            continue
        if field == "badgeEnabled":
            meta["badge"] = {"badgeEnabled": bool(value)}
            continue
        meta[field] = value
        if field == "serviceRole":
            project.service_role = value
        elif field == "tags":
            project.tags = value
    meta["lastModifiedDate"] = unix_time()
    return meta


def _update_project_response(self: CodeBuildResponse) -> str:
    name = self._get_param("name")
    _validate_required_params_project_name(name)
    given = {field: self._get_param(field) for field in (*_REPLACED, "badgeEnabled")}
    if given["source"] is not None:
        _validate_required_params_source(given["source"])
    if given["serviceRole"] is not None:
        _validate_required_params_service_role(self.current_account, self.region, given["serviceRole"])
    if given["artifacts"] is not None:
        _validate_required_params_artifacts(given["artifacts"])
    if given["environment"] is not None:
        _validate_required_params_environment(given["environment"])
    return json.dumps({"project": self.codebuild_backend.update_project(name, given)})


CodeBuildBackend.update_project = _update_project
CodeBuildResponse.update_project = _update_project_response


# ---------------------------------------------------------------------------------------------
# Builds that run.

_lock = threading.Lock()
# Build ID -> (account, region, the runner process); the build records live in moto's backend.
_runners: dict = {}
_build_numbers: dict = {}


def _now() -> float:
    return unix_time()


def _arn(region: str, account: str, kind: str, name: str) -> str:
    return f"arn:{get_partition(region)}:codebuild:{region}:{account}:{kind}/{name}"


def _log_target(project: dict, build_uuid: str, region: str, account: str) -> dict:
    """Where AWS puts a build's log: the project's group (default /aws/codebuild/<project>), stream <prefix/>uuid."""
    cw = (project.get("logsConfig") or {}).get("cloudWatchLogs") or {}
    if cw.get("status") == "DISABLED":
        return {"cloudWatchLogs": {"status": "DISABLED"}}
    group = cw.get("groupName") or f"/aws/codebuild/{project['name']}"
    stream = f"{cw['streamName']}/{build_uuid}" if cw.get("streamName") else build_uuid
    return {
        "groupName": group,
        "streamName": stream,
        "deepLink": f"https://console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{group}/log-events/{stream}",
        "cloudWatchLogsArn": f"arn:{get_partition(region)}:logs:{region}:{account}:log-group:{group}:log-stream:{stream}",
        "cloudWatchLogs": {"status": "ENABLED", "groupName": group, **({"streamName": cw["streamName"]} if cw.get("streamName") else {})},
    }


def _phase(kind: str, status: str | None = None, start: float | None = None, end: float | None = None, contexts: list | None = None) -> dict:
    phase: dict = {"phaseType": kind, "startTime": start or _now()}
    if status is not None:
        phase["phaseStatus"] = status
        phase["endTime"] = end or phase["startTime"]
        phase["durationInSeconds"] = int(max(0, phase["endTime"] - phase["startTime"]))
    if contexts is not None:
        phase["contexts"] = contexts
    return phase


def _finish(build: dict, status: str, phase: str, message: str) -> None:
    """Ends a build that the runner did not (it could not start, or it was stopped)."""
    now = _now()
    phases = [p for p in build["phases"] if "phaseStatus" in p]
    phases.append(_phase(phase, status if status != "STOPPED" else "STOPPED", now, now, [{"statusCode": status, "message": message}]))
    phases.append(_phase("COMPLETED", None, now))
    build.update(phases=phases, buildStatus=status, currentPhase="COMPLETED", buildComplete=True, endTime=now)


def _start_build(self: CodeBuildBackend, project_name: str, source_version, env_override, timeout_override=None, source_override=None) -> dict:
    project = self.codebuild_projects[project_name].project_metadata
    build_uuid = str(uuid.uuid4())
    build_id = f"{project_name}:{build_uuid}"
    with _lock:
        key = (self.account_id, self.region_name, project_name)
        _build_numbers[key] = _build_numbers.get(key, 0) + 1
        number = _build_numbers[key]
    now = _now()
    environment = json.loads(json.dumps(project.get("environment") or {}))
    if env_override:
        names = {v["name"] for v in env_override}
        environment["environmentVariables"] = [v for v in environment.get("environmentVariables", []) if v["name"] not in names] + list(env_override)
    build = {
        "id": build_id,
        "arn": _arn(self.region_name, self.account_id, "build", build_id),
        "buildNumber": number,
        "startTime": now,
        "currentPhase": "QUEUED",
        "buildStatus": "IN_PROGRESS",
        "sourceVersion": source_version or project.get("sourceVersion") or "",
        "projectName": project_name,
        "phases": [_phase("SUBMITTED", "SUCCEEDED", now, now), _phase("QUEUED", None, now)],
        "source": {**(project.get("source") or {}), **(source_override or {})},
        "secondarySources": [],
        "secondarySourceVersions": [],
        "artifacts": {"location": ""},
        "cache": project.get("cache") or {"type": "NO_CACHE"},
        "environment": environment,
        "serviceRole": project.get("serviceRole"),
        "logs": _log_target(project, build_uuid, self.region_name, self.account_id),
        "timeoutInMinutes": timeout_override or project.get("timeoutInMinutes") or 60,
        "queuedTimeoutInMinutes": project.get("queuedTimeoutInMinutes") or 480,
        "buildComplete": False,
        "initiator": "local-aws",
        "encryptionKey": project.get("encryptionKey"),
    }
    self.build_history.setdefault(project_name, []).append(build_id)
    self.build_metadata_history[project_name].append(build)
    runner, node = os.environ.get("LOCAL_AWS_BUILD_RUNNER"), os.environ.get("LOCAL_AWS_NODE")
    if not runner or not node or not os.path.isfile(runner):
        _finish(build, "FAILED", "PROVISIONING", f"the local build runner is not built ({runner or 'LOCAL_AWS_BUILD_RUNNER unset'}): run npm run build, then start the local AWS again")
        return build
    spec = {"build": build, "project": project, "account": self.account_id, "region": self.region_name, "endpoint": f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}"}
    # The runner's own output (not the build's: that goes to CloudWatch Logs) joins this server's log.
    proc = subprocess.Popen([node, runner], stdin=subprocess.PIPE, stdout=sys.stderr, stderr=subprocess.STDOUT, start_new_session=True)
    with _lock:
        _runners[build_id] = (self.account_id, self.region_name, proc)
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()
    threading.Thread(target=_reap, args=(self, build, proc), daemon=True).start()
    return build


def _reap(backend: CodeBuildBackend, build: dict, proc: subprocess.Popen) -> None:
    """Waits for a runner; a runner that ends without reporting the end of its build fails it."""
    code = proc.wait()
    with _lock:
        _runners.pop(build["id"], None)
        if not build["buildComplete"]:
            _finish(build, "FAILED", "FINALIZING", f"the local build runner exited with status {code} before the build ended")


def _find_build(backend: CodeBuildBackend, build_id: str) -> dict | None:
    for builds in backend.build_metadata_history.values():
        for build in builds:
            if build["id"] == build_id:
                return build
    return None


def _report(account: str, region: str, build_id: str, update: dict) -> int:
    """The runner's report: merged into the build record unless the build has already ended."""
    from moto.codebuild.models import codebuild_backends

    build = _find_build(codebuild_backends[account][region], build_id)
    if build is None:
        return 404
    with _lock:
        if build["buildComplete"]:
            return 409
        build.update({k: v for k, v in update.items() if k in ("currentPhase", "buildStatus", "phases", "buildComplete", "endTime", "exportedEnvironmentVariables", "resolvedSourceVersion")})
    return 200


def _stop_build(self: CodeBuildBackend, build_id: str) -> dict:
    build = _find_build(self, build_id)
    if build is None:
        raise ResourceNotFoundException(f"Build {build_id} does not exist")
    with _lock:
        runner = _runners.pop(build_id, None)
        if not build["buildComplete"]:
            _finish(build, "STOPPED", build.get("currentPhase") or "BUILD", "the build was stopped (StopBuild)")
    if runner is not None:
        _kill(runner[2])
    return build


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


@atexit.register
def _stop_runners() -> None:
    for _, _, proc in list(_runners.values()):
        _kill(proc)


def _start_build_response(self: CodeBuildResponse) -> str:
    name = self._get_param("projectName")
    _validate_required_params_project_name(name)
    if name not in self.codebuild_backend.codebuild_projects:
        raise ResourceNotFoundException(f"Project cannot be found: {_arn(self.region, self.current_account, 'project', name)}")
    timeout = self._get_param("timeoutInMinutesOverride")
    if timeout is not None and (not isinstance(timeout, int) or not 5 <= timeout <= 2160):
        raise InvalidInputException(f"timeoutInMinutesOverride {timeout!r}: must be a whole number of minutes from 5 to 2160")
    # The source overrides StartBuild takes (a GitHub project built once from an S3 zip, as on CodeBuild).
    source = {k: v for k, v in (("type", self._get_param("sourceTypeOverride")), ("location", self._get_param("sourceLocationOverride")), ("buildspec", self._get_param("buildspecOverride"))) if v is not None}
    build = self.codebuild_backend.start_build(name, self._get_param("sourceVersion"), self._get_param("environmentVariablesOverride"), timeout, source)
    return json.dumps({"build": build})


def _batch_get_builds_response(self: CodeBuildResponse) -> str:
    ids = self._get_param("ids") or []
    for build_id in ids:
        if ":" not in build_id:
            raise InvalidInputException("Invalid build ID provided")
    found, missing = [], []
    for build_id in ids:
        build = _find_build(self.codebuild_backend, build_id)
        (found if build is not None else missing).append(build if build is not None else build_id)
    return json.dumps({"builds": found, "buildsNotFound": missing})


def _stop_build_response(self: CodeBuildResponse) -> str:
    return json.dumps({"build": self.codebuild_backend.stop_build(self._get_param("id"))})


def _list_builds_for_project_response(self: CodeBuildResponse) -> str:
    name = self._get_param("projectName")
    _validate_required_params_project_name(name)
    if name not in self.codebuild_backend.codebuild_projects:
        raise ResourceNotFoundException(f"The provided project {_arn(self.region, self.current_account, 'project', name)} does not exist")
    ids = list(self.codebuild_backend.build_history.get(name, []))
    return json.dumps({"ids": ids if self._get_param("sortOrder") == "ASCENDING" else ids[::-1]})


def _list_builds_response(self: CodeBuildResponse) -> str:
    builds = [b for bs in self.codebuild_backend.build_metadata_history.values() for b in bs]
    builds.sort(key=lambda b: b["startTime"], reverse=self._get_param("sortOrder") != "ASCENDING")
    return json.dumps({"ids": [b["id"] for b in builds]})


CodeBuildBackend.start_build = _start_build
CodeBuildBackend.stop_build = _stop_build
CodeBuildResponse.start_build = _start_build_response
CodeBuildResponse.batch_get_builds = _batch_get_builds_response
CodeBuildResponse.stop_build = _stop_build_response
CodeBuildResponse.list_builds_for_project = _list_builds_for_project_response
CodeBuildResponse.list_builds = _list_builds_response
