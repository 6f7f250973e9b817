#!/usr/bin/env bash
# The tools the test suite needs beyond Node: run by `npm test` (its pretest step) and by
# .ci/run. Missing Debian packages are installed with apt-get when running as root; otherwise it
# stops at once with the exact install line. Terraform and the local AWS's server are not Debian
# packages: their absence stops it with how to install them.
set -euo pipefail

need() { command -v "$1" >/dev/null 2>&1; }

missing=()
need aws || missing+=(awscli)
need python3 || missing+=(python3)
# Image build and buildspec tests: daemonless container tools, a local registry and skopeo (the
# multi-arch test reads the pushed manifest list back), Go, shellcheck.
need buildah || missing+=(buildah)
need podman || missing+=(podman)
need docker-registry || missing+=(docker-registry)
need skopeo || missing+=(skopeo)
need debootstrap || missing+=(debootstrap)
need go || missing+=(golang-go)
need shellcheck || missing+=(shellcheck)
need curl || missing+=(curl)
need git || missing+=(git)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && need apt-get; then
    echo "test prerequisites: installing ${missing[*]} with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "error: the tests need ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

need terraform || {
  echo "error: terraform is not on PATH: install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install)" >&2
  exit 1
}
# This script's folder without dirname (the tool check runs with only the tools it checks on PATH).
here="${BASH_SOURCE[0]%/*}"
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
bash "$here/../local-aws/require-server.sh"
