import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "./support/app";
import { shippedLocalStacks } from "./support/environments";

/** cdktf.json's app: `node scripts/app/synth.js`, the bundled app that `cdktf synth` runs. */
describe("cdktf.json's app (scripts/app/synth.js)", () => {
  const bundle = path.join(ROOT, "dist", "main.bundle.js");
  const run = (outdir: string) =>
    spawnSync(process.execPath, [path.join(ROOT, "scripts", "app", "synth.js")], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: outdir, ENVIRONMENTS: undefined, CONFIG_FILE: undefined, AWS_ENDPOINT_URL: undefined },
      encoding: "utf8",
    });

  test("is what cdktf.json runs", () => {
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, "cdktf.json"), "utf8")).app).toBe("node scripts/app/synth.js");
  });

  test("writes the same stacks as the unbundled entry point", () => {
    const dir = tempDir("synth-app");
    const a = run(path.join(dir, "bundled"));
    const b = spawnSync(process.execPath, [path.join(ROOT, "dist", "main.js")], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: path.join(dir, "plain"), ENVIRONMENTS: undefined, CONFIG_FILE: undefined, AWS_ENDPOINT_URL: undefined },
      encoding: "utf8",
    });
    expect([a.status, b.status]).toEqual([0, 0]);
    const stacks = (v: string) => fs.readdirSync(path.join(dir, v, "stacks")).sort();
    // The default: every stack of the shipped local organization.
    expect(stacks("bundled")).toEqual([...shippedLocalStacks()].sort());
    expect(stacks("plain")).toEqual(stacks("bundled"));
    for (const stack of stacks("bundled")) {
      const read = (v: string) => fs.readFileSync(path.join(dir, v, "stacks", stack, "cdk.tf.json"), "utf8");
      expect(read("bundled")).toBe(read("plain"));
    }
  });

  test("rebuilds the bundle when a source is newer, and only then", () => {
    const dir = tempDir("synth-app");
    expect(run(path.join(dir, "1")).status).toBe(0);
    const before = fs.statSync(bundle).mtimeMs;
    expect(run(path.join(dir, "2")).status).toBe(0);
    expect(fs.statSync(bundle).mtimeMs).toBe(before);
    const source = path.join(ROOT, "stacks", "index.ts");
    const now = new Date();
    fs.utimesSync(source, now, new Date(before + 1000));
    expect(run(path.join(dir, "3")).status).toBe(0);
    expect(fs.statSync(bundle).mtimeMs).toBeGreaterThan(before);
  });

  test("exits 1 with the error lines on a bad config, like the entry point", () => {
    const dir = tempDir("synth-app");
    fs.writeFileSync(path.join(dir, "env.json"), JSON.stringify({ environments: {} }));
    const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "app", "synth.js")], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: path.join(dir, "out"), CONFIG_FILE: path.join(dir, "env.json") },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("must declare at least one environment");
    expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
  });
});
