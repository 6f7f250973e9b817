"""
The local AWS's ECR registry (imported by local_aws.py, which says what it does): tokens from
GetAuthorizationToken, the registry front by each account's real ECR host name, the pushed images
in moto's ECR, replication, and the docker-registry that keeps the blobs.
"""
import atexit
import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from local_aws_codebuild import _kill, _lock

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
            # Under a watchdog shell in a group of its own: when this server ends in any way (kill -9
            # included, which atexit does not see), the registry stops within a second and its
            # folder goes, so nothing of it outlives the local AWS.
            self.proc = subprocess.Popen(
                ["sh", "-c", _REGISTRY_WATCHDOG, "registry-watchdog", str(os.getpid()), self.dir, binary, "serve", config],
                stdout=sys.stderr,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
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


_REGISTRY_WATCHDOG = "\n".join(
    [
        'parent="$1"; dir="$2"; shift 2',
        '"$@" & child=$!',
        "trap 'kill -TERM \"$child\" 2>/dev/null; wait \"$child\"; rm -rf \"$dir\"; exit' TERM INT",
        'while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done',
        'kill -TERM "$child" 2>/dev/null; wait "$child"; rm -rf "$dir"',
    ]
)

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

