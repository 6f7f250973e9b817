#!/usr/bin/env node
// Builds the library (modules/ -> lib/: CommonJS, .d.ts, declaration maps) with tsc. It is the
// package's `prepare` script, so it runs on `npm ci` here, on `npm pack`, on an install by git
// URL and on an install by path with --install-links. In a clean checkout that has no
// node_modules yet (an install by path), it first installs only what the build needs (TypeScript,
// @types/node and the three peers, at the versions package-lock.json pins) instead of every
// devDependency (~400 MB instead of ~1.1 GB, most of it the AWS provider bindings); with a
// node_modules that lacks some of them, it installs the devDependencies with
// `npm ci --ignore-scripts`, the way npm prepares a git dependency.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { inputStamp } from "../shared/input-stamp.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const peers = ["cdktf", "constructs", "@cdktf/provider-aws"];

function run(command, args, what, cwd = root) {
  const r = spawnSync(command, args, { cwd, stdio: "inherit", env: cleanEnv() });
  if (r.status !== 0) {
    process.stderr.write(`error: ${what} failed in ${cwd} (exit ${r.status ?? r.signal}); nothing was built\n`);
    process.exit(1);
  }
}

/** The environment without the npm settings of an outer install (its prefix, its flags). */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(config|lifecycle|package)_/i.test(k)));
}

/** The versions package-lock.json pins for `names`, as `{ name: version }`. */
function pinned(names) {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
  return Object.fromEntries(
    names.map((n) => {
      const version = lock.packages?.[`node_modules/${n}`]?.version;
      if (!version) {
        process.stderr.write(`error: package-lock.json in ${root} pins no version of ${n}; nothing was built\n`);
        process.exit(1);
      }
      return [n, version];
    }),
  );
}

if (!existsSync(tsc) || peers.some((p) => !existsSync(join(root, "node_modules", p, "package.json")))) {
  if (existsSync(join(root, "node_modules"))) {
    process.stdout.write(`preparing the library in ${root}: installing its build tools (npm ci --ignore-scripts)\n`);
    run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], "npm ci --ignore-scripts");
  } else {
    const tools = pinned(["typescript", "@types/node", ...peers]);
    process.stdout.write(`preparing the library in ${root}: installing the build tools only (${Object.entries(tools).map(([n, v]) => `${n}@${v}`).join(", ")})\n`);
    const scratch = mkdtempSync(join(root, ".build-tools-"));
    try {
      writeFileSync(join(scratch, "package.json"), `${JSON.stringify({ private: true, dependencies: tools }, null, 2)}\n`);
      run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock", "--prefer-offline"], "npm install of the build tools", scratch);
      renameSync(join(scratch, "node_modules"), join(root, "node_modules"));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
}
// lib/ built from the same inputs (each source's path, size and modification time, the compiler
// settings, this file, the lock file) is kept: `npm pack` runs this script twice (prepack, and
// prepare on a git or path install) and builds once.
const sources = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
const stamp = inputStamp([...sources(join(root, "modules")), join(root, "tsconfig.lib.json"), fileURLToPath(import.meta.url), join(root, "package-lock.json")]);
const stampFile = join(root, ".lib-build-stamp"); // outside lib/, which the package ships whole
if (process.env.BUILD_FORCE !== "1" && existsSync(join(root, "lib", "index.js")) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) {
  process.stdout.write("lib/ is up to date\n");
  process.exit(0);
}
rmSync(join(root, "lib"), { recursive: true, force: true });
run(process.execPath, [tsc, "-p", "tsconfig.lib.json"], "tsc -p tsconfig.lib.json");
writeFileSync(stampFile, stamp);
const count = (dir) => readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(dir, e.name)) : 1), 0);
process.stdout.write(`built lib/ (${count(join(root, "lib"))} files)\n`);
