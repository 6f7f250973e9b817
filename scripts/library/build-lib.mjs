#!/usr/bin/env node
// Builds the library (modules/ -> lib/: CommonJS, .d.ts, declaration maps) with tsc. It is the
// package's `prepare` script, so it runs on `npm ci` here, on `npm pack`, on an install by git
// URL and on an install by path with --install-links. In a clean checkout that has no
// node_modules yet (an install by path), it first installs the build tools with
// `npm ci --ignore-scripts`, the way npm prepares a git dependency.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const peers = ["cdktf", "constructs", "@cdktf/provider-aws"];

function run(command, args, what) {
  const r = spawnSync(command, args, { cwd: root, stdio: "inherit", env: cleanEnv() });
  if (r.status !== 0) {
    process.stderr.write(`error: ${what} failed in ${root} (exit ${r.status ?? r.signal}); nothing was built\n`);
    process.exit(1);
  }
}

/** The environment without the npm settings of an outer install (its prefix, its flags). */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(config|lifecycle|package)_/i.test(k)));
}

if (!existsSync(tsc) || peers.some((p) => !existsSync(join(root, "node_modules", p, "package.json")))) {
  process.stdout.write(`preparing the library in ${root}: installing its build tools (npm ci --ignore-scripts)\n`);
  run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], "npm ci --ignore-scripts");
}
rmSync(join(root, "lib"), { recursive: true, force: true });
run(process.execPath, [tsc, "-p", "tsconfig.lib.json"], "tsc -p tsconfig.lib.json");
const count = (dir) => readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(dir, e.name)) : 1), 0);
process.stdout.write(`built lib/ (${count(join(root, "lib"))} files)\n`);
