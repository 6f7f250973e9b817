#!/usr/bin/env bash
# Builds docker/Dockerfile without a Docker daemon (buildah, chroot isolation) and without
# pulling any base image:
#   * the builder stage runs on a Debian bookworm minbase rootfs with Debian's golang-go
#     (Go 1.19) and a Go build cache already holding the standard library (so a build compiles
#     only the app), made once with debootstrap and imported as localhost/go-builder:bookworm;
#   * the runtime stage is "scratch" (the Dockerfile brings CA certificates and the passwd entry
#     of the non-root user over from the builder).
# Only Debian packages are fetched (debootstrap talks to the Debian mirror).
#
# The builder rootfs is made outside the repository, in BUILDER_CACHE_DIR, by debootstrap
# running in a private mount namespace (unshare --mount --propagation private): the procfs and
# sysfs it mounts in the rootfs are invisible to every other process and vanish when it exits.
# Both the rootfs and the imported builder image are keyed by their inputs (suite, variant,
# packages, this script's recipe), so later runs, and other checkouts, reuse them; two runs at
# once wait for each other (flock) instead of making it twice.
#
# Usage: scripts/image/build-image.sh [--no-smoke] [--refresh-builder] [--builder-only]
#            [--platforms linux/amd64,linux/arm64 [--push REGISTRY/REPO:TAG [--tls-verify=false]]]
#   --no-smoke          skip running the built image once (GET /healthz, SIGTERM)
#   --refresh-builder   re-create the cached builder rootfs and image
#   --builder-only      make (or reuse) the builder image, then stop
#   --platforms LIST    multi-arch: build one image per platform (comma-separated, each once; known:
#                       linux/amd64, linux/arm64) and the manifest list IMAGE over them. Go
#                       cross-compiles in the builder, which runs on this machine's platform: no
#                       emulation. Each image is tagged IMAGE's tag + -linux-<arch>; the smoke test
#                       runs the image of this machine's platform only
#   --push REF          push the manifest list and its images to REF (registry/repository[:tag],
#                       e.g. 123456789012.dkr.ecr.eu-central-1.amazonaws.com/app:1.0; log in first
#                       with buildah login); needs --platforms
#   --tls-verify=false  push over plain HTTP / unverified TLS: only to a registry on this machine
#                       (127.0.0.1, localhost)
# Environment (all optional):
#   VERSION            version baked into the binary (default: git describe, else dev)
#   REVISION           org.opencontainers.image.revision (default: git HEAD)
#   SOURCE             org.opencontainers.image.source (default: unknown)
#   IMAGE              image reference to tag, with --platforms the manifest list's
#                      (default: localhost/codebuild-sample-app:dev)
#   BUILDER_IMAGE      builder image (default: localhost/go-builder:bookworm, made here
#                      with debootstrap; any other value is used as it is, e.g. a mirror
#                      of golang:1.23-bookworm, and is pulled only if not stored yet)
#   RUNTIME_IMAGE      runtime base (default: scratch)
#   DEBIAN_MIRROR      mirror for debootstrap (default: http://deb.debian.org/debian)
#   BUILDER_CACHE_DIR  where the builder rootfs is made and kept; must be outside the
#                      repository (default: ${XDG_CACHE_HOME:-$HOME/.cache}/codebuild-docker-modules/image)
#   STORAGE_DRIVER     buildah storage driver (default: vfs); CONTAINERS_STORAGE_CONF selects
#                      another storage (graphroot, runroot) as for every containers tool
# Needs root (debootstrap, buildah storage) and, if the tools are missing, apt.
set -euo pipefail

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

SMOKE=1
REFRESH=0
BUILDER_ONLY=0
PLATFORMS_ARG=
PLATFORMS_SET=0
PUSH_REF=
PUSH_SET=0
TLS_VERIFY=true
# need_value FLAG EXAMPLE "$@": the flag's value (the next argument) is there and is not a flag.
need_value() {
  local flag="$1" example="$2"; shift 2
  if [ "$#" -lt 2 ] || [ -z "$2" ] || [ "${2#--}" != "$2" ]; then die "$flag needs a value, e.g. $flag $example"; fi
}
while [ "$#" -gt 0 ]; do
  case "$1" in
    --no-smoke) SMOKE=0 ;;
    --refresh-builder) REFRESH=1 ;;
    --builder-only) BUILDER_ONLY=1 ;;
    --platforms|--platforms=*)
      [ "$PLATFORMS_SET" -eq 0 ] || die "--platforms is given twice: give one comma-separated list"
      if [ "$1" = --platforms ]; then
        need_value --platforms linux/amd64,linux/arm64 "$@"
        PLATFORMS_ARG="$2"; shift
      else
        PLATFORMS_ARG="${1#--platforms=}"
      fi
      PLATFORMS_SET=1 ;;
    --push|--push=*)
      [ "$PUSH_SET" -eq 0 ] || die "--push is given twice: the manifest list goes to one reference"
      if [ "$1" = --push ]; then
        need_value --push 127.0.0.1:5000/codebuild-sample-app:1.0 "$@"
        PUSH_REF="$2"; shift
      else
        PUSH_REF="${1#--push=}"
      fi
      PUSH_SET=1 ;;
    --tls-verify=false) TLS_VERIFY=false ;;
    --tls-verify|--tls-verify=true) TLS_VERIFY=true ;;
    --tls-verify=*) die "--tls-verify takes true or false, not '${1#--tls-verify=}'" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

# --platforms: each known platform at most once, at least one.
KNOWN_PLATFORMS=(linux/amd64 linux/arm64)
PLATFORMS=()
if [ "$PLATFORMS_SET" -eq 1 ]; then
  [ -n "$PLATFORMS_ARG" ] || die "--platforms is empty: give at least one of linux/amd64, linux/arm64, comma-separated"
  case ",$PLATFORMS_ARG," in
    *,,*) die "--platforms '$PLATFORMS_ARG' has an empty entry: give platforms separated by single commas" ;;
  esac
  IFS=, read -r -a _requested <<<"$PLATFORMS_ARG"
  for p in "${_requested[@]}"; do
    case " ${KNOWN_PLATFORMS[*]} " in
      *" $p "*) ;;
      *) die "unknown platform '$p' in --platforms: known are linux/amd64, linux/arm64" ;;
    esac
    case " ${PLATFORMS[*]-} " in
      *" $p "*) die "$p is given twice in --platforms: give each platform once" ;;
    esac
    PLATFORMS+=("$p")
  done
  [ "$BUILDER_ONLY" -eq 0 ] || die "--builder-only and --platforms exclude each other: --builder-only stops before any build"
fi
if [ "$PUSH_SET" -eq 1 ]; then
  [ "$PLATFORMS_SET" -eq 1 ] || die "--push pushes the manifest list that --platforms makes: add --platforms, e.g. --platforms linux/amd64,linux/arm64"
  case "$PUSH_REF" in
    *://*) die "--push takes a reference like registry.example/app:1.0, without a transport: not '$PUSH_REF'" ;;
  esac
  [[ "$PUSH_REF" =~ ^[A-Za-z0-9.-]+(:[0-9]+)?/[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$ ]] ||
    die "--push '$PUSH_REF' is not a registry/repository[:tag] reference (e.g. 127.0.0.1:5000/codebuild-sample-app:1.0)"
  PUSH_HOST="${PUSH_REF%%/*}"
  case "$PUSH_HOST" in
    *.*|*:*|localhost) ;;
    *) die "--push '$PUSH_REF' does not start with a registry host (e.g. 123456789012.dkr.ecr.eu-central-1.amazonaws.com/app:1.0)" ;;
  esac
fi
if [ "$TLS_VERIFY" = false ]; then
  [ "$PUSH_SET" -eq 1 ] || die "--tls-verify=false applies to --push only"
  case "${PUSH_HOST%:*}" in
    localhost|127.*) ;;
    *) die "--tls-verify=false is allowed only for a registry on this machine (127.0.0.1, localhost), not ${PUSH_HOST%:*}" ;;
  esac
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
CONTEXT="$ROOT/docker"

IMAGE="${IMAGE:-localhost/codebuild-sample-app:dev}"
# With --platforms, IMAGE names the manifest list and each platform's image is tagged IMAGE's tag +
# -linux-<arch> (localhost/codebuild-sample-app:dev-linux-arm64).
if [ "$PLATFORMS_SET" -eq 1 ]; then
  case "$IMAGE" in
    *@*) die "IMAGE ($IMAGE) has a digest: with --platforms it names the manifest list, give name[:tag]" ;;
  esac
  case "${IMAGE##*/}" in
    *:*) IMAGE_REPO="${IMAGE%:*}"; IMAGE_TAG="${IMAGE##*:}" ;;
    *) IMAGE_REPO="$IMAGE"; IMAGE_TAG=latest ;;
  esac
  case "$(uname -m)" in
    x86_64) NATIVE_PLATFORM=linux/amd64 ;;
    aarch64) NATIVE_PLATFORM=linux/arm64 ;;
    *) die "this machine is $(uname -m): --platforms needs an amd64 or arm64 machine to run the Go builder on" ;;
  esac
fi
LOCAL_BUILDER=localhost/go-builder:bookworm
BUILDER_IMAGE="${BUILDER_IMAGE:-$LOCAL_BUILDER}"
RUNTIME_IMAGE="${RUNTIME_IMAGE:-scratch}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
BUILDER_CACHE_DIR="${BUILDER_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:?set HOME, XDG_CACHE_HOME or BUILDER_CACHE_DIR}/.cache}/codebuild-docker-modules/image}"
export BUILDAH_ISOLATION=chroot
BUILDAH=(buildah --storage-driver "$STORAGE_DRIVER")

# What the builder is made of. The cache keys are hashes of these lines: change the recipe (or
# bump its number) and the next run makes a new rootfs or image instead of reusing a stale one.
SUITE=bookworm
VARIANT=minbase
PACKAGES=golang-go,ca-certificates
ROOTFS_RECIPE="rootfs 1: debootstrap --variant=$VARIANT --include=$PACKAGES $SUITE; docs, man pages, locales and apt caches removed"
IMAGE_RECIPE="image 2: $ROOTFS_RECIPE; Go env GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOCACHE=/tmp/go-build; CGO_ENABLED=0 go build -trimpath std"
cache_key() { printf '%s' "$1" | sha256sum | cut -c1-16; }
BUILDER_DIR="$BUILDER_CACHE_DIR/builder-$SUITE-$(cache_key "$ROOTFS_RECIPE")"
ROOTFS="$BUILDER_DIR/rootfs"
ROOTFS_STAMP="$ROOTFS.done"
BUILDER_KEY="$(cache_key "$IMAGE_RECIPE")"
KEY_LABEL=io.github.codebuild-docker-modules.builder-key

if [ -z "${VERSION:-}" ]; then
  VERSION="$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || true)"
  VERSION="${VERSION:-dev}"
fi
REVISION="${REVISION:-$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)}"
SOURCE="${SOURCE:-unknown}"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# Containers and files to remove however the script ends.
CLEANUP_CTRS=()
CLEANUP_FILES=()
cleanup() {
  local c
  for c in "${CLEANUP_CTRS[@]}"; do "${BUILDAH[@]}" rm "$c" >/dev/null 2>&1 || true; done
  [ "${#CLEANUP_FILES[@]}" -eq 0 ] || rm -rf --one-file-system "${CLEANUP_FILES[@]}"
}
trap cleanup EXIT

# --- tools -------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
  # apt_install CMD PACKAGE...: installs the packages if CMD is missing and we can.
  local cmd="$1"; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing $* with apt-get ($cmd is missing)"
    if [ "$APT_UPDATED" -eq 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after apt-get install $*"
  else
    die "$cmd is not installed. On Debian/Ubuntu run as root: apt-get update && apt-get install -y $*
(other distributions: install the '$1' package; see https://github.com/containers/buildah/blob/main/install.md for buildah)"
  fi
}

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and buildah's storage need it), e.g. sudo $0"
apt_install buildah buildah
apt_install unshare util-linux
apt_install flock util-linux
log "$(buildah --version)"

# --- builder rootfs and image (cached, keyed by their recipes) ----------------
# The rootfs must never be made inside the repository: a copy or a search of the checkout
# would walk into it (and, with the old in-repository rootfs, into the procfs mounted there).
cache_abs="$(realpath -m "$BUILDER_CACHE_DIR")"
case "$cache_abs/" in
  "$ROOT"/*) die "BUILDER_CACHE_DIR ($cache_abs) is inside the repository ($ROOT): choose a folder outside it (the default is ~/.cache/codebuild-docker-modules/image)" ;;
esac
if [ -d "$ROOT/.tmp/image/builder-rootfs" ]; then
  log "note: $ROOT/.tmp/image holds a builder rootfs from an older version of this script, no longer used; remove it with: rm -rf --one-file-system $ROOT/.tmp/image"
fi

builder_key_of() {
  "${BUILDAH[@]}" inspect --type image --format "{{index .OCIv1.Config.Labels \"$KEY_LABEL\"}}" "$1" 2>/dev/null || true
}

make_rootfs() {
  apt_install debootstrap debootstrap
  mkdir -p "$BUILDER_DIR"
  local partial logfile t0
  # Leftovers of an interrupted run (we hold the lock, so nobody is using them).
  find "$BUILDER_DIR" -maxdepth 1 -name 'rootfs.partial.*' -exec rm -rf --one-file-system {} +
  rm -rf --one-file-system "$ROOTFS"
  partial="$(mktemp -d "$BUILDER_DIR/rootfs.partial.XXXXXX")"
  CLEANUP_FILES+=("$partial")
  logfile="$BUILDER_DIR/debootstrap.log"
  log "debootstrap $SUITE $VARIANT + $PACKAGES into $ROOTFS, in a private mount namespace (from $DEBIAN_MIRROR)"
  t0="$(now)"
  # debootstrap mounts proc and sys inside the rootfs while it installs packages: in a mount
  # namespace of its own those mounts are seen by nobody else and go away with it.
  if ! unshare --mount --propagation private \
      debootstrap --variant="$VARIANT" --include="$PACKAGES" "$SUITE" "$partial" "$DEBIAN_MIRROR" >"$logfile" 2>&1; then
    tail -n 30 "$logfile" >&2
    die "debootstrap failed (full log: $logfile)"
  fi
  # Trim what a build never needs.
  rm -rf "$partial"/var/cache/apt/archives/*.deb "$partial"/var/lib/apt/lists/* \
         "$partial"/usr/share/doc/* "$partial"/usr/share/man/* "$partial"/usr/share/locale/*
  mv "$partial" "$ROOTFS"
  touch "$ROOTFS_STAMP"
  log "debootstrap took $(elapsed "$t0"), rootfs $(du -sh "$ROOTFS" | cut -f1)"
}

# buildah has no 'import': copy the rootfs into an empty container, then warm its Go build cache.
import_rootfs() {
  local ctr mnt t0
  log "importing $ROOTFS as $BUILDER_IMAGE (builder key $BUILDER_KEY)"
  t0="$(now)"
  "${BUILDAH[@]}" rmi "$BUILDER_IMAGE" >/dev/null 2>&1 || true
  ctr="$("${BUILDAH[@]}" from scratch)"
  CLEANUP_CTRS+=("$ctr")
  mnt="$("${BUILDAH[@]}" mount "$ctr")"
  tar -C "$ROOTFS" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' \
      --exclude='./sys/*' --exclude='./run/*' -cf - . |
    tar -C "$mnt" --numeric-owner -xpf -
  "${BUILDAH[@]}" umount "$ctr" >/dev/null
  "${BUILDAH[@]}" config \
      --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --env GOPROXY=off --env GOTOOLCHAIN=local --env GOFLAGS=-mod=readonly \
      --env GOCACHE=/tmp/go-build \
      --workingdir / --cmd /bin/bash \
      --label org.opencontainers.image.title=go-builder \
      --label org.opencontainers.image.description="Debian $SUITE $VARIANT + golang-go (debootstrap), Go build cache of the standard library" \
      --label "$KEY_LABEL=$BUILDER_KEY" \
      "$ctr"
  # The Dockerfile builds with CGO_ENABLED=0 -trimpath and GOCACHE=/tmp/go-build: with the
  # standard library already compiled the same way, a build compiles only the app's packages
  # (measured: about 90 s of compiling down to a few seconds per build).
  log "compiling the Go standard library into the builder's build cache"
  "${BUILDAH[@]}" run --isolation chroot "$ctr" -- sh -c 'cd / && CGO_ENABLED=0 go build -trimpath std'
  "${BUILDAH[@]}" commit --quiet --rm "$ctr" "$BUILDER_IMAGE" >/dev/null
  CLEANUP_CTRS=()
  log "import took $(elapsed "$t0")"
}

if [ "$BUILDER_IMAGE" != "$LOCAL_BUILDER" ]; then
  log "using builder image $BUILDER_IMAGE as given (no debootstrap)"
else
  mkdir -p "$BUILDER_CACHE_DIR"
  # One run at a time makes the builder; the others wait and then reuse it.
  lock="$BUILDER_CACHE_DIR/builder.lock"
  exec 9>"$lock"
  if ! flock -n 9; then
    log "waiting for another run to finish making the builder (lock $lock)"
    flock 9
  fi
  if [ "$REFRESH" -eq 1 ]; then
    log "refreshing builder: removing $BUILDER_DIR and $BUILDER_IMAGE"
    rm -rf --one-file-system "$BUILDER_DIR"
    "${BUILDAH[@]}" rmi "$BUILDER_IMAGE" >/dev/null 2>&1 || true
  fi
  if [ "$(builder_key_of "$BUILDER_IMAGE")" = "$BUILDER_KEY" ]; then
    log "using builder image $BUILDER_IMAGE (builder key $BUILDER_KEY)"
  else
    if [ -f "$ROOTFS_STAMP" ]; then
      log "using cached builder rootfs $ROOTFS"
    else
      make_rootfs
    fi
    import_rootfs
  fi
  exec 9>&-
fi
if [ "$BUILDER_ONLY" -eq 1 ]; then
  echo "builder: $BUILDER_IMAGE"
  exit 0
fi

# The build and report steps of each image.
# shellcheck disable=SC1091 # image-steps.sh is checked on its own
source "$ROOT/scripts/image/image-steps.sh"

if [ "$PLATFORMS_SET" -eq 0 ]; then
  log "building $IMAGE (version $VERSION) from $CONTEXT"
  t0="$(now)"
  build_image "$IMAGE"
  log "build took $(elapsed "$t0")"
  report_image "$IMAGE" "$SMOKE"
  exit 0
fi

# --- multi-arch: one image per platform, the manifest list over them, the push ---
n="${#PLATFORMS[@]}"
log "multi-arch build of $IMAGE (version $VERSION) for ${PLATFORMS[*]}: the builder runs as $NATIVE_PLATFORM and Go cross-compiles (no emulation)"
# The list of an earlier run goes first, before its images are rebuilt and dropped under it
# (buildah 1.28 then fails to list any image of the storage).
if "${BUILDAH[@]}" manifest exists "$IMAGE" 2>/dev/null; then
  "${BUILDAH[@]}" manifest rm "$IMAGE" >/dev/null
elif "${BUILDAH[@]}" inspect --type image "$IMAGE" >/dev/null 2>&1; then
  # A single-platform image of the same name (an earlier npm run image): the name goes to the list.
  "${BUILDAH[@]}" rmi "$IMAGE" >/dev/null 2>&1 ||
    die "$IMAGE is a single-platform image still used by a container: remove the container (buildah rm) or set IMAGE to another name"
fi
i=0
for p in "${PLATFORMS[@]}"; do
  i=$((i + 1))
  ref="$IMAGE_REPO:$IMAGE_TAG-${p//\//-}"
  log "[$i/$n] $p: building $ref"
  t0="$(now)"
  build_image "$ref" "$p"
  log "[$i/$n] $p: build took $(elapsed "$t0")"
  smoke_this=0
  if [ "$p" = "$NATIVE_PLATFORM" ]; then smoke_this="$SMOKE"; fi
  report_image "$ref" "$smoke_this" "$p"
  log "[$i/$n] $p: done, /app is a $p binary"
done
if [ "$SMOKE" -eq 1 ] && [[ " ${PLATFORMS[*]} " != *" $NATIVE_PLATFORM "* ]]; then
  log "smoke test skipped: no $NATIVE_PLATFORM image in --platforms (only this machine's platform runs here, without emulation)"
fi

log "manifest list $IMAGE: ${PLATFORMS[*]}"
"${BUILDAH[@]}" manifest create "$IMAGE" >/dev/null
for p in "${PLATFORMS[@]}"; do
  "${BUILDAH[@]}" manifest add "$IMAGE" "containers-storage:$IMAGE_REPO:$IMAGE_TAG-${p//\//-}" >/dev/null
done
list_json="$("${BUILDAH[@]}" manifest inspect "$IMAGE")"
[ "$(grep -c '"architecture"' <<<"$list_json")" -eq "$n" ] || die "manifest list $IMAGE does not have exactly $n entries"
for p in "${PLATFORMS[@]}"; do
  [ "$(grep -c "\"architecture\": \"${p#linux/}\"" <<<"$list_json")" -eq 1 ] || die "manifest list $IMAGE has no single $p entry"
done
echo "list:    $IMAGE (${PLATFORMS[*]})"

if [ "$PUSH_SET" -eq 1 ]; then
  log "pushing $IMAGE and its $n image(s) to docker://$PUSH_REF"
  t0="$(now)"
  digest_file="$(mktemp)"
  CLEANUP_FILES+=("$digest_file")
  "${BUILDAH[@]}" manifest push --all --tls-verify="$TLS_VERIFY" --digestfile "$digest_file" \
    "$IMAGE" "docker://$PUSH_REF" >&2
  log "push took $(elapsed "$t0")"
  echo "pushed:  $PUSH_REF@$(cat "$digest_file")"
  tls_flag=
  [ "$TLS_VERIFY" = true ] || tls_flag=" --tls-verify=false"
  echo "inspect: skopeo inspect --raw$tls_flag docker://$PUSH_REF"
fi
