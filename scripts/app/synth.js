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
    logLevel: "warning",
  });
}

ensureBundle();
process.exitCode = require(bundle).main();
