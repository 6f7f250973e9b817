#!/usr/bin/env node
// Summarizes the per-file CPU log that `SUITE_CPU_LOG=<file> npm test` writes
// (__tests__/support/file-cpu.ts): one row per test file, most expensive first, and the sum by tier.
// Usage: node bench/suite-cpu.mjs <log> [--top N]
import { readFileSync } from "node:fs";

const [logPath, ...rest] = process.argv.slice(2);
if (!logPath) {
  console.error("usage: node bench/suite-cpu.mjs <log written by SUITE_CPU_LOG=<log> npm test> [--top N]");
  process.exit(2);
}
const top = rest[0] === "--top" ? Number(rest[1]) : Infinity;
const samples = readFileSync(logPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const byPid = new Map();
for (const s of samples) (byPid.get(s.pid) ?? byPid.set(s.pid, []).get(s.pid)).push(s);
const rows = [];
for (const list of byPid.values()) {
  list.sort((a, b) => a.time - b.time || (a.at === "start" ? -1 : 1));
  const starts = list.filter((s) => s.at === "start");
  starts.forEach((s, i) => {
    const next = starts[i + 1] ?? list.filter((e) => e.at === "end" && e.file === s.file).pop();
    if (!next) return;
    rows.push({ file: s.file, cpu: next.user + next.system - s.user - s.system, user: next.user - s.user, system: next.system - s.system, wall: (next.time - s.time) / 1000 });
  });
}
// A file can show up twice in one worker (its setup evaluated again): its rows are added up.
const merged = new Map();
for (const r of rows) {
  const m = merged.get(r.file);
  if (m) for (const k of ["cpu", "user", "system", "wall"]) m[k] += r[k];
  else merged.set(r.file, { ...r });
}
rows.length = 0;
rows.push(...merged.values());
rows.sort((a, b) => b.cpu - a.cpu);
const fmt = (n) => n.toFixed(1).padStart(7);
console.log("   CPU-s    user  system    wall  file");
for (const r of rows.slice(0, top)) console.log(`${fmt(r.cpu)} ${fmt(r.user)} ${fmt(r.system)} ${fmt(r.wall)}  ${r.file}`);
const tiers = {};
for (const r of rows) {
  const tier = /__tests__\/([^/]+)\//.exec(r.file)?.[1] ?? "other";
  tiers[tier] = (tiers[tier] ?? 0) + r.cpu;
}
console.log("\nby tier: " + Object.entries(tiers).map(([t, c]) => `${t} ${c.toFixed(0)}`).join(", ") + `; files ${rows.length}; sum ${rows.reduce((a, r) => a + r.cpu, 0).toFixed(0)} CPU-s`);
