#!/usr/bin/env node
// Compiles the TypeScript to dist/ as CommonJS with esbuild (no type check: `npm run typecheck`
// does that): one file per source for the scripts and tests, plus the single-file app bundle
// dist/main.bundle.js that cdktf.json runs through scripts/app/synth.js.
// Every `npm run <command>` runs it first, so it does nothing when dist/ was built from the same
// inputs (each source's path, size and modification time, this file, package-lock.json: a stamp in
// dist/.build-stamp), as make would; BUILD_FORCE=1 builds anyway.
import { build } from "esbuild";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { inputStamp } from "../shared/input-stamp.mjs";

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

const stampFile = join(root, "dist", ".build-stamp");
const stamp = inputStamp([...entryPoints, fileURLToPath(import.meta.url), join(root, "package-lock.json")]);
const upToDate = () => process.env.BUILD_FORCE !== "1" && existsSync(join(root, "dist", "main.bundle.js")) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp;
if (upToDate()) process.exit(0);
// A build that fails or is interrupted leaves no stamp: the next command builds again.
rmSync(stampFile, { force: true });

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
writeFileSync(stampFile, stamp);
