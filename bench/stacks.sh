#!/usr/bin/env bash
# Many stacks: plan and deploy of N local stacks on the local AWS, the bounded
# runner against the conventional cdktf CLI, side by side in one run; and how long
# `npm run -s stacks -- --json --changed-since <ref>` takes on the 204-stack config against one
# synth of it.
#
# Usage: bash bench/stacks.sh          (from anywhere; after `npm ci`; takes ~1 h at SIZES="1 8 32")
#
# For each size N of SIZES, a local organization of N stacks (like bench/org.sh: the shipped
# owner `local`, in eu-central-1 only, and N-1 consumer accounts of one stack each in
# eu-central-1, each with assumeRoleArn in its own account and pullFrom the owner; every stack
# local). Each measurement gets a fresh local AWS (moto_server on 127.0.0.1, a free port, its state
# bucket and source bundle created before the clock starts), and runs under bench/tree-rss.mjs
# (wall time, peak total RSS of the whole process tree, peak number of terraform processes):
#   ours-plan     npm run plan     (bounded runner, default --parallelism; the value it prints is kept)
#   ours-deploy   npm run deploy
#   cdktf-diff    cdktf diff <stack> --skip-provider-lock, for each stack in turn (one measurement each)
#   cdktf-deploy  cdktf deploy '*' --auto-approve --skip-provider-lock (the CLI's default parallelism)
# The cdktf CLI runs offline as docs/local-aws.md says: an absolute TF_CLI_CONFIG_FILE
# (node dist/scripts/terraform/env.js) and --skip-provider-lock. A measurement is stopped, and
# recorded as stopped, when the machine's MemAvailable drops below MIN_AVAILABLE_MIB.
# Then, on `node bench/make-config.mjs 204` committed in a scratch clone with one environment
# changed in the commit after it: `npm run -s stacks -- --json --changed-since HEAD~1` against
# one `node scripts/app/synth.js` of the same config (CHANGED_RUNS runs each, median).
#
# Everything runs in a temporary clone of this repository's HEAD (node_modules linked), so
# uncommitted work in the checkout is neither measured nor disturbed; nothing is written to the
# checkout but the results. Writes bench/results/stacks.json (every measurement) and
# bench/results/stacks.md (the tables), and the logs under bench/results/stacks/ (of failed or
# stopped measurements only).
#
# Knobs (environment):
#   SIZES="1 8 32"              stack counts
#   PARTS="ours-plan cdktf-diff ours-deploy cdktf-deploy"   what to measure at each size (in this order)
#   MIN_AVAILABLE_MIB=3072      stop a measurement when MemAvailable falls below this
#   CHANGED_STACKS=204          stacks of the --changed-since config (0: skip that part)
#   CHANGED_RUNS=3              runs of --changed-since and of the synth
#   MOTO_SERVER                 moto's server command (default moto_server)
#   DIFF_STACKS=K               cdktf diff only K of the N stacks (an even spread of the sorted names), default all
#   APPEND=1                    add to the records of bench/results/stacks.json instead of replacing them
#   KEEP_LOGS=1                 keep the log of every measurement in bench/results/stacks/, not only of failed ones
#   OURS_PARALLELISM=N          run ours with --parallelism N instead of the machine's default
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
read -r -a SIZES <<<"${SIZES:-1 8 32}"
read -r -a PARTS <<<"${PARTS:-ours-plan cdktf-diff ours-deploy cdktf-deploy}"
MIN_AVAILABLE_MIB="${MIN_AVAILABLE_MIB:-3072}"
CHANGED_STACKS="${CHANGED_STACKS:-204}"
CHANGED_RUNS="${CHANGED_RUNS:-3}"
MOTO="${MOTO_SERVER:-moto_server}"
command -v "$MOTO" >/dev/null || { echo "moto_server not found: pip install 'moto[server]', or set MOTO_SERVER" >&2; exit 1; }
command -v terraform >/dev/null || { echo "terraform is not on PATH" >&2; exit 1; }
[[ -x "$SRC/node_modules/.bin/cdktf" ]] || { echo "no node_modules/.bin/cdktf: run npm ci first" >&2; exit 1; }

results="$SRC/bench/results"
logs="$results/stacks"
mkdir -p "$logs"
rm -f "$logs"/*.log
work="$(mktemp -d)"
raw="$work/raw"
mkdir -p "$raw"
moto_pid=""

stop_moto() {
  if [[ -n "$moto_pid" ]]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
    moto_pid=""
  fi
}
cleanup() {
  stop_moto
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
available_mib() { awk '/^MemAvailable:/ { printf "%d", $2 / 1024 }' /proc/meminfo; }
# Other terraform processes on the machine (other jobs), for the record.
other_terraform() { pgrep -c -x terraform || true; }

# ---------------------------------------------------------------------------------------------
log "scratch clone of HEAD ($(git -C "$SRC" rev-parse --short HEAD))"
repo="$work/repo"
git clone --quiet "$SRC" "$repo"
git -C "$repo" checkout --quiet --detach "$(git -C "$SRC" rev-parse HEAD)"
ln -s "$SRC/node_modules" "$repo/node_modules"
cd "$repo"
export CHECKPOINT_DISABLE=1 CI=1 AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
unset AWS_ENDPOINT_URL ENVIRONMENTS CONFIG_FILE CDKTF_OUTDIR PARALLELISM
node scripts/app/build.mjs >/dev/null
TF_CLI_CONFIG_FILE="$(node dist/scripts/terraform/env.js "$work/terraform")"
export TF_CLI_CONFIG_FILE
commit="$(git rev-parse --short HEAD)"
parallelism_help="$(node dist/scripts/plan-review/plan.js --help 2>&1 | grep -c -- '--parallelism' || true)"

# A fresh local AWS on a free port, with the state bucket and source bundle of CONFIG's stacks.
start_moto() {
  local config="$1" port
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  "$MOTO" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto_pid=$!
  endpoint="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do
    curl -sf "$endpoint/moto-api/data.json" >/dev/null 2>&1 && break
    kill -0 "$moto_pid" 2>/dev/null || { cat "$work/moto.log" >&2; echo "moto_server exited" >&2; exit 1; }
    sleep 0.1
  done
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const [root, endpoint, config] = process.argv.slice(1);
    const { selectLocalEnvironments, bootstrap } = require(root + "/dist/scripts/local-aws/deploy.js");
    const envs = selectLocalEnvironments({ root, configFile: config });
    bootstrap({ root, endpoint, outdir: root + "/cdktf.out" }, envs).catch((e) => { console.error(e); process.exit(1); });
  ' "$repo" "$endpoint" "$config"
}
moto_rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$moto_pid/status" 2>/dev/null || echo null; }

# measure NAME SIZE PART EXTRA_JSON CMD…: runs CMD under tree-rss with its output in a log, and
# appends one JSON record (tree-rss's result plus the context) to $raw/records.jsonl.
measure() {
  local name="$1" size="$2" part="$3" extra="$4" rc=0 before after avail others
  shift 4
  before="$(load)"; avail="$(available_mib)"; others="$(other_terraform)"
  node "$SRC/bench/tree-rss.mjs" --min-available-mib "$MIN_AVAILABLE_MIB" --json "$raw/$name.json" -- "$@" >"$raw/$name.log" 2>&1 || rc=$?
  after="$(load)"
  [[ -n "${KEEP_LOGS:-}" ]] && cp "$raw/$name.log" "$logs/$name.log"
  if [[ "$rc" != 0 ]]; then
    tail -n 300 "$raw/$name.log" >"$logs/$name.log"
    echo "  $name failed (exit $rc); log: bench/results/stacks/$name.log" >&2
    tail -5 "$raw/$name.log" >&2
  fi
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("fs");
    const [file, name, size, part, extra, before, after, avail, others, moto] = process.argv.slice(1);
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    const rec = { name, size: Number(size), part, at: new Date().toISOString(), ...JSON.parse(extra), ...r, loadBefore: before, loadAfter: after,
      memAvailableBeforeMiB: Number(avail), otherTerraformBefore: Number(others), motoRssAfterMiB: moto === "null" ? null : Number(moto) };
    fs.appendFileSync(process.env.RECORDS, JSON.stringify(rec) + "\n");
    console.error(`  ${name}: ${r.wallSeconds} s, peak ${r.peakRssMiB} MiB, ${r.peakTerraform} terraform at most, exit ${r.exitCode ?? r.signal}${r.aborted ? " (STOPPED: " + r.abortReason + ")" : ""}`);
  ' "$raw/$name.json" "$name" "$size" "$part" "$extra" "$before" "$after" "$avail" "$others" "$(moto_rss_mib)"
  report
  return 0
}
export RECORDS="$raw/records.jsonl"
: >"$RECORDS"
# APPEND=1: keep the records of an earlier run (e.g. plans in one run, deploys in the next).
if [[ -n "${APPEND:-}" && -f "$results/stacks.json" ]]; then
  node -e 'for (const r of require(process.argv[1]).records) console.log(JSON.stringify(r))' "$results/stacks.json" >"$RECORDS"
fi

# The organization of N local stacks.
make_org() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("fs");
    const [from, to, n] = process.argv.slice(1);
    const local = JSON.parse(fs.readFileSync(from, "utf8")).environments.local;
    local.regions = ["eu-central-1"];
    delete local.build.replicaRegions;
    delete local.build.replicateToEnvironments;
    const environments = { local };
    for (let i = 1; i < Number(n); i++) {
      const accountId = String(200000000000 + i);
      environments[`consumer-${i}`] = { local: true, accountId, regions: ["eu-central-1"],
        assumeRoleArn: `arn:aws:iam::${accountId}:role/deployer`, state: local.state, pullFrom: "local" };
    }
    fs.writeFileSync(to, JSON.stringify({ environments }, null, 2));
  ' config/environments.json "$1" "$2"
}

# ours PART: `npm run plan` (ours-plan) or `npm run deploy` (ours-deploy) of the size's stacks.
ours() {
  local part="$1" script=plan line
  has_part "$part" || return 0
  [[ "$part" == ours-deploy ]] && script=deploy
  rm -rf "$work/records"
  start_moto "$config"
  measure "$n-$part" "$n" "$part" '{}' "${common[@]}" "AWS_ENDPOINT_URL=$endpoint" "CDKTF_OUTDIR=$work/ours-$n" \
    npm run -s "$script" -- --out "$work/plans-$n-$part" ${OURS_PARALLELISM:+--parallelism "$OURS_PARALLELISM"}
  # The parallelism the runner printed (its first line that names it).
  line="$(grep -i -m1 'at once' "$raw/$n-$part.log" || true)"
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("fs");
    const f = process.env.RECORDS;
    const l = fs.readFileSync(f, "utf8").trimEnd().split("\n");
    const r = JSON.parse(l.pop());
    r.parallelismLine = process.argv[1] || null;
    l.push(JSON.stringify(r));
    fs.writeFileSync(f, l.join("\n") + "\n");
  ' "$line"
  report
  stop_moto
}

report() {
  node "$SRC/bench/stacks-report.mjs" "$RECORDS" "$results/stacks.json" "$results/stacks.md" \
    "{\"commit\":\"$commit\",\"parallelismFlag\":$([[ "$parallelism_help" -gt 0 ]] && echo true || echo false),\"minAvailableMiB\":$MIN_AVAILABLE_MIB,\"nproc\":$(nproc),\"memTotalMiB\":$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo),\"finished\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"terraform\":\"$(terraform version | head -1)\",\"diffStacks\":\"${DIFF_STACKS:-all}\"}"
}

has_part() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------------
if (( CHANGED_STACKS > 0 )); then
  log "--changed-since on $CHANGED_STACKS stacks"
  if ! node -e 'process.exit(require("./package.json").scripts.stacks ? 0 : 1)'; then
    echo "  no stacks npm script at $commit: not measured" >&2
    echo '{"name":"changed-since","part":"changed-since","notMeasured":"no stacks npm script in the measured commit"}' >>"$RECORDS"
  else
    node bench/make-config.mjs "$CHANGED_STACKS" bench-config.json
    git add bench-config.json
    git -c user.name=bench -c user.email=bench@localhost commit --quiet -m "bench: $CHANGED_STACKS stacks" -- bench-config.json
    # One environment changes (a tag): its stacks, and only those, differ from HEAD~1.
    node -e '
      const fs = require("fs");
      const c = JSON.parse(fs.readFileSync("bench-config.json", "utf8"));
      const name = Object.keys(c.environments)[1];
      c.environments[name].tags.Changed = "yes";
      fs.writeFileSync("bench-config.json", JSON.stringify(c, null, 2) + "\n");
      fs.writeFileSync(process.argv[1], name);
    ' "$work/changed-env"
    git -c user.name=bench -c user.email=bench@localhost commit --quiet -m "bench: change one environment" -- bench-config.json
    changed_env="$(cat "$work/changed-env")"
    for i in $(seq 1 "$CHANGED_RUNS"); do
      measure "synth-$CHANGED_STACKS-$i" "$CHANGED_STACKS" synth '{}' env CONFIG_FILE=bench-config.json ENVIRONMENTS=all CDKTF_OUTDIR="$work/synth-$CHANGED_STACKS" \
        node scripts/app/synth.js
      # shellcheck disable=SC2016 # $0 belongs to the inner bash
      measure "changed-since-$CHANGED_STACKS-$i" "$CHANGED_STACKS" changed-since "{\"changedEnvironment\":\"$changed_env\"}" \
        env CONFIG_FILE=bench-config.json ENVIRONMENTS=all CDKTF_OUTDIR="$work/changed-$CHANGED_STACKS" bash -c 'npm run -s stacks -- --json --changed-since HEAD~1 >"$0"' "$work/changed.json"
      # What it listed: how many stacks, of which environments.
      # shellcheck disable=SC2016 # JavaScript, not shell
      node -e '
        const fs = require("fs");
        const f = process.env.RECORDS;
        const l = fs.readFileSync(f, "utf8").trimEnd().split("\n");
        const r = JSON.parse(l.pop());
        try {
          const listed = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
          r.listed = listed.length;
          r.listedEnvironments = [...new Set(listed.map((s) => s.environment))];
        } catch (e) { r.listed = null; r.listError = String(e.message).split("\n")[0]; }
        l.push(JSON.stringify(r));
        fs.writeFileSync(f, l.join("\n") + "\n");
      ' "$work/changed.json"
    done
  fi
fi


for n in "${SIZES[@]}"; do
  config="$work/org-$n.json"
  make_org "$config" "$n"
  CONFIG_FILE="$config" CDKTF_OUTDIR="$work/list-$n" AWS_ENDPOINT_URL=http://127.0.0.1:1 node scripts/app/synth.js 2>/dev/null
  mapfile -t stacks < <(find "$work/list-$n/stacks" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
  [[ "${#stacks[@]}" == "$n" ]] || { echo "the config of $n stacks synthesized ${#stacks[@]}" >&2; exit 1; }
  log "$n stack(s): ${stacks[0]}${stacks[1]:+ … ${stacks[-1]}}; load $(load), MemAvailable $(available_mib) MiB"
  # Everything one measurement writes stays in its own folders.
  # The AWS variables: what npm run plan gives terraform for a local stack (localAwsEnv in
  # scripts/local-aws/clients.ts), so the cdktf CLI's terraform gets the same.
  common=(env "CONFIG_FILE=$config" "LOCAL_AWS_STATE_DIR=$work/local-aws"
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-central-1 AWS_DEFAULT_REGION=eu-central-1)
  ours ours-plan
  cdktf="$SRC/node_modules/.bin/cdktf"
  if has_part cdktf-diff; then
    start_moto "$config"
    diffed=("${stacks[@]}")
    # DIFF_STACKS: an even spread of the stacks sorted by name (the owner, local-…, sorts last).
    if [[ -n "${DIFF_STACKS:-}" ]] && (( DIFF_STACKS < n )); then
      diffed=()
      for i in $(seq 0 $((DIFF_STACKS - 1))); do diffed+=("${stacks[$((i * n / DIFF_STACKS))]}"); done
    fi
    for s in "${diffed[@]}"; do
      measure "$n-cdktf-diff-$s" "$n" cdktf-diff "{\"stack\":\"$s\"}" "${common[@]}" "AWS_ENDPOINT_URL=$endpoint" \
        "$cdktf" diff "$s" --skip-provider-lock --output "$work/cdktf-$n"
    done
    stop_moto
  fi
  ours ours-deploy
  if has_part cdktf-deploy; then
    start_moto "$config"
    measure "$n-cdktf-deploy" "$n" cdktf-deploy '{}' "${common[@]}" "AWS_ENDPOINT_URL=$endpoint" \
      "$cdktf" deploy '*' --auto-approve --skip-provider-lock --output "$work/cdktf-deploy-$n"
    stop_moto
  fi
  rm -rf "$work/ours-$n" "$work/cdktf-$n" "$work/cdktf-deploy-$n" "$work"/plans-"$n"-*
done

# ---------------------------------------------------------------------------------------------
log "report"
report
cat "$results/stacks.md"
