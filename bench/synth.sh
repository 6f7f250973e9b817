#!/usr/bin/env bash
# Synth benchmark (`npm run bench`): how fast and how lean `cdktf synth` of this app is.
#   1. default synth, ours (`node scripts/app/synth.js`, the cdktf.json app: one esbuild bundle, deep provider imports) against the
#      conventional setup (`npx ts-node main.ts`, type-checking, provider imported from the
#      package root), wall time (hyperfine) and peak RSS (/usr/bin/time -v, median of 3),
#      plus a breakdown of where the time goes (module load times);
#   2. marginal cost per stack: 1, 4, 16, 64 stacks, least-squares slope;
#   3. `npx cdktf synth` (the CLI) against the CLI's own start and the app run directly;
#   4. unit test suite (the module files, __tests__/unit/*.test.ts) and `tsc -p .`.
# Needs hyperfine (apt-get install -y hyperfine) and GNU time (/usr/bin/time). Writes
# bench/results/synth.md and the raw hyperfine/RSS JSON under bench/results/synth/.
# Never touches cdktf.out/ (every synth writes to a temporary folder); rebuilds dist/ (the CLI
# runs cdktf.json's app, which starts with scripts/app/build.mjs). Takes about 5 minutes.
# Knobs: RUNS (hyperfine runs of the synth commands, default 5, at least 5),
#        TEST_RUNS (runs of the test suite and tsc, default 3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v hyperfine >/dev/null || { echo "hyperfine is not installed: apt-get install -y hyperfine" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "GNU time is not installed: apt-get install -y time" >&2; exit 1; }
export CHECKPOINT_DISABLE=1
RUNS="${RUNS:-5}"
(( RUNS >= 5 )) || { echo "RUNS must be at least 5" >&2; exit 1; }
TEST_RUNS="${TEST_RUNS:-3}"
SIZES=(1 4 16 64)

out="bench/results"
raw="$out/synth"
mkdir -p "$raw"
rm -f "$raw"/*.json "$raw"/*.tsv
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log() { printf '\n== %s\n' "$*" >&2; }
hf() { hyperfine --style basic --warmup 1 --runs "$RUNS" "$@"; }
meta() { printf '%s\t%s\n' "$1" "$2" >>"$raw/meta.tsv"; }

# rss NAME CMD...: peak RSS (kB) of 3 runs of CMD, appended to rss.tsv as "NAME<TAB>kB kB kB".
rss() {
  local name="$1" samples=() i kb
  shift
  for i in 1 2 3; do
    if ! /usr/bin/time -v -o "$work/time.txt" "$@" >"$work/rss.log" 2>&1; then
      echo "peak RSS run $i of '$name' failed:" >&2
      cat "$work/rss.log" "$work/time.txt" >&2
      exit 1
    fi
    kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")"
    samples+=("$kb")
  done
  printf '%s\t%s\n' "$name" "${samples[*]}" >>"$raw/rss.tsv"
}

# stacks DIR: number of stacks synthesized into DIR.
stacks() { find "$1/stacks" -mindepth 1 -maxdepth 1 -type d | wc -l; }

meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"

log "build (node scripts/app/build.mjs)"
node scripts/app/build.mjs

# ---------------------------------------------------------------------------------------------
log "1. default synth: ours vs the conventional setup"
conv="$work/conventional"
node bench/conventional-copy.mjs "$ROOT" "$conv" >&2
# The copy's config/environments.json sits next to config/environments.ts; Node's resolver
# prefers .json over a registered .ts, so ts-node must be told to prefer .ts (else
# `./config/environments` loads the JSON file). This keeps full type checking.
export TS_NODE_PREFER_TS_EXTS=true
CDKTF_OUTDIR="$work/eq-ours" node scripts/app/synth.js 2>/dev/null
(cd "$conv" && CDKTF_OUTDIR="$work/eq-conventional" npx ts-node main.ts 2>/dev/null)
if ! diff -r "$work/eq-ours" "$work/eq-conventional" >"$work/eq.diff"; then
  echo "the conventional copy synthesizes different output than ours:" >&2
  head -50 "$work/eq.diff" >&2
  exit 1
fi
default_stacks="$(stacks "$work/eq-ours")"
meta default_stacks "$default_stacks"
meta equivalence "identical ($default_stacks stacks, manifest.json and every cdk.tf.json, diff -r)"
meta rewritten_imports "$(grep -rho '@cdktf/provider-aws/lib/[a-z0-9-]*' main.ts modules stacks config | wc -l)"

hf --export-json "$raw/default.json" \
  -n "ours: node scripts/app/synth.js" "CDKTF_OUTDIR=$work/out-ours node scripts/app/synth.js" \
  -n "conventional: npx ts-node main.ts" "cd $conv && CDKTF_OUTDIR=$work/out-conventional npx ts-node main.ts"
rss "ours" env CDKTF_OUTDIR="$work/out-ours" node scripts/app/synth.js
rss "conventional" bash -c "cd $conv && CDKTF_OUTDIR=$work/out-conventional npx ts-node main.ts"

log "1b. breakdown: module load times"
deep_modules="$(grep -rho '@cdktf/provider-aws/lib/[a-z0-9-]*' main.ts modules stacks config | sort -u)"
meta deep_modules "$(wc -l <<<"$deep_modules")"
require_deep=""
while read -r m; do require_deep+="require(\"$m\");"; done <<<"$deep_modules"
hf --export-json "$raw/breakdown.json" \
  -n "node -e 0 (Node start)" "node -e 0" \
  -n "require(\"cdktf\") (with constructs)" "node -e 'require(\"cdktf\")'" \
  -n "require(\"@cdktf/provider-aws/lib/codebuild-project\")" "node -e 'require(\"@cdktf/provider-aws/lib/codebuild-project\")'" \
  -n "require cdktf + the app's deep provider modules" "node -e 'require(\"cdktf\");$require_deep'" \
  -n "require(\"@cdktf/provider-aws\") (package root)" "node -e 'require(\"@cdktf/provider-aws\")'" \
  -n "conventional copy, ts-node --transpile-only" "cd $conv && CDKTF_OUTDIR=$work/out-conventional npx ts-node --transpile-only main.ts" \
  -n "this repo's main.ts (deep imports) via npx ts-node (type-check)" "CDKTF_OUTDIR=$work/out-ours-tsnode npx ts-node main.ts"
rss "require(\"cdktf\") + the app's deep provider modules" node -e "require(\"cdktf\");$require_deep"
rss "require(\"@cdktf/provider-aws\") (package root)" node -e 'require("@cdktf/provider-aws")'
unset TS_NODE_PREFER_TS_EXTS

# ---------------------------------------------------------------------------------------------
log "2. marginal cost per stack: ${SIZES[*]} stacks"
for n in "${SIZES[@]}"; do
  node bench/make-config.mjs "$n" "$work/config-$n.json"
  CONFIG_FILE="$work/config-$n.json" ENVIRONMENTS=all CDKTF_OUTDIR="$work/scale-$n" node scripts/app/synth.js 2>/dev/null
  got="$(stacks "$work/scale-$n")"
  [[ "$got" == "$n" ]] || { echo "config with $n stacks synthesized $got stacks" >&2; exit 1; }
done
sizes_csv="$(IFS=,; echo "${SIZES[*]}")"
hf --export-json "$raw/scale.json" -L n "$sizes_csv" -n "{n} stacks" \
  "CONFIG_FILE=$work/config-{n}.json ENVIRONMENTS=all CDKTF_OUTDIR=$work/scale-{n} node scripts/app/synth.js"
for n in "${SIZES[@]}"; do
  rss "$n stacks" env CONFIG_FILE="$work/config-$n.json" ENVIRONMENTS=all CDKTF_OUTDIR="$work/scale-$n" node scripts/app/synth.js
done

# ---------------------------------------------------------------------------------------------
log "3. the cdktf CLI"
# A do-nothing app (no stacks): what the synth command costs around an app that does nothing.
printf 'new (require("%s/node_modules/cdktf").App)().synth();\n' "$ROOT" >"$work/empty-app.js"
# Where `npx cdktf synth` spends its time: 3 instrumented runs of the real synth, with
# cdktf.json's app wrapped to record when it starts and ends (epoch ms), and a terraform wrapper
# first on PATH that logs the CLI's terraform calls.
app_cmd="$(node -p 'require("./cdktf.json").app')"
# shellcheck disable=SC2016 # $? and $rc belong to the generated sh script
printf '#!/bin/sh\ndate +%%s%%3N >%s\n%s\nrc=$?\ndate +%%s%%3N >%s\nexit $rc\n' \
  "$work/app-start" "$app_cmd" "$work/app-end" >"$work/timed-app.sh"
real_terraform="$(command -v terraform || true)"
mkdir -p "$work/bin"
if [[ -n "$real_terraform" ]]; then
  printf '#!/bin/sh\necho "terraform $*" >>%s\nexec %s "$@"\n' "$work/terraform-calls.log" "$real_terraform" >"$work/bin/terraform"
  chmod +x "$work/bin/terraform"
fi
for i in 1 2 3; do
  rm -f "$work/terraform-calls.log" "$work/app-start" "$work/app-end"
  t0="$(date +%s%3N)"
  PATH="$work/bin:$PATH" npx cdktf synth --output "$work/cli-timed" --app "sh $work/timed-app.sh" >"$work/cli.log" 2>&1 \
    || { cat "$work/cli.log" >&2; exit 1; }
  t1="$(date +%s%3N)"
  a0="$(cat "$work/app-start")"; a1="$(cat "$work/app-end")"
  meta "cli_phases_ms_$i" "$((a0 - t0)) $((a1 - a0)) $((t1 - a1))"
done
[[ "$(stacks "$work/cli-timed")" == "$default_stacks" ]] || { echo "cdktf synth wrote $(stacks "$work/cli-timed") stacks, expected $default_stacks" >&2; exit 1; }
if [[ -f "$work/terraform-calls.log" ]]; then
  meta cli_terraform_calls "$(sort "$work/terraform-calls.log" | uniq -c | awk '{n=$1; $1=""; printf "%s%s× `%s`", (NR>1 ? ", " : ""), n, substr($0, 2)}')"
fi
# One CPU profile of the CLI process during `cdktf synth` (the app is a child, not profiled).
PATH="$work/bin:$PATH" node --cpu-prof --cpu-prof-dir="$work/cli-profile" node_modules/cdktf-cli/bundle/bin/cdktf.js \
  synth --output "$work/cli-prof-out" >"$work/cli.log" 2>&1 || { cat "$work/cli.log" >&2; exit 1; }
# What the CLI process loads for `--version` and for `synth` (module files and their sizes).
BENCH_MODULES_FILE="$raw/cli-modules-version.tsv" node -r ./bench/record-modules.cjs node_modules/cdktf-cli/bundle/bin/cdktf.js \
  --version >/dev/null 2>&1
BENCH_MODULES_FILE="$raw/cli-modules-synth.tsv" node -r ./bench/record-modules.cjs node_modules/cdktf-cli/bundle/bin/cdktf.js \
  synth --output "$work/cli-modules-out" >"$work/cli.log" 2>&1 || { cat "$work/cli.log" >&2; exit 1; }
hf --export-json "$raw/cli.json" \
  -n "npx cdktf --version (CLI start)" "npx cdktf --version" \
  -n "npx cdktf synth, empty app" "npx cdktf synth --output $work/cli-empty --app 'node $work/empty-app.js'" \
  -n "npx cdktf synth (cdktf.json app: build + run)" "npx cdktf synth --output $work/cli-out" \
  -n "node scripts/app/synth.js (the cdktf.json app, direct)" "CDKTF_OUTDIR=$work/direct-out node scripts/app/synth.js" \
  -n "node scripts/app/build.mjs (esbuild)" "node scripts/app/build.mjs"

# ---------------------------------------------------------------------------------------------
log "4. unit test suite and type check"
shopt -s nullglob
unit_tests=(__tests__/unit/*.test.ts)
shopt -u nullglob
(( ${#unit_tests[@]} )) || { echo "no __tests__/unit/*.test.ts" >&2; exit 1; }
meta unit_test_files "${#unit_tests[@]}"
# One untimed run first: warms Jest's transform cache and records whether the suite passes.
if npx jest --ci "${unit_tests[@]}" >"$work/jest.log" 2>&1; then jest_status=passed; else jest_status=FAILED; fi
meta jest_status "$jest_status"
meta jest_summary "$(grep -E '^Tests:' "$work/jest.log" | sed 's/ \+/ /g' || true)"
if npx tsc -p . >"$work/tsc.log" 2>&1; then tsc_status=passed; else tsc_status="FAILED ($(grep -c 'error TS' "$work/tsc.log" || true) errors)"; fi
meta tsc_status "$tsc_status"
hyperfine --style basic --warmup 0 --runs "$TEST_RUNS" --ignore-failure --export-json "$raw/tests.json" \
  -n "npx jest --ci __tests__/unit/*.test.ts (${#unit_tests[@]} files)" "npx jest --ci ${unit_tests[*]}" \
  -n "npx tsc -p ." "npx tsc -p ."

# ---------------------------------------------------------------------------------------------
log "report"
meta loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
node bench/synth-report.mjs "$raw" "$out/synth.md" "$work/cli-profile"
rm -f "$raw"/*.tsv
cat "$out/synth.md"
