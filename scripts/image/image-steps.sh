#!/usr/bin/env bash
# The steps build-image.sh runs on each image: build it (build_image) and report it (report_image).
# Sourced by build-image.sh, whose settings (BUILDAH, ROOT, the builder image, log and die) they use.
# shellcheck shell=bash disable=SC2154

# --- build ---------------------------------------------------------------------
# build_image REF [PLATFORM]: docker/ built and tagged REF, for PLATFORM (default: this machine's).
build_image() {
  local ref="$1" platform="${2-}" old_id new_id
  local platform_args=()
  if [ -n "$platform" ]; then
    # The build stage is FROM --platform=$BUILDPLATFORM: buildah 1.28 (Debian 12) leaves its own
    # BUILDPLATFORM unexpanded there and would look for an arm64 builder, so it is passed as well.
    platform_args=(--platform "$platform" --build-arg BUILDPLATFORM="$NATIVE_PLATFORM")
  fi
  old_id="$("${BUILDAH[@]}" images --noheading --no-trunc --format '{{.ID}}' "$ref" 2>/dev/null | sed -n 1p || true)"
  # --layers: an unchanged step (the builder, go.mod, the sources) is reused from an earlier build.
  "${BUILDAH[@]}" bud \
    --isolation chroot \
    --pull=false \
    --layers \
    "${platform_args[@]}" \
    --file "$CONTEXT/Dockerfile" \
    --build-arg BUILDER_IMAGE="$BUILDER_IMAGE" \
    --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
    --build-arg VERSION="$VERSION" \
    --build-arg REVISION="$REVISION" \
    --build-arg SOURCE="$SOURCE" \
    --tag "$ref" \
    "$CONTEXT"
  new_id="$("${BUILDAH[@]}" images --noheading --no-trunc --format '{{.ID}}' "$ref" | sed -n 1p)"
  if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    # The previous build of this tag is now untagged; drop it (fails harmlessly if still in use).
    "${BUILDAH[@]}" rmi "$old_id" >/dev/null 2>&1 || true
  fi
}

# --- report --------------------------------------------------------------------
# report_image REF SMOKE [PLATFORM]: prints REF's report (and runs it once when SMOKE is 1); with
# PLATFORM, first checks that the image and its /app are of PLATFORM's architecture.
report_image() {
  local ref="$1" smoke="$2" platform="${3-}" user size ctr mnt bin_bytes bin_info os_arch elf want
  local from_args=(--pull=false)
  if [ -n "$platform" ]; then
    from_args+=(--platform "$platform")
    os_arch="$("${BUILDAH[@]}" inspect --type image --format '{{.OCIv1.OS}}/{{.OCIv1.Architecture}}' "$ref")"
    [ "$os_arch" = "$platform" ] || die "$ref was built as $os_arch, not $platform"
  fi
  user="$("${BUILDAH[@]}" inspect --type image --format '{{.OCIv1.Config.User}}' "$ref")"
  size="$("${BUILDAH[@]}" images --format '{{.Size}}' "$ref" | sed -n 1p)"
  ctr="$("${BUILDAH[@]}" from "${from_args[@]}" "$ref")"
  CLEANUP_CTRS+=("$ctr")
  mnt="$("${BUILDAH[@]}" mount "$ctr")"
  bin_bytes="$(stat -c %s "$mnt/app")"
  bin_info="$(file -b "$mnt/app" 2>/dev/null || echo 'file(1) not installed')"
  if [ -n "$platform" ]; then
    # ELF magic (bytes 0-3) and e_machine (bytes 18-19, little-endian): 0x3E x86-64, 0xB7 AArch64.
    elf="$(od -An -tx1 -N20 "$mnt/app" | tr -d ' \n')"
    case "$platform" in
      linux/amd64) want=3e00 ;;
      linux/arm64) want=b700 ;;
    esac
    [ "${elf:0:8}" = 7f454c46 ] || die "$ref: /app is not an ELF binary"
    [ "${elf:36:4}" = "$want" ] || die "$ref: /app is not a $platform binary (ELF e_machine bytes ${elf:36:4}, want $want)"
  fi

  if [ "$smoke" -eq 1 ]; then
    apt_install curl curl
    smoke_log="$(mktemp)"
    CLEANUP_FILES+=("$smoke_log")
    # Run the image's entrypoint once (chroot isolation, host network, image's USER),
    # check /healthz and /version, then SIGTERM it and expect a clean exit.
    # A port the kernel says is free (a time-seeded random one collided when two builds smoke-tested
    # in the same second); $RANDOM only where python3 is missing.
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
      echo $((20000 + (RANDOM * 32768 + RANDOM) % 20000)))"
    log "smoke test: running $ref on 127.0.0.1:$port"
    "${BUILDAH[@]}" run --isolation chroot --env ADDR="127.0.0.1:$port" "$ctr" -- /app \
      >"$smoke_log" 2>&1 &
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
    cat "$smoke_log" >&2
    [ "$ok" -eq 1 ] || die "smoke test: /healthz did not answer (log above)"
    [ "$rc" -eq 0 ] || die "smoke test: the app did not exit cleanly after SIGTERM (exit $rc)"
    [ "$app_uid" = 65532 ] || die "smoke test: the app ran as uid $app_uid, want 65532"
  fi

  "${BUILDAH[@]}" umount "$ctr" >/dev/null
  "${BUILDAH[@]}" rm "$ctr" >/dev/null
  CLEANUP_CTRS=()

  echo "image:   $ref${platform:+ ($platform)}"
  echo "size:    $size"
  echo "user:    ${user:-<root!>}"
  echo "binary:  /app $bin_bytes bytes ($(awk -v b="$bin_bytes" 'BEGIN { printf "%.2f MiB", b / 1048576 }')); $bin_info"
}
