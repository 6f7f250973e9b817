import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../../support/app";

/** scripts/library/pack-manifest.mjs, npm's prepack/postpack: the packed package.json without scripts, the full one back after. */
const SCRIPT = path.join(ROOT, "scripts", "library", "pack-manifest.mjs");
const MANIFEST = `${JSON.stringify({ name: "x", version: "1.0.0", scripts: { prepare: "node build.mjs" }, files: ["lib/"] }, null, 2)}\n`;
const run = (dir: string, step: string) => spawnSync(process.execPath, [SCRIPT, step], { cwd: dir, encoding: "utf8" });

test("prepack writes package.json without scripts and keeps the full one; postpack puts it back byte for byte", () => {
  const dir = tempDir("pack-manifest");
  fs.writeFileSync(path.join(dir, "package.json"), MANIFEST);
  expect(run(dir, "prepack").status).toBe(0);
  expect(JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"))).toEqual({ name: "x", version: "1.0.0", files: ["lib/"] });
  expect(run(dir, "postpack").status).toBe(0);
  expect(fs.readFileSync(path.join(dir, "package.json"), "utf8")).toBe(MANIFEST);
  expect(fs.readdirSync(dir)).toEqual(["package.json"]);
});

test("after an interrupted pack, the next prepack stops with how to restore, and the saved full manifest is untouched", () => {
  const dir = tempDir("pack-manifest-interrupted");
  fs.writeFileSync(path.join(dir, "package.json"), MANIFEST);
  run(dir, "prepack");
  const r = run(dir, "prepack");
  expect({ status: r.status, stderr: r.stderr }).toEqual({
    status: 1,
    stderr: "error: a pack was interrupted: the full package.json is in .package.json.prepack; restore it with: mv .package.json.prepack package.json\n",
  });
  expect(fs.readFileSync(path.join(dir, ".package.json.prepack"), "utf8")).toBe(MANIFEST);
  expect(run(dir, "other")).toMatchObject({ status: 2, stderr: 'error: pack-manifest.mjs "other": give prepack or postpack\n' });
});
