"""
The embedded local AWS: moto's server, plus the calls this project's deploys need that moto lacks.

Run as `python3 local_aws.py -H 127.0.0.1 -p <port>` (moto_server's own flags) by server.ts. Each
addition attaches to moto's own extension points (a backend method and the response method that
moto's JSON dispatcher finds by the action's name), so every other call is moto's, unchanged:

- CodeBuild UpdateProject: the fields given replace the project's (as AWS does), the rest stay;
  lastModified moves. What the AWS provider sends when a deployed project changes.
- CodeBuild builds that run: StartBuild records the build from the project as the local AWS holds
  it and starts the local build runner (dist/scripts/local-aws/build.js, given by server.ts in
  LOCAL_AWS_BUILD_RUNNER and LOCAL_AWS_NODE) in a process group of its own; the runner reports
  phases and the result back on POST /_local_aws/codebuild/builds (this server only). BatchGetBuilds
  returns what was reported, StopBuild ends the runner's process group, ListBuildsForProject and
  ListBuilds list them, newest first.
- ECR's registry: GetAuthorizationToken issues a token of the caller's account (12 hours), and a
  request for http://<account>.dkr.ecr.<region>.amazonaws.com/v2/... that reaches this server (a
  client given this server as its HTTP proxy, with that host an insecure registry in the
  registries.conf that GET /_local_aws/registries.conf writes) is that account's registry in that
  region. It refuses a login without a valid token and an account's token for another account's
  registry, answers NAME_UNKNOWN for a repository the account does not have, records each pushed
  manifest in the local ECR (describe-images, batch-get-image), refuses a second push of a tag to
  an IMMUTABLE repository as ECR does, and keeps the blobs in Debian's docker-registry (started on
  first use, each account and region under a name prefix of its own). A pushed tag is replicated as
  the registry's replication configuration says: to each destination region and account whose
  repository filter matches (another account only when its registry policy allows this account
  ecr:ReplicateImage), the repository created there if missing.
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


def _start_build(self: CodeBuildBackend, project_name: str, source_version, env_override) -> dict:
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
        "source": project.get("source"),
        "secondarySources": [],
        "secondarySourceVersions": [],
        "artifacts": {"location": ""},
        "cache": project.get("cache") or {"type": "NO_CACHE"},
        "environment": environment,
        "serviceRole": project.get("serviceRole"),
        "logs": _log_target(project, build_uuid, self.region_name, self.account_id),
        "timeoutInMinutes": project.get("timeoutInMinutes") or 60,
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
    build = self.codebuild_backend.start_build(name, self._get_param("sourceVersion"), self._get_param("environmentVariablesOverride"))
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


# ---------------------------------------------------------------------------------------------
# ECR's registry.

import base64
import hashlib
import http.client
import re
import secrets
import shutil
import socket
import tempfile
import time

from moto.ecr.exceptions import ImageAlreadyExistsException
from moto.ecr.models import ECRBackend, Image, ecr_backends
from moto.ecr.responses import ECRResponse

TOKEN_SECONDS = 12 * 3600
_tokens: dict = {}  # password -> (account, expires)


def _get_authorization_token_response(self: ECRResponse) -> str:
    password = secrets.token_urlsafe(24)
    expires = time.time() + TOKEN_SECONDS
    _tokens[password] = (self.current_account, expires)
    token = base64.b64encode(f"AWS:{password}".encode()).decode()
    endpoint = f"https://{self.current_account}.dkr.ecr.{self.region}.amazonaws.com"
    return json.dumps({"authorizationData": [{"authorizationToken": token, "expiresAt": expires, "proxyEndpoint": endpoint}]})


ECRResponse.get_authorization_token = _get_authorization_token_response


def _image_size(self: Image):
    """ECR's imageSizeInBytes: the layers' sizes (moto's own takes the config's)."""
    manifest = json.loads(self.image_manifest)
    return sum(layer.get("size", 0) for layer in manifest["layers"]) if "layers" in manifest else None


Image.get_image_size_in_bytes = _image_size


class _Registry:
    """Debian's docker-registry on a free port of 127.0.0.1, its storage in a folder removed at exit."""

    def __init__(self):
        self.port = None
        self.proc = None
        self.dir = None

    def ensure(self) -> int:
        with _lock:
            if self.proc is not None and self.proc.poll() is None:
                return self.port
            binary = os.environ.get("LOCAL_AWS_REGISTRY") or shutil.which("docker-registry")
            if not binary:
                raise RuntimeError("the local AWS's ECR registry needs Debian's docker-registry: sudo apt-get install -y docker-registry")
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                self.port = sock.getsockname()[1]
            self.dir = self.dir or tempfile.mkdtemp(prefix="local-aws-registry-")
            config = os.path.join(self.dir, "config.yml")
            with open(config, "w") as f:
                f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {self.dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{self.port}\n")
            self.proc = subprocess.Popen([binary, "serve", config], stdout=sys.stderr, stderr=subprocess.STDOUT, start_new_session=True)
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return self.port
                except OSError:
                    time.sleep(0.05)
            raise RuntimeError(f"docker-registry did not answer on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            _kill(self.proc)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


_registry = _Registry()
atexit.register(_registry.stop)

_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?::\d+)?$")
_NAME = re.compile(r"^/v2/(.+?)/(manifests|blobs|tags)/(.*)$")


def is_registry_request(environ) -> bool:
    return bool(_ECR_HOST.match(environ.get("HTTP_HOST", ""))) and environ.get("PATH_INFO", "").startswith("/v2")


def _error(start_response, status: str, code: str, message: str, headers=()):
    start_response(status, [("Content-Type", "application/json"), *headers])
    return [json.dumps({"errors": [{"code": code, "message": message}]}).encode()]


def _account_of(environ) -> str | None:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if not auth.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
    except ValueError:
        return None
    account, expires = _tokens.get(password, (None, 0))
    return account if user == "AWS" and expires > time.time() else None


def _read_body(environ) -> bytes:
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get("wsgi.input_terminated"):
        return environ["wsgi.input"].read()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _forward(environ, start_response, body: bytes, prefix: str):
    """The request to docker-registry under the account's and region's name prefix (Host kept, so the upload locations it answers point back here, without the prefix)."""
    port = _registry.ensure()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    path = "/v2/" + prefix + environ.get("PATH_INFO", "")[4:] + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
    headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_") and k not in ("HTTP_AUTHORIZATION", "HTTP_TRANSFER_ENCODING", "HTTP_CONNECTION")}
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    headers["Content-Length"] = str(len(body))
    conn.request(environ["REQUEST_METHOD"], path, body=body, headers=headers)
    res = conn.getresponse()
    data = res.read()
    conn.close()
    headers = [(k, v.replace(f"/v2/{prefix}", "/v2/") if k.lower() == "location" else v) for k, v in res.getheaders() if k.lower() not in ("connection", "transfer-encoding", "content-length")]
    start_response(f"{res.status} {res.reason}", headers + [("Content-Length", str(len(data)))])
    return [data]


def _registry_request(environ, start_response):
    account = _account_of(environ)
    host = environ.get("HTTP_HOST", "localhost")
    if account is None:
        return _error(start_response, "401 Unauthorized", "UNAUTHORIZED", "authentication required: log in with the password of aws ecr get-login-password (valid 12 hours)", [("WWW-Authenticate", f'Basic realm="{host}"')])
    path = environ.get("PATH_INFO", "")
    registry_id, region = _ECR_HOST.match(host).groups()
    if registry_id != account:
        return _error(start_response, "403 Forbidden", "DENIED", f"a token of account {account} does not grant access to the registry of account {registry_id}")
    if path in ("/v2", "/v2/"):
        start_response("200 OK", [("Content-Type", "application/json"), ("Docker-Distribution-API-Version", "registry/2.0")])
        return [b"{}"]
    m = _NAME.match(path)
    if not m:
        return _error(start_response, "404 Not Found", "NAME_UNKNOWN", f"not a repository path: {path} (/v2/<repository>/manifests|blobs|tags/...)")
    name, kind, ref = m.groups()
    backend: ECRBackend = ecr_backends[registry_id][region]
    repository = backend.repositories.get(name)
    if repository is None:
        return _error(start_response, "404 Not Found", "NAME_UNKNOWN", f"The repository with name '{name}' does not exist in the registry with id '{registry_id}'")
    body = _read_body(environ)
    method = environ["REQUEST_METHOD"]
    if kind == "manifests" and method == "PUT":
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        media_type = environ.get("CONTENT_TYPE") or json.loads(body).get("mediaType")
        if not ref.startswith("sha256:"):
            tagged = [i for i in repository.images if ref in i.image_tags]
            if tagged and repository.is_tag_immutable() and tagged[0].get_image_digest() != digest:
                return _error(start_response, "400 Bad Request", "TAG_INVALID", f"The image tag '{ref}' already exists in the '{name}' repository and cannot be overwritten because the repository is immutable.")
            try:
                backend.put_image(name, body.decode(), ref, media_type, digest)
            except ImageAlreadyExistsException:
                pass  # the same image under the same tag again: nothing changes
            status = []
            result = _forward(environ, lambda s, h: status.append(s) or start_response(s, h), body, f"{registry_id}/{region}/")
            if status and status[0].startswith("201"):
                _replicate(backend, registry_id, region, name, ref, body, media_type, digest)
            return result
    return _forward(environ, start_response, body, f"{registry_id}/{region}/")


def _registry_call(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", _registry.ensure(), timeout=600)
    conn.request(method, path, body=body, headers={"Content-Length": str(len(body)), **(headers or {})})
    res = conn.getresponse()
    res.read()
    conn.close()
    return res.status


def _allows_replication(destination: ECRBackend, source_account: str) -> bool:
    """A destination account's registry policy lets the source account replicate into it (ecr:ReplicateImage)."""
    if destination.account_id == source_account:
        return True
    try:
        policy = json.loads(destination.registry_policy or "{}")
    except ValueError:
        return False
    for st in policy.get("Statement", []):
        actions = st.get("Action", [])
        principals = (st.get("Principal") or {}).get("AWS", [])
        actions = [actions] if isinstance(actions, str) else actions
        principals = [principals] if isinstance(principals, str) else principals
        if st.get("Effect") == "Allow" and any(a in ("ecr:ReplicateImage", "ecr:*") for a in actions) and any(source_account in p for p in principals):
            return True
    return False


def _replicate(backend: ECRBackend, account: str, region: str, name: str, tag: str, manifest: bytes, media_type: str, digest: str) -> None:
    """The pushed tag, to every destination of the registry's replication rules that match the repository."""
    blobs = [d["digest"] for d in [json.loads(manifest).get("config") or {}, *json.loads(manifest).get("layers", [])] if d.get("digest")]
    for rule in (backend.replication_config or {}).get("rules", []):
        filters = rule.get("repositoryFilters") or []
        if filters and not any(name.startswith(f.get("filter", "")) for f in filters if f.get("filterType", "PREFIX_MATCH") == "PREFIX_MATCH"):
            continue
        for dest in rule.get("destinations", []):
            dest_account, dest_region = dest["registryId"], dest["region"]
            if (dest_account, dest_region) == (account, region):
                continue
            target: ECRBackend = ecr_backends[dest_account][dest_region]
            if not _allows_replication(target, account):
                print(f"local AWS: not replicated to {dest_account}/{dest_region}: its registry policy does not allow {account} ecr:ReplicateImage", file=sys.stderr)
                continue
            if name not in target.repositories:
                target.create_repository(name, None, {"encryptionType": "AES256"}, {"scanOnPush": False}, "MUTABLE", [])
            for blob in blobs:
                _registry_call("POST", f"/v2/{dest_account}/{dest_region}/{name}/blobs/uploads/?mount={blob}&from={account}/{region}/{name}")
            _registry_call("PUT", f"/v2/{dest_account}/{dest_region}/{name}/manifests/{tag}", manifest, {"Content-Type": media_type})
            try:
                target.put_image(name, manifest.decode(), tag, media_type, digest)
            except ImageAlreadyExistsException:
                pass


def _registries_conf() -> str:
    """A registries.conf that lets a client speak plain HTTP (through this server as its proxy) to each account's ECR host in each region that has a repository."""
    lines = []
    for account, regions in ecr_backends.items():
        for region, backend in regions.items():
            if backend.repositories:
                lines += ["[[registry]]", f'location = "{account}.dkr.ecr.{region}.amazonaws.com"', "insecure = true", ""]
    return "\n".join(lines)


class _LocalAwsRoutes:
    """The routes this server adds in front of moto: the registry (/v2/), GET /_local_aws/registries.conf, and POST /_local_aws/codebuild/builds (the build runner's reports: JSON account, region, id, update)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "CONNECT":
            # A client's HTTPS through this server as its proxy. To an ECR host: refused, so the client
            # falls back to HTTP (the host is an insecure registry). Anywhere else: there is no network
            # here. The reason phrase is what the client prints.
            target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("HTTP_HOST", "")
            if _ECR_HOST.match(target.rsplit(":", 1)[0]):
                start_response("405 the local AWS serves ECR registries over HTTP (insecure in its registries.conf)", [("Content-Type", "text/plain")])
            else:
                start_response(f"502 the local AWS reaches no network: only its accounts' ECR registries answer, not {target}", [("Content-Type", "text/plain")])
            return [b""]
        if is_registry_request(environ):
            try:
                return _registry_request(environ, start_response)
            except RuntimeError as e:
                return _error(start_response, "503 Service Unavailable", "UNAVAILABLE", str(e))
        if path == "/_local_aws/registries.conf":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [_registries_conf().encode()]
        if path != "/_local_aws/codebuild/builds":
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            code = _report(body["account"], body["region"], body["id"], body["update"])
        except (KeyError, ValueError, TypeError) as e:
            code = 400
            print(f"local AWS: a bad build report: {e}", file=sys.stderr)
        start_response(f"{code} {'OK' if code == 200 else 'Refused'}", [("Content-Type", "application/json")])
        return [json.dumps({"status": code}).encode()]


def main(argv: list) -> None:
    """moto's server (moto.server.main), with the routes above in front of it."""
    import argparse

    from werkzeug.serving import run_simple

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    parser = argparse.ArgumentParser(prog="local_aws.py")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(argv)
    os.environ["MOTO_PORT"] = str(args.port)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True
    run_simple(args.host, args.port, _LocalAwsRoutes(app), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main(sys.argv[1:])
