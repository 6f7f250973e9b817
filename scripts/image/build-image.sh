#!/usr/bin/env bash
# Builds docker/Dockerfile without a Docker daemon (buildah, vfs storage, chroot
# isolation) and without pulling any base image:
#   * the builder stage runs on a Debian bookworm minbase rootfs with Debian's
#     golang-go (Go 1.19), made once with debootstrap and cached under
#     .tmp/image/builder-rootfs, imported as localhost/go-builder:bookworm;
#   * the runtime stage is "scratch" (the Dockerfile brings CA certificates and
#     the passwd entry of the non-root user over from the builder).
# Only Debian packages are fetched (debootstrap talks to the Debian mirror).
#
# Usage: scripts/image/build-image.sh [--no-smoke] [--refresh-builder]
#   --no-smoke          skip running the built image once (GET /healthz, SIGTERM)
#   --refresh-builder   re-create the cached builder rootfs and image
# Environment (all optional):
#   VERSION        version baked into the binary (default: git describe, else dev)
#   REVISION       org.opencontainers.image.revision (default: git HEAD)
#   SOURCE         org.opencontainers.image.source (default: unknown)
#   IMAGE          image reference to tag (default: localhost/codebuild-sample-app:dev)
#   BUILDER_IMAGE  builder image (default: localhost/go-builder:bookworm, made here
#                  with debootstrap; any other value is used as it is, e.g. a mirror
#                  of golang:1.23-bookworm, and is pulled only if not stored yet)
#   RUNTIME_IMAGE  runtime base (default: scratch)
#   DEBIAN_MIRROR  mirror for debootstrap (default: http://deb.debian.org/debian)
#   STORAGE_DRIVER buildah storage driver (default: vfs)
# Needs root (debootstrap, buildah storage) and, if the tools are missing, apt.
set -euo pipefail

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

SMOKE=1
REFRESH=0
for arg in "$@"; do
  case "$arg" in
    --no-smoke) SMOKE=0 ;;
    --refresh-builder) REFRESH=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONTEXT="$ROOT/docker"
CACHE="$ROOT/.tmp/image"
ROOTFS="$CACHE/builder-rootfs"
ROOTFS_STAMP="$ROOTFS.done"

IMAGE="${IMAGE:-localhost/codebuild-sample-app:dev}"
LOCAL_BUILDER=localhost/go-builder:bookworm
BUILDER_IMAGE="${BUILDER_IMAGE:-$LOCAL_BUILDER}"
RUNTIME_IMAGE="${RUNTIME_IMAGE:-scratch}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
export BUILDAH_ISOLATION=chroot
BUILDAH=(buildah --storage-driver "$STORAGE_DRIVER")

if [ -z "${VERSION:-}" ]; then
  VERSION="$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || true)"
  VERSION="${VERSION:-dev}"
fi
REVISION="${REVISION:-$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)}"
SOURCE="${SOURCE:-unknown}"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

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

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and buildah's vfs storage need it), e.g. sudo $0"
apt_install buildah buildah
log "$(buildah --version)"

# Unmounts everything mounted below $1 (a failed debootstrap can leave proc/sys mounted).
umount_under() {
  local dir mnts
  dir="$(realpath -m "$1")"
  mnts="$(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)"
  [ -z "$mnts" ] || printf '%s\n' "$mnts" | xargs -r -n1 umount -l
}

# --- builder rootfs (cached) -------------------------------------------------
if [ "$BUILDER_IMAGE" != "$LOCAL_BUILDER" ]; then
  log "using builder image $BUILDER_IMAGE as given (no debootstrap)"
else
  if [ "$REFRESH" -eq 1 ]; then
    log "refreshing builder: removing $ROOTFS and $BUILDER_IMAGE"
    umount_under "$ROOTFS"
    rm -rf "$ROOTFS" "$ROOTFS_STAMP"
    "${BUILDAH[@]}" rmi "$BUILDER_IMAGE" >/dev/null 2>&1 || true
  fi

  if [ ! -f "$ROOTFS_STAMP" ]; then
    apt_install debootstrap debootstrap
    mkdir -p "$CACHE"
    partial="$ROOTFS.partial"
    umount_under "$partial"
    rm -rf "$partial" "$ROOTFS"
    log "debootstrap bookworm minbase + golang-go into $ROOTFS (from $DEBIAN_MIRROR)"
    t0="$(now)"
    if ! debootstrap --variant=minbase --include=golang-go,ca-certificates \
        bookworm "$partial" "$DEBIAN_MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
      tail -n 30 "$CACHE/debootstrap.log" >&2
      umount_under "$partial"
      die "debootstrap failed (full log: $CACHE/debootstrap.log)"
    fi
    umount_under "$partial"
    # Trim what a build never needs.
    rm -rf "$partial"/var/cache/apt/archives/*.deb "$partial"/var/lib/apt/lists/* \
           "$partial"/usr/share/doc/* "$partial"/usr/share/man/* "$partial"/usr/share/locale/*
    mv "$partial" "$ROOTFS"
    touch "$ROOTFS_STAMP"
    log "debootstrap took $(elapsed "$t0"), rootfs $(du -sh "$ROOTFS" | cut -f1)"
    "${BUILDAH[@]}" rmi "$BUILDER_IMAGE" >/dev/null 2>&1 || true   # stale import
  else
    log "using cached builder rootfs $ROOTFS"
  fi

  # --- import rootfs as a local image (buildah has no 'import') -----------------
  if ! "${BUILDAH[@]}" inspect --type image "$BUILDER_IMAGE" >/dev/null 2>&1; then
    log "importing $ROOTFS as $BUILDER_IMAGE"
    t0="$(now)"
    ctr="$("${BUILDAH[@]}" from scratch)"
    trap '"${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
    mnt="$("${BUILDAH[@]}" mount "$ctr")"
    tar -C "$ROOTFS" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' \
        --exclude='./sys/*' --exclude='./run/*' -cf - . |
      tar -C "$mnt" --numeric-owner -xpf -
    "${BUILDAH[@]}" umount "$ctr" >/dev/null
    "${BUILDAH[@]}" config \
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env GOPROXY=off --env GOTOOLCHAIN=local --env GOFLAGS=-mod=readonly \
        --workingdir / --cmd /bin/bash \
        --label org.opencontainers.image.title=go-builder \
        --label org.opencontainers.image.description="Debian bookworm minbase + golang-go (debootstrap)" \
        "$ctr"
    "${BUILDAH[@]}" commit --quiet --rm "$ctr" "$BUILDER_IMAGE" >/dev/null
    trap - EXIT
    log "import took $(elapsed "$t0")"
  fi
fi

# --- build ---------------------------------------------------------------------
log "building $IMAGE (version $VERSION) from $CONTEXT"
old_id="$("${BUILDAH[@]}" images --noheading --no-trunc --format '{{.ID}}' "$IMAGE" 2>/dev/null | head -n1 || true)"
t0="$(now)"
"${BUILDAH[@]}" bud \
  --isolation chroot \
  --pull=false \
  --file "$CONTEXT/Dockerfile" \
  --build-arg BUILDER_IMAGE="$BUILDER_IMAGE" \
  --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
  --build-arg VERSION="$VERSION" \
  --build-arg REVISION="$REVISION" \
  --build-arg SOURCE="$SOURCE" \
  --tag "$IMAGE" \
  "$CONTEXT"
log "build took $(elapsed "$t0")"
new_id="$("${BUILDAH[@]}" images --noheading --no-trunc --format '{{.ID}}' "$IMAGE" | head -n1)"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  # The previous build of this tag is now untagged; drop it (fails harmlessly if still in use).
  "${BUILDAH[@]}" rmi "$old_id" >/dev/null 2>&1 || true
fi

# --- report --------------------------------------------------------------------
user="$("${BUILDAH[@]}" inspect --type image --format '{{.OCIv1.Config.User}}' "$IMAGE")"
size="$("${BUILDAH[@]}" images --format '{{.Size}}' "$IMAGE" | head -n1)"
ctr="$("${BUILDAH[@]}" from --pull=false "$IMAGE")"
trap '"${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
mnt="$("${BUILDAH[@]}" mount "$ctr")"
bin_bytes="$(stat -c %s "$mnt/app")"
bin_info="$(file -b "$mnt/app" 2>/dev/null || echo 'file(1) not installed')"

if [ "$SMOKE" -eq 1 ]; then
  apt_install curl curl
  # Run the image's entrypoint once (chroot isolation, host network, image's USER),
  # check /healthz and /version, then SIGTERM it and expect a clean exit.
  port="$(awk 'BEGIN { srand(); print 20000 + int(rand() * 20000) }')"
  log "smoke test: running $IMAGE on 127.0.0.1:$port"
  "${BUILDAH[@]}" run --isolation chroot --env ADDR="127.0.0.1:$port" "$ctr" -- /app \
    >"$CACHE/smoke.log" 2>&1 &
  run_pid=$!
  ok=0
  for _ in $(seq 1 50); do
    if health="$(curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" 2>/dev/null)"; then ok=1; break; fi
    sleep 0.2
  done
  if [ "$ok" -eq 1 ]; then
    ver="$(curl -fsS --max-time 2 "http://127.0.0.1:$port/version")"
    app_pid="$(pgrep -f -n -x '/app' || true)"
    app_uid="$( [ -n "$app_pid" ] && awk '/^Uid:/ { print $2 }' "/proc/$app_pid/status" || echo '?')"
    log "smoke: /healthz -> $health  /version -> $ver  process uid: $app_uid"
    [ -n "$app_pid" ] && kill -TERM "$app_pid"
  fi
  rc=0
  if ! timeout 15 tail --pid="$run_pid" -f /dev/null; then
    [ -z "${app_pid:-}" ] || kill -KILL "$app_pid" 2>/dev/null || true
    kill -KILL "$run_pid" 2>/dev/null || true
    rc=1
  fi
  wait "$run_pid" || rc=$?
  cat "$CACHE/smoke.log" >&2
  [ "$ok" -eq 1 ] || die "smoke test: /healthz did not answer (log above)"
  [ "$rc" -eq 0 ] || die "smoke test: the app did not exit cleanly after SIGTERM (exit $rc)"
  [ "$app_uid" = 65532 ] || die "smoke test: the app ran as uid $app_uid, want 65532"
fi

"${BUILDAH[@]}" umount "$ctr" >/dev/null
"${BUILDAH[@]}" rm "$ctr" >/dev/null
trap - EXIT

echo "image:   $IMAGE"
echo "size:    $size"
echo "user:    ${user:-<root!>}"
echo "binary:  /app $bin_bytes bytes ($(awk -v b="$bin_bytes" 'BEGIN { printf "%.2f MiB", b / 1048576 }')); $bin_info"
