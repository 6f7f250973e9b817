#!/usr/bin/env bash
# What `npm start` needs to run the first build of each project on the local AWS: podman (a
# privileged build's docker), Debian's docker-registry (the ECR registry behind the local AWS), and
# buildah, debootstrap, unshare and flock (the Go builder base, made once by
# scripts/image/build-image.sh --builder-only: the local AWS pulls no image). Missing Debian
# packages are installed with apt-get when running as root; otherwise it stops at once with the
# exact install line (and `npm start -- --no-build`, which needs none of them).
set -euo pipefail

need() { command -v "$1" >/dev/null 2>&1; }

missing=()
need podman || missing+=(podman)
need docker-registry || missing+=(docker-registry)
need buildah || missing+=(buildah)
need debootstrap || missing+=(debootstrap)
{ need unshare && need flock; } || missing+=(util-linux)
need aws || missing+=(awscli)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && need apt-get; then
    echo "  installing ${missing[*]} with apt-get (the builds' tools)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "error: the first builds need ${missing[*]}: install them with: sudo apt-get install -y ${missing[*]} (or skip the builds: npm start -- --no-build)" >&2
    exit 1
  fi
fi
