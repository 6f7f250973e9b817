#!/usr/bin/env node
// The app cdktf.json runs (`cdktf synth` / `cdktf deploy`). One Node process: it rebuilds the
// single-file bundle dist/main.bundle.js with esbuild only when a source is newer (a few ms of
// stat calls otherwise), then runs it. Bundling the app with cdktf and the few provider classes
// it uses saves Node resolving and reading hundreds of files at every synth.
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..", "..");
const bundle = path.join(root, "dist", "main.bundle.js");
// Everything main.ts bundles: its folders, and the one tool module it uses (the local-endpoint guard).
const SOURCES = ["main.ts", "modules", "stacks", "config", "package-lock.json"];

function newestMtime(p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  return fs.readdirSync(p).reduce((m, name) => Math.max(m, newestMtime(path.join(p, name))), st.mtimeMs);
}

/** Builds the bundle when it is missing or older than any source. */
function ensureBundle() {
  let built = 0;
  try {
    built = fs.statSync(bundle).mtimeMs;
  } catch {
    // missing: build it
  }
  const newest = Math.max(...SOURCES.map((s) => newestMtime(path.join(root, s))));
  if (built >= newest) return;
  require("esbuild").buildSync({
    entryPoints: [path.join(root, "main.ts")],
    bundle: true,
    outfile: bundle,
    format: "cjs",
    platform: "node",
    target: "node20",
    // As in scripts/app/build.mjs: jsonc-parser's UMD "main" does not bundle, its ES module build does.
    alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" },
    logLevel: "warning",
  });
}

const USAGE = `Usage: npm run synth [-- --help]

Checks the whole environments file, then synthesizes one stack per (environment, region) of the
selected environments into the output folder, replacing it only when everything succeeded.
Prints every construct warning ("warning: ..."); on a problem prints one "error: ..." line each,
writes nothing and exits 1. cdktf.json runs this app for \`cdktf synth\` and \`cdktf deploy\`.

Environment variables:
  ENVIRONMENTS          comma-separated environment names, or all
                        (default: every environment with "local": true)
  CONFIG_FILE           the environments file, JSON with // and /* */ comments
                        (default: config/environments.json)
  CDKTF_OUTDIR          the output folder (default: cdktf.out)
  AWS_ENDPOINT_URL      the local AWS endpoint of local environments (default: http://127.0.0.1:5000)
  ALLOW_LOCAL_ENDPOINT  1: synthesize real environments although AWS_ENDPOINT_URL(_<SERVICE>) is set`;

/** "help", or nothing to parse: the app takes its settings from the environment only. */
function parseArgs(argv) {
  if (argv.includes("--help") || argv.includes("-h")) return "help";
  if (argv.length > 0) {
    throw new Error(`unknown argument(s): ${argv.join(" ")} (the settings are environment variables: npm run synth -- --help)`);
  }
  return undefined;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`error: ${e.message}\n`);
  process.exit(2);
}
if (args === "help") {
  process.stdout.write(`${USAGE}\n`);
} else {
  ensureBundle();
  process.exitCode = require(bundle).main();
}
