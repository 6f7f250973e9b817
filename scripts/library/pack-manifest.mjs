#!/usr/bin/env node
// The package.json of the packed library carries no `scripts`: they name files of this repository
// that the tarball does not ship (npm warns about them on install). npm runs `prepack` before it
// packs (and before `prepare`, which the trimmed manifest no longer names: prepack builds lib/
// first) and `postpack` after: prepack saves package.json as it is and writes it without scripts,
// postpack puts the saved one back. An interrupted pack leaves the saved copy, and the next pack
// stops with how to restore it rather than saving the trimmed file over it.
//   node scripts/library/pack-manifest.mjs prepack|postpack
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const MANIFEST = "package.json";
const SAVED = ".package.json.prepack";
const step = process.argv[2];

if (step === "prepack") {
  if (existsSync(SAVED)) {
    console.error(`error: a pack was interrupted: the full package.json is in ${SAVED}; restore it with: mv ${SAVED} ${MANIFEST}`);
    process.exit(1);
  }
  const text = readFileSync(MANIFEST, "utf8");
  const { scripts: _scripts, ...packed } = JSON.parse(text);
  writeFileSync(SAVED, text);
  writeFileSync(MANIFEST, `${JSON.stringify(packed, null, 2)}\n`);
} else if (step === "postpack") {
  if (existsSync(SAVED)) renameSync(SAVED, MANIFEST);
} else {
  console.error(`error: pack-manifest.mjs ${JSON.stringify(step ?? "")}: give prepack or postpack`);
  process.exit(2);
}
