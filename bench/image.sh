#!/usr/bin/env bash
# Image benchmark: size of the multi-stage image vs a single-stage build of the same app, and
# build time cold (no layer cache) vs warm (layer cache, unchanged and changed source).
# Needs what `npm run image` needs, plus hyperfine (apt-get install -y hyperfine).
# Writes bench/results/image.md (quoted in BENCHMARKS.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v hyperfine >/dev/null || { echo "hyperfine is not installed: apt-get install -y hyperfine" >&2; exit 1; }
RUNS="${RUNS:-3}"
export BUILDAH_ISOLATION=chroot
B=(buildah --storage-driver vfs)
BUILDER=localhost/go-builder:bookworm
# Makes the builder base once (debootstrap, kept in the per-user cache), reuses it afterwards.
bash scripts/image/build-image.sh --builder-only >/dev/null

out="bench/results"; mkdir -p "$out"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cp -r docker "$work/ctx"
bud() { "${B[@]}" bud --isolation chroot --pull=false --quiet --build-arg BUILDER_IMAGE="$BUILDER" --build-arg RUNTIME_IMAGE=scratch "$@" >/dev/null; }
size() { podman --storage-driver vfs image inspect "$1" --format '{{.Size}}'; }

# Sizes.
bud --layers=false -t localhost/bench-multi:1 -f "$work/ctx/Dockerfile" "$work/ctx"
cp bench/Dockerfile.single-stage "$work/ctx/Dockerfile.single"
bud --layers=false -t localhost/bench-single:1 -f "$work/ctx/Dockerfile.single" "$work/ctx"
multi=$(size localhost/bench-multi:1); single=$(size localhost/bench-single:1)

# Build times.
hyperfine --runs "$RUNS" --export-json "$work/cold.json" \
  -n "cold (no layer cache)" "${B[*]} bud --isolation chroot --pull=false --quiet --layers=false --build-arg BUILDER_IMAGE=$BUILDER --build-arg RUNTIME_IMAGE=scratch -t localhost/bench-multi:cold $work/ctx >/dev/null"
bud --layers -t localhost/bench-multi:warm "$work/ctx"
hyperfine --runs "$RUNS" --export-json "$work/warm.json" \
  -n "warm, unchanged source" "${B[*]} bud --isolation chroot --pull=false --quiet --layers --build-arg BUILDER_IMAGE=$BUILDER --build-arg RUNTIME_IMAGE=scratch -t localhost/bench-multi:warm $work/ctx >/dev/null" \
  -n "warm, changed source" --prepare "echo '// $(date +%s%N)' >> $work/ctx/main.go" "${B[*]} bud --isolation chroot --pull=false --quiet --layers --build-arg BUILDER_IMAGE=$BUILDER --build-arg RUNTIME_IMAGE=scratch -t localhost/bench-multi:warm $work/ctx >/dev/null"

mean() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]; print(f\"{r['mean']:.1f} ± {r['stddev'] or 0:.1f} s\")" "$@"; }
{
  echo "| image | size (bytes) | ratio |"
  echo "|---|---:|---:|"
  echo "| multi-stage (scratch runtime) | $multi | 1.0× |"
  echo "| single-stage (builder image) | $single | $(python3 -c "print(f'{$single/$multi:.0f}')")× |"
  echo
  echo "| build of docker/ (buildah, vfs, $RUNS runs) | mean |"
  echo "|---|---:|"
  echo "| cold (no layer cache) | $(mean "$work/cold.json" 0) |"
  echo "| warm, unchanged source | $(mean "$work/warm.json" 0) |"
  echo "| warm, changed source | $(mean "$work/warm.json" 1) |"
} > "$out/image.md"
"${B[@]}" rmi localhost/bench-multi:1 localhost/bench-single:1 localhost/bench-multi:cold localhost/bench-multi:warm >/dev/null 2>&1 || true
cat "$out/image.md"
