#!/usr/bin/env node
// Compiles the TypeScript to dist/ as CommonJS with esbuild (no type check: `npm run typecheck`
// does that): one file per source for the scripts and tests, plus the single-file app bundle
// dist/main.bundle.js that cdktf.json runs through scripts/app/synth.js.
import { build } from "esbuild";
import { readdirSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SOURCE_DIRS = ["modules", "stacks", "config", "scripts"];

function tsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
  });
}

const entryPoints = [join(root, "main.ts"), ...SOURCE_DIRS.flatMap((d) => tsFiles(join(root, d)))];
await build({
  entryPoints,
  outdir: join(root, "dist"),
  outbase: root,
  format: "cjs",
  platform: "node",
  target: "node20",
  sourcemap: "inline",
  logLevel: "warning",
});
await build({
  entryPoints: [join(root, "main.ts")],
  bundle: true,
  outfile: join(root, "dist", "main.bundle.js"),
  format: "cjs",
  platform: "node",
  target: "node20",
  // jsonc-parser's "main" is a UMD build whose require calls a bundler cannot follow; its ES
  // module build bundles.
  alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" },
  logLevel: "warning",
});
