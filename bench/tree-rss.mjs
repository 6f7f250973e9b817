#!/usr/bin/env node
// Runs a command and measures it with its whole process tree: wall time, and the peak of the
// total RSS of the command and every process descended from it (read from /proc every
// INTERVAL ms; a process that lives shorter than one interval can be missed). Also the peak
// number of processes in the tree and of `terraform` processes among them (terraform and its
// provider plugins, whose names start with "terraform"), and the lowest MemAvailable of the
// machine while it ran. When MemAvailable drops below --min-available-mib the whole tree is
// stopped (SIGTERM to its process group, SIGKILL 5 s later) and the result says so.
//
// Linux only. RSS counts shared pages once per process (as `ps` does), so the total is an upper
// bound of the memory the tree really takes.
//
// Usage: node bench/tree-rss.mjs [--interval MS] [--min-available-mib MIB] [--json FILE] -- COMMAND [ARG…]
//   --interval MS           how often /proc is read (default 200)
//   --min-available-mib N   stop the command when MemAvailable falls below N MiB (default 0: never)
//   --json FILE             write the result as JSON there (else to stdout)
// The command's stdout and stderr pass through; this tool's exit code is the command's (128 + signal
// number when it was killed).
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { constants } from "node:os";

const PAGE = 4096;

function usage(problem) {
  process.stderr.write(`${problem}\nusage: node bench/tree-rss.mjs [--interval MS] [--min-available-mib MIB] [--json FILE] -- COMMAND [ARG…]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let interval = 200;
let minAvailableMiB = 0;
let jsonFile;
while (args.length && args[0] !== "--") {
  const flag = args.shift();
  const value = args.shift();
  if (value === undefined) usage(`${flag} needs a value`);
  if (flag === "--interval") interval = Number(value);
  else if (flag === "--min-available-mib") minAvailableMiB = Number(value);
  else if (flag === "--json") jsonFile = value;
  else usage(`unknown flag ${flag}`);
}
if (args.shift() !== "--" || !args.length) usage("no command given (put it after --)");
if (!(interval >= 10) || !(minAvailableMiB >= 0)) usage("--interval must be ≥ 10 and --min-available-mib ≥ 0");

/** pid → { ppid, rss (bytes), comm } of every process readable now. */
function processes() {
  const all = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid … : comm may hold spaces and parentheses, so split after the last ")".
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    // fields[0] is field 3 (state): ppid is field 4, rss (pages) field 24.
    all.set(Number(entry), { ppid: Number(fields[1]), rss: Number(fields[21]) * PAGE, comm });
  }
  return all;
}

function memAvailableMiB() {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Total RSS, process count and terraform count of `root` and its descendants. */
function tree(root) {
  const all = processes();
  const children = new Map();
  for (const [pid, p] of all) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  let rss = 0;
  let count = 0;
  let terraform = 0;
  const todo = all.has(root) ? [root] : [];
  while (todo.length) {
    const pid = todo.pop();
    const p = all.get(pid);
    rss += p.rss;
    count += 1;
    if (p.comm.startsWith("terraform")) terraform += 1;
    todo.push(...(children.get(pid) ?? []));
  }
  return { rss, count, terraform };
}

const started = process.hrtime.bigint();
const child = spawn(args[0], args.slice(1), { stdio: "inherit", detached: true });
const result = {
  command: args,
  intervalMs: interval,
  minAvailableMiBLimit: minAvailableMiB,
  samples: 0,
  peakRssBytes: 0,
  peakRssMiB: 0,
  peakProcesses: 0,
  peakTerraform: 0,
  minMemAvailableMiB: memAvailableMiB(),
  aborted: false,
};
let killTimer;

function stopTree(signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function sample() {
  const t = tree(child.pid);
  result.samples += 1;
  if (t.rss > result.peakRssBytes) result.peakRssBytes = t.rss;
  result.peakProcesses = Math.max(result.peakProcesses, t.count);
  result.peakTerraform = Math.max(result.peakTerraform, t.terraform);
  const available = memAvailableMiB();
  result.minMemAvailableMiB = Math.min(result.minMemAvailableMiB, available);
  if (minAvailableMiB > 0 && available < minAvailableMiB && !result.aborted) {
    result.aborted = true;
    result.abortReason = `MemAvailable ${Math.round(available)} MiB < ${minAvailableMiB} MiB after ${((Number(process.hrtime.bigint() - started) / 1e9)).toFixed(1)} s: stopped the command`;
    process.stderr.write(`tree-rss: ${result.abortReason}\n`);
    stopTree("SIGTERM");
    killTimer = setTimeout(() => stopTree("SIGKILL"), 5000);
  }
}

const timer = setInterval(sample, interval);
sample();
// Passed on to the whole tree, and SIGKILL 5 s later if it is still there.
for (const s of ["SIGINT", "SIGTERM"]) {
  process.on(s, () => {
    stopTree(s);
    clearTimeout(killTimer);
    killTimer = setTimeout(() => stopTree("SIGKILL"), 5000);
  });
}

child.on("exit", (code, signal) => {
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(timer);
  clearTimeout(killTimer);
  // Whatever the command left behind in its process group goes too.
  stopTree("SIGKILL");
  result.wallSeconds = Number(wall.toFixed(3));
  result.peakRssMiB = Math.round(result.peakRssBytes / 1048576);
  result.minMemAvailableMiB = Math.round(result.minMemAvailableMiB);
  result.exitCode = code;
  result.signal = signal;
  const text = `${JSON.stringify(result, null, 2)}\n`;
  if (jsonFile) writeFileSync(jsonFile, text);
  else process.stdout.write(text);
  process.stderr.write(`tree-rss: ${wall.toFixed(1)} s wall, peak total RSS ${result.peakRssMiB} MiB (${result.peakProcesses} processes, ${result.peakTerraform} terraform), exit ${code ?? signal}\n`);
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
