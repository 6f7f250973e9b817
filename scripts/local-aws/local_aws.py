"""
The embedded local AWS: moto's server, plus the calls this project's deploys need that moto lacks.

Run as `python3 local_aws.py -H 127.0.0.1 -p <port>` (moto_server's own flags) by server.ts. Each
addition attaches to moto's own extension points (a backend method and the response method that
moto's JSON dispatcher finds by the action's name), so every other call is moto's, unchanged:

- CodeBuild UpdateProject: the fields given replace the project's (as AWS does), the rest stay;
  lastModified moves. What the AWS provider sends when a deployed project changes.
"""
import json
import sys

from moto.codebuild.exceptions import ResourceNotFoundException
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

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
