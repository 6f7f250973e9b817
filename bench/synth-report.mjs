#!/usr/bin/env node
// Renders bench/results/synth.md from the raw results bench/synth.sh leaves in <raw dir>
// (hyperfine JSON, rss.tsv, meta.tsv); also writes rss.json, meta.json and machine.json there.
//
// With a third argument, a folder holding a .cpuprofile of the cdktf CLI, it also summarizes
// where the CLI's own process spends its time (cli-profile.json).
//
// Usage: node bench/synth-report.mjs <raw dir> <markdown file> [cli profile dir]
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join, relative } from "node:path";

const [raw, mdFile, profileDir] = process.argv.slice(2);
if (!raw || !mdFile) {
  console.error("usage: node bench/synth-report.mjs <raw dir> <markdown file>");
  process.exit(2);
}

// ---- inputs ------------------------------------------------------------------------------------
const hf = (name) => JSON.parse(readFileSync(join(raw, `${name}.json`), "utf8")).results;
const tsv = (name) =>
  readFileSync(join(raw, `${name}.tsv`), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t"));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const rss = Object.fromEntries(
  tsv("rss").map(([name, samples]) => {
    const kb = samples.split(" ").map(Number);
    return [name, { samplesKiB: kb, medianKiB: median(kb) }];
  }),
);
const meta = Object.fromEntries(tsv("meta"));
writeFileSync(join(raw, "rss.json"), `${JSON.stringify(rss, null, 2)}\n`);
writeFileSync(join(raw, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);

const run = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "n/a";
  }
};
const pkgVersion = (name) => {
  const file = join("node_modules", name, "package.json");
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).version : "n/a";
};
const osRelease = existsSync("/etc/os-release")
  ? (readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? os.type())
  : os.type();
const machine = {
  date: new Date().toISOString(),
  nproc: run("nproc", []),
  cpuModel: os.cpus()[0]?.model ?? "n/a",
  ramGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  os: `${osRelease}, kernel ${os.release()}`,
  node: process.version,
  terraform: run("terraform", ["version"]).split("\n")[0],
  hyperfine: run("hyperfine", ["--version"]),
  cdktf: pkgVersion("cdktf"),
  cdktfCli: pkgVersion("cdktf-cli"),
  providerAws: pkgVersion("@cdktf/provider-aws"),
  tsNode: pkgVersion("ts-node"),
  typescript: pkgVersion("typescript"),
};
writeFileSync(join(raw, "machine.json"), `${JSON.stringify(machine, null, 2)}\n`);

// ---- formatting --------------------------------------------------------------------------------
const time = (s) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
const pm = (r) => {
  const sd = r.stddev ?? 0;
  return r.mean < 1 ? `${(r.mean * 1000).toFixed(0)} ± ${(sd * 1000).toFixed(0)} ms` : `${r.mean.toFixed(2)} ± ${sd.toFixed(2)} s`;
};
const range = (r) => `${time(r.min)} … ${time(r.max)}`;
const mib = (kb) => `${(kb / 1024).toFixed(0)} MiB`;
const ratio = (x) => `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}×`;
const verdict = (ok) => (ok ? "met" : "**missed**");
const byName = (results, prefix) => {
  const r = results.find((x) => x.command.startsWith(prefix));
  if (!r) throw new Error(`no result named ${prefix}…`);
  return r;
};

// ---- 1. default synth ---------------------------------------------------------------------------
const def = hf("default");
const ours = byName(def, "ours");
const conv = byName(def, "conventional");
const speedup = conv.mean / ours.mean;
const memRatio = rss.conventional.medianKiB / rss.ours.medianKiB;
const breakdown = hf("breakdown");

// ---- 2. per stack -------------------------------------------------------------------------------
const scale = hf("scale").map((r) => ({ n: Number(r.parameters.n), r }));
const fit = (pts) => {
  const k = pts.length;
  const mx = pts.reduce((a, p) => a + p.x, 0) / k;
  const my = pts.reduce((a, p) => a + p.y, 0) / k;
  const sxy = pts.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = pts.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const syy = pts.reduce((a, p) => a + (p.y - my) ** 2, 0);
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy ? (sxy * sxy) / (sxx * syy) : 1 };
};
const timeFit = fit(scale.map(({ n, r }) => ({ x: n, y: r.mean * 1000 })));
const rssFit = fit(scale.map(({ n }) => ({ x: n, y: rss[`${n} stacks`].medianKiB / 1024 })));

// ---- 3. CLI -------------------------------------------------------------------------------------
const cli = hf("cli");
const cliStart = byName(cli, "npx cdktf --version");
const cliEmpty = byName(cli, "npx cdktf synth, empty app");
const cliSynth = byName(cli, "npx cdktf synth (cdktf.json");
const direct = byName(cli, "node scripts/app/synth.js (the cdktf.json app, direct)");
const esbuild = byName(cli, "node scripts/app/build.mjs (esbuild)");
const diff = (a, b) => ({ mean: a.mean - b.mean, sd: Math.hypot(a.stddev ?? 0, b.stddev ?? 0) });
const beyondStart = diff(cliSynth, cliStart);
const emptyBeyondStart = diff(cliEmpty, cliStart);
const beyondEmpty = diff(cliSynth, cliEmpty);
// Phases of the instrumented `npx cdktf synth` runs: [before the app, the app, after the app] in ms.
const phases = Object.entries(meta)
  .filter(([k]) => k.startsWith("cli_phases_ms_"))
  .map(([, v]) => v.split(" ").map(Number));
const fmtDiff = (d) => `${d.mean.toFixed(2)} ± ${d.sd.toFixed(2)} s`;

// Self time of the CLI process by category: package (from the script URL), module loading,
// idle (waiting for terraform and the app), garbage collection.
let cliProfile;
if (profileDir && existsSync(profileDir)) {
  const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
  if (file) {
    const prof = JSON.parse(readFileSync(join(profileDir, file), "utf8"));
    const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // Native frames (no URL, e.g. readFileUtf8) count for the nearest caller that has one.
    const SPECIAL = new Set(["(idle)", "(garbage collector)", "(program)", "(root)"]);
    const frameOf = (id) => {
      let n = nodes.get(id);
      while (!n.callFrame.url && !SPECIAL.has(n.callFrame.functionName) && parent.has(n.id)) n = nodes.get(parent.get(n.id));
      return n.callFrame;
    };
    const totals = new Map();
    prof.samples.forEach((id, i) => {
      const { url, functionName } = frameOf(id);
      let key;
      if (url.startsWith("node:internal/modules")) key = "Node module loader (reading and compiling modules)";
      else if (url.includes("node_modules/")) {
        const m = url.slice(url.lastIndexOf("node_modules/") + 13).match(/^(@[^/]+\/[^/]+|[^/]+)(?:\/([^/]+\/[^/]+))?/);
        key = m[1] === "cdktf-cli" && m[2] ? `cdktf-cli/${m[2]}` : m[1];
      } else if (url.startsWith("wasm://")) key = "WebAssembly (cdktf-cli's bundled wasm)";
      else if (url.startsWith("node:")) key = "Node internals (fs reads, zlib, child processes)";
      else if (functionName === "(idle)") key = "idle (waiting for terraform and the app)";
      else if (functionName === "(garbage collector)") key = "garbage collection";
      else key = functionName || "(other)";
      totals.set(key, (totals.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000);
    });
    const totalMs = (prof.endTime - prof.startTime) / 1000;
    cliProfile = { totalMs, selfMs: Object.fromEntries([...totals].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v)])) };
    writeFileSync(join(raw, "cli-profile.json"), `${JSON.stringify(cliProfile, null, 2)}\n`);
  }
}

// Module files the CLI loads for `--version` and for `synth`, by package.
const pkgOf = (file) => {
  const rest = file.slice(file.lastIndexOf("node_modules/") + 13).split("/");
  return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
};
const moduleStats = (name) => {
  const path = join(raw, `cli-modules-${name}.tsv`);
  if (!existsSync(path)) return undefined;
  const byPkg = {};
  let files = 0;
  let bytes = 0;
  for (const [size, file] of tsv(`cli-modules-${name}`)) {
    const p = file.includes("node_modules/") ? pkgOf(file) : "(outside node_modules)";
    byPkg[p] ??= { files: 0, bytes: 0 };
    byPkg[p].files++;
    byPkg[p].bytes += Number(size);
    files++;
    bytes += Number(size);
  }
  return { files, bytes, byPackage: Object.fromEntries(Object.entries(byPkg).sort((a, b) => b[1].bytes - a[1].bytes)) };
};
const cliModules = { version: moduleStats("version"), synth: moduleStats("synth") };
if (cliModules.synth) writeFileSync(join(raw, "cli-modules.json"), `${JSON.stringify(cliModules, null, 2)}\n`);

// ---- 4. tests -----------------------------------------------------------------------------------
const tests = hf("tests");
const jest = byName(tests, "npx jest");
const tsc = byName(tests, "npx tsc");

// ---- markdown -----------------------------------------------------------------------------------
const rawRel = relative(join(mdFile, ".."), raw);
const L = [];
L.push("# Synth benchmark (`bash bench/synth.sh`)");
L.push("");
L.push(
  `Machine: ${machine.nproc} cores (${machine.cpuModel}), ${machine.ramGiB} GiB RAM, ${machine.os}; ` +
    `Node ${machine.node}, ${machine.terraform}, ${machine.hyperfine}; cdktf ${machine.cdktf}, cdktf-cli ${machine.cdktfCli}, ` +
    `@cdktf/provider-aws ${machine.providerAws}, ts-node ${machine.tsNode}, TypeScript ${machine.typescript}. ` +
    `Run ${machine.date}; load average (1, 5, 15 min) ${meta.loadavg_start ?? "n/a"} at the start, ` +
    `${meta.loadavg_end ?? "n/a"} at the end (anything above 0 is other work sharing the ${machine.nproc} cores). ` +
    `CHECKPOINT_DISABLE=1. Raw hyperfine and RSS JSON: \`${rawRel}/\`.`,
);
L.push("");
L.push("## Targets");
L.push("");
L.push("| metric | target | measured | |");
L.push("|---|---|---:|---|");
L.push(`| default synth wall time, conventional ÷ ours | ≥ 20× faster | ${ratio(speedup)} | ${verdict(speedup >= 20)} |`);
L.push(`| default synth peak RSS, conventional ÷ ours | ≥ 10× less memory | ${ratio(memRatio)} | ${verdict(memRatio >= 10)} |`);
L.push(`| marginal synth time per additional stack | ≤ 40 ms | ${timeFit.slope.toFixed(1)} ms | ${verdict(timeFit.slope <= 40)} |`);
L.push(`| \`npx cdktf synth\` beyond the CLI's own start, read as \`npx cdktf --version\` | ≤ 0.3 s | ${fmtDiff(beyondStart)} | ${verdict(beyondStart.mean <= 0.3)} |`);
L.push(`| \`npx cdktf synth\` beyond the CLI's own start, read as the CLI's synth of an empty app | ≤ 0.3 s | ${fmtDiff(beyondEmpty)} | ${verdict(beyondEmpty.mean <= 0.3)} |`);
L.push(`| unit test suite (\`npx jest --ci __tests__/unit/*.test.ts\`) | < 30 s | ${pm(jest)} | ${verdict(jest.mean < 30)} |`);
L.push("");
L.push(`## 1. Default synth (\`local\` environment, ${meta.default_stacks} stacks)`);
L.push("");
L.push(
  `Ours is \`node scripts/app/synth.js\`, the app cdktf.json runs: one esbuild bundle of the app (rebuilt only when a source changed), deep provider imports ` +
    `(${meta.deep_modules} \`@cdktf/provider-aws/lib/<resource>\` modules). The conventional setup is a copy of ` +
    `main.ts, modules/, stacks/, config/, buildspecs/, cdktf.json and tsconfig.json (node_modules symlinked) whose ` +
    `${meta.rewritten_imports} deep imports are rewritten to the package root by \`bench/conventional-copy.mjs\` ` +
    `(\`import { ecrRepository } from "@cdktf/provider-aws"\`), run with \`npx ts-node main.ts\` (type-checking; ` +
    `\`TS_NODE_PREFER_TS_EXTS=true\`, because Node would otherwise resolve \`./config/environments\` to the .json ` +
    `file beside the .ts). Output of both: ${meta.equivalence}.`,
);
L.push("");
L.push(`| setup | wall time (mean ± σ, ${ours.times.length} runs) | min … max | user + sys | peak RSS (median of 3) |`);
L.push("|---|---:|---:|---:|---:|");
for (const [label, r, m] of [
  ["ours: `node scripts/app/synth.js`", ours, rss.ours],
  ["conventional: `npx ts-node main.ts`, root imports", conv, rss.conventional],
]) {
  L.push(`| ${label} | ${pm(r)} | ${range(r)} | ${time(r.user + r.system)} | ${mib(m.medianKiB)} |`);
}
L.push(`| **conventional ÷ ours** | **${ratio(speedup)}** | | | **${ratio(memRatio)}** |`);
L.push("");
L.push("Where the time goes (each a fresh `node` process; hyperfine, mean ± σ):");
L.push("");
L.push("| what | wall time | peak RSS (median of 3) |");
L.push("|---|---:|---:|");
for (const r of breakdown) {
  const m = r.command.startsWith("require cdktf + the app")
    ? rss['require("cdktf") + the app\'s deep provider modules']
    : r.command.startsWith('require("@cdktf/provider-aws") (package root)')
      ? rss['require("@cdktf/provider-aws") (package root)']
      : undefined;
  L.push(`| ${r.command.replace(/\|/g, "\\|")} | ${pm(r)} | ${m ? mib(m.medianKiB) : ""} |`);
}
L.push(`| ours, whole synth (from above) | ${pm(ours)} | ${mib(rss.ours.medianKiB)} |`);
L.push("");
L.push(`## 2. Marginal cost per stack (ours, \`ENVIRONMENTS=all\`)`);
L.push("");
L.push(
  "Generated by `bench/make-config.mjs`: non-local environments of up to 16 real regions each, each with " +
    "its own 12-digit account ID, state bucket, ECR repository and both projects.",
);
L.push("");
L.push(`| stacks | wall time (mean ± σ, ${scale[0].r.times.length} runs) | min … max | peak RSS (median of 3) |`);
L.push("|---:|---:|---:|---:|");
for (const { n, r } of scale) L.push(`| ${n} | ${pm(r)} | ${range(r)} | ${mib(rss[`${n} stacks`].medianKiB)} |`);
L.push("");
L.push(
  `Least-squares line over the ${scale.length} points: **${timeFit.slope.toFixed(1)} ms per additional stack** ` +
    `(intercept ${timeFit.intercept.toFixed(0)} ms, r² ${timeFit.r2.toFixed(3)}); peak RSS ` +
    `${rssFit.slope.toFixed(2)} MiB per additional stack (intercept ${rssFit.intercept.toFixed(0)} MiB, r² ${rssFit.r2.toFixed(3)}).`,
);
L.push("");
L.push("## 3. The cdktf CLI (`npx cdktf synth --output <temp dir>`)");
L.push("");
L.push(`| command | wall time (mean ± σ, ${cliSynth.times.length} runs) | min … max |`);
L.push("|---|---:|---:|");
for (const r of cli) L.push(`| ${r.command.replace(/\|/g, "\\|")} | ${pm(r)} | ${range(r)} |`);
L.push("");
L.push(`- CLI synth beyond the CLI's own start (synth − \`--version\`): **${fmtDiff(beyondStart)}** (target ≤ 0.3 s).`);
L.push(`- The \`synth\` command with a do-nothing app (no stacks) already costs ${fmtDiff(emptyBeyondStart)} beyond \`--version\`.`);
L.push(
  `- For comparison, the same app run directly (cdktf.json's app command, no CLI): ${pm(direct)}; a full esbuild rebuild (\`node scripts/app/build.mjs\`, only when sources changed) takes ${pm(esbuild)}.`,
);
if (phases.length) {
  const col = (i) => median(phases.map((p) => p[i]));
  L.push(
    `- Where \`npx cdktf synth\` spends its time (median of ${phases.length} instrumented runs, the app wrapped to record its ` +
      `start and end): **${col(0)} ms before it starts the app**, ${col(1)} ms in the app (build + run), ${col(2)} ms after it. ` +
      `The CLI's own start (\`--version\`) is ${time(cliStart.mean)}` +
      (meta.cli_terraform_calls ? `; before the app the synth command also runs ${meta.cli_terraform_calls}.` : "."),
  );
}
if (cliProfile) {
  L.push("");
  L.push(
    `CPU profile of the CLI's own process during one \`cdktf synth\` (${Math.round(cliProfile.totalMs)} ms; self time, ` +
      "largest first; the app runs in a child process and is not in it):",
  );
  L.push("");
  L.push("| where | ms |");
  L.push("|---|---:|");
  for (const [k, v] of Object.entries(cliProfile.selfMs).slice(0, 10)) L.push(`| ${k} | ${v} |`);
}
if (cliModules.synth && cliModules.version) {
  const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const v = cliModules.version;
  const sy = cliModules.synth;
  L.push("");
  L.push(
    `Module files the CLI process loads: \`--version\` ${v.files} files, ${mb(v.bytes)}; \`synth\` ${sy.files} files, ` +
      `${mb(sy.bytes)}. Largest packages loaded by \`synth\`:`,
  );
  L.push("");
  L.push("| package | files | size | loaded by `--version` too |");
  L.push("|---|---:|---:|---|");
  for (const [p, st] of Object.entries(sy.byPackage).slice(0, 8)) {
    L.push(`| ${p} | ${st.files} | ${mb(st.bytes)} | ${v.byPackage[p] ? "yes" : "no"} |`);
  }
}
L.push("");
L.push("## 4. Unit tests and type check");
L.push("");
L.push(`| command | wall time (mean ± σ, ${jest.times.length} runs) | min … max | result |`);
L.push("|---|---:|---:|---|");
L.push(`| ${jest.command} | ${pm(jest)} | ${range(jest)} | ${meta.jest_status}${meta.jest_summary ? ` (${meta.jest_summary})` : ""} |`);
L.push(`| ${tsc.command} | ${pm(tsc)} | ${range(tsc)} | ${meta.tsc_status} |`);
L.push("");
L.push("Only the module files at the top of `__tests__/unit/`; the tools' unit files, `__tests__/integration` and `__tests__/e2e` are not run. Jest's transform cache is warm (one untimed run first).");
L.push("");
writeFileSync(mdFile, L.join("\n"));
