import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Testing, TerraformStack } from "cdktf";
import { createTempRoot, leftBehind, removeTempRoot, SHARED_TEMP, snapshotBase, TEMP_ROOT_PREFIX, TEMP_ROOT_VARIABLE } from "../../support/temp-root";

describe("the per-run temporary folder", () => {
  test("this run's os.tmpdir() is a folder of its own, not the system temp folder", () => {
    const root = process.env[TEMP_ROOT_VARIABLE];
    expect(root).toBeDefined();
    expect(path.basename(root!)).toMatch(new RegExp(`^${TEMP_ROOT_PREFIX}`));
    expect(os.tmpdir()).toBe(root);
  });

  test("cdktf's Testing.synth writes its cdktf.outdir.* inside it", () => {
    const before = new Set(fs.readdirSync(os.tmpdir()));
    Testing.fullSynth(new TerraformStack(Testing.app(), "probe"));
    const made = fs.readdirSync(os.tmpdir()).filter((n) => !before.has(n));
    expect(made.some((n) => n.startsWith("cdktf.outdir"))).toBe(true);
  });

  test("removeTempRoot deletes the folder with everything in it, read-only files included", () => {
    const env: NodeJS.ProcessEnv = {};
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "temp-root-"));
    const dir = createTempRoot(env, base);
    expect(env.TMPDIR).toBe(dir);
    fs.mkdirSync(path.join(dir, "cdktf.outdir.x", "deep"), { recursive: true });
    const ro = path.join(dir, "cdktf.outdir.x", "deep", "ro.txt");
    fs.writeFileSync(ro, "x");
    fs.chmodSync(ro, 0o444);
    fs.chmodSync(path.dirname(ro), 0o555);
    removeTempRoot(env);
    expect(fs.existsSync(dir)).toBe(false);
    fs.rmSync(base, { recursive: true, force: true });
  });

  test("removeTempRoot leaves a folder that is not a run's temp root alone", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "not-a-root-"));
    removeTempRoot({ [TEMP_ROOT_VARIABLE]: dir });
    expect(fs.existsSync(dir)).toBe(true);
    fs.rmSync(dir, { recursive: true });
  });

  test("leftBehind names the run's folder while it exists, and what is new in a private TMPDIR", () => {
    // GIVEN a private temp folder with an entry from before the run, and the run's folder in it
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "private-tmpdir-"));
    fs.writeFileSync(path.join(base, "old"), "");
    const snapshot = snapshotBase(base);
    const env: NodeJS.ProcessEnv = {};
    const root = createTempRoot(env, base);
    // WHEN the run leaves a file beside its folder, and its folder
    fs.writeFileSync(path.join(base, "stray"), "");
    // THEN both are named, the old entry is not
    expect(leftBehind(snapshot, env).sort()).toEqual([root, path.join(base, "stray")].sort());
    // AND after the folder is removed and the stray file too, nothing is left
    removeTempRoot(env);
    fs.rmSync(path.join(base, "stray"));
    expect(leftBehind(snapshot, env)).toEqual([]);
    fs.rmSync(base, { recursive: true });
  });

  test("leftBehind ignores what others write in the shared /tmp", () => {
    expect(leftBehind({ dir: SHARED_TEMP, before: [] }, {})).toEqual([]);
  });

  test("jest keeps its caches in node_modules/.cache/jest, not in the temp folder it starts in", () => {
    // jest's default cacheDirectory is <TMPDIR>/jest_<uid>, made before globalSetup runs.
    const jest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "package.json"), "utf8")).jest;
    for (const config of [jest, ...jest.projects]) expect(config.cacheDirectory).toBe("<rootDir>/node_modules/.cache/jest");
  });
});
