"""
The embedded local AWS: moto's server, plus the calls this project's deploys need that moto lacks.

Run as `python3 local_aws.py -H 127.0.0.1 -p <port>` (moto_server's own flags) by server.ts; the
CodeBuild additions are in local_aws_codebuild.py, the ECR registry in local_aws_ecr.py. Each
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
import json
import os
import signal
import sys

# Importing them attaches the additions to moto.
from local_aws_codebuild import _report
from local_aws_ecr import _ECR_HOST, _error, _registries_conf, _registry_request, is_registry_request


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
