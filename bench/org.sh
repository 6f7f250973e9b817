#!/usr/bin/env bash
# How `npm start` scales with the number of stacks: the shipped organization's owner (local, 2
# stacks) with 0, 1, 2 and 4 consumer accounts of 1 stack each (one more account per consumer),
# each deployed to a fresh moto. Prints one line per run: stacks, accounts, wall seconds, and
# writes bench/results/org.json. Run from the repository root after `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1
npm run -s build >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
results=()
for consumers in 0 1 2 4; do
  config="$work/org-$consumers.json"
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("fs");
    const c = JSON.parse(fs.readFileSync("config/environments.json", "utf8"));
    const local = c.environments.local;
    delete local.build.replicateToEnvironments;
    const envs = { local };
    for (let i = 1; i <= Number(process.argv[2]); i++) {
      const account = String(200000000000 + i);
      envs[`consumer-${i}`] = { local: true, accountId: account, regions: ["eu-central-1"],
        assumeRoleArn: `arn:aws:iam::${account}:role/deployer`, state: local.state, pullFrom: "local" };
    }
    fs.writeFileSync(process.argv[1], JSON.stringify({ environments: envs }));
  ' "$config" "$consumers"
  echo "▸ npm start with $consumers consumer account(s) …" >&2
  start=$(date +%s.%N)
  CONFIG_FILE="$config" CDKTF_OUTDIR="$work/out-$consumers" node dist/scripts/local-aws/start.js >"$work/log-$consumers" 2>&1 ||
    { cat "$work/log-$consumers" >&2; exit 1; }
  seconds=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }")
  stacks=$((2 + consumers))
  accounts=$((1 + consumers))
  printf 'stacks=%d accounts=%d seconds=%s\n' "$stacks" "$accounts" "$seconds"
  results+=("{\"stacks\":$stacks,\"accounts\":$accounts,\"seconds\":$seconds}")
done
mkdir -p bench/results
(IFS=,; echo "[${results[*]}]") >bench/results/org.json
