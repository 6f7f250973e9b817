#!/usr/bin/env node
// The report of bench/stacks.sh: reads its records (one JSON object per line, each a
// bench/tree-rss.mjs result with its context) and writes bench/results/stacks.json (meta and every
// record) and bench/results/stacks.md (the tables and the goals: the bounded runner against the cdktf CLI).
//
// Usage: node bench/stacks-report.mjs <records.jsonl> <stacks.json> <stacks.md> '<meta JSON>'
import { readFileSync, writeFileSync } from "node:fs";

const [recordsFile, jsonFile, mdFile, metaText] = process.argv.slice(2);
const meta = JSON.parse(metaText);
const records = readFileSync(recordsFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
writeFileSync(jsonFile, `${JSON.stringify({ meta, records }, null, 2)}\n`);

const ok = (r) => r && r.exitCode === 0 && !r.aborted;
const s = (x) => (x === undefined || x === null ? "—" : `${x.toFixed(1)} s`);
const mib = (x) => (x === undefined || x === null ? "—" : `${x} MiB`);
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : undefined;
};
/** "12.3 s / 1234 MiB", or why there is no figure. */
const cell = (r) => {
  if (!r) return "not measured";
  const figure = `${s(r.wallSeconds)} / ${mib(r.peakRssMiB)}`;
  if (r.aborted) return `**stopped** after ${figure} (${r.abortReason})`;
  if (r.exitCode !== 0) return `**failed** (exit ${r.exitCode ?? r.signal}) after ${figure}`;
  return figure;
};

const sizes = [...new Set(records.filter((r) => r.part !== "synth" && r.part !== "changed-since" && r.size).map((r) => r.size))];
const lines = [
  "# Many stacks: bounded runner against the cdktf CLI",
  "",
  `Written by \`bash bench/stacks.sh\` at ${meta.finished}, commit \`${meta.commit}\`, on ${meta.nproc} cores and ${meta.memTotalMiB} MiB; ${meta.terraform}.`,
  `Each figure is one run: wall time / peak total RSS of the command's whole process tree (bench/tree-rss.mjs, /proc every 200 ms);`,
  "\"≤ k terraform\" is the most terraform processes at once in the tree (terraform and its AWS provider plugin: 2 per running stack). Parallelism: what `npm run plan` printed.",
  `A fresh local AWS (moto_server) per measurement; its own memory is not in the figures. A run is stopped when MemAvailable drops below ${meta.minAvailableMiB} MiB.`,
  meta.parallelismFlag ? "" : "\n**The measured commit has no `--parallelism`: `npm run plan` ran every stack at once.**",
  "",
  "| stacks | `npm run plan` | parallelism | `cdktf diff <stack>`, one stack after the other: stacks diffed, mean wall / highest peak | per stack: cdktf diff ÷ ours | `npm run deploy` | `cdktf deploy '*'` |",
  "|---:|---|---|---|---:|---|---|",
];
const summary = [];
for (const n of sizes) {
  const at = records.filter((r) => r.size === n);
  const plan = at.find((r) => r.part === "ours-plan");
  const deploy = at.find((r) => r.part === "ours-deploy");
  const cdeploy = at.find((r) => r.part === "cdktf-deploy");
  const diffs = at.filter((r) => r.part === "cdktf-diff");
  let diffCell = "not measured";
  let ratio;
  if (diffs.length) {
    const sum = diffs.reduce((a, r) => a + r.wallSeconds, 0);
    const failed = diffs.filter((r) => !ok(r));
    diffCell = `${diffs.length} of ${n}: ${s(sum / diffs.length)} per stack (${s(sum)} in all) / ${mib(Math.max(...diffs.map((r) => r.peakRssMiB)))}`;
    if (failed.length) diffCell += `, **${failed.length} failed**`;
    if (ok(plan) && !failed.length) ratio = sum / diffs.length / (plan.wallSeconds / n);
  }
  const par = plan?.parallelismLine ? (/at most (\d+) at once/.exec(plan.parallelismLine)?.[1] ?? plan.parallelismLine.trim()) : "—";
  lines.push(`| ${n} | ${cell(plan)}${plan ? ` (≤ ${plan.peakTerraform} terraform)` : ""} | ${par} | ${diffCell} | ${ratio ? `**${ratio.toFixed(1)}×**` : "—"} | ${cell(deploy)}${deploy ? ` (≤ ${deploy.peakTerraform} terraform)` : ""} | ${cell(cdeploy)}${cdeploy ? ` (≤ ${cdeploy.peakTerraform} terraform)` : ""} |`);
  summary.push({ n, plan, ratio });
}
lines.push("", "Load average (1/5/15 min) and MemAvailable before each measurement, other terraform processes on the machine at its start:", "");
lines.push("| measurement | load before | load after | MemAvailable before | lowest MemAvailable | other terraform | moto RSS after |", "|---|---|---|---:|---:|---:|---:|");
for (const r of records.filter((x) => x.loadBefore)) {
  lines.push(`| ${r.name} | ${r.loadBefore} | ${r.loadAfter} | ${r.memAvailableBeforeMiB} MiB | ${r.minMemAvailableMiB} MiB | ${r.otherTerraformBefore} | ${r.motoRssAfterMiB ?? "—"} MiB |`);
}

const synth = records.filter((r) => r.part === "synth" && ok(r));
const changed = records.filter((r) => r.part === "changed-since");
const notMeasured = records.find((r) => r.part === "changed-since" && r.notMeasured);
lines.push("", "## `--changed-since` on the 204-stack config", "");
let changedRatio;
if (notMeasured) lines.push(`Not measured: ${notMeasured.notMeasured}.`);
else if (changed.length) {
  const synthMedian = median(synth.map((r) => r.wallSeconds));
  const good = changed.filter(ok);
  const changedMedian = median(good.map((r) => r.wallSeconds));
  if (synthMedian && changedMedian) changedRatio = changedMedian / synthMedian;
  lines.push(
    `One environment (\`${changed[0].changedEnvironment}\`) changed in the last commit; \`npm run -s stacks -- --json --changed-since HEAD~1\` with CONFIG_FILE of ${changed[0].size} stacks, ENVIRONMENTS=all.`,
    "",
    "| run | one synth (`node scripts/app/synth.js`) | `--changed-since HEAD~1` | stacks listed | their environments |",
    "|---:|---|---|---:|---|",
  );
  changed.forEach((r, i) => lines.push(`| ${i + 1} | ${cell(synth[i])} | ${cell(r)} | ${r.listed ?? "—"} | ${(r.listedEnvironments ?? []).join(", ") || r.listError || "—"} |`));
  lines.push("", `Median: synth ${s(synthMedian)}, --changed-since ${s(changedMedian)}: **${changedRatio ? changedRatio.toFixed(2) : "—"}×** one synth.`);
}

const at32 = summary.find((x) => x.n === 32);
lines.push("", "## Goals", "", "| goal | measured | |", "|---|---|---|");
lines.push(
  `| 32 stacks planned with peak total RSS ≤ 4 GiB | ${at32?.plan ? cell(at32.plan) : "not measured"} | ${ok(at32?.plan) ? (at32.plan.peakRssMiB <= 4096 ? "met" : "missed") : "—"} |`,
);
for (const x of summary) {
  lines.push(`| ≥ 3× faster than \`cdktf diff\` per stack (${x.n} stacks) | ${x.ratio ? `${x.ratio.toFixed(1)}×` : "not measured"} | ${x.ratio ? (x.ratio >= 3 ? "met" : "missed") : "—"} |`);
}
lines.push(`| \`--changed-since\` ≤ 2× one synth (204 stacks) | ${changedRatio ? `${changedRatio.toFixed(2)}×` : "not measured"} | ${changedRatio ? (changedRatio <= 2 ? "met" : "missed") : "—"} |`);
writeFileSync(mdFile, `${lines.join("\n")}\n`);
