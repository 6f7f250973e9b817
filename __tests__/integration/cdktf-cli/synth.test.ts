import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../../support/app";
import { fixedTagWarning, writeFixedTagConfig } from "../../support/environments";

/** The archived cdktf CLI running cdktf.json's app: slower (about 2 s per run), so not a unit test. */

describe("cdktf synth (the cdktf CLI running cdktf.json's app)", () => {
  const cdktf = (outdir: string, env: Record<string, string | undefined>) =>
    spawnSync(path.join(ROOT, "node_modules", ".bin", "cdktf"), ["synth", "--output", outdir], {
      cwd: ROOT,
      env: { ...process.env, CHECKPOINT_DISABLE: "1", ENVIRONMENTS: undefined, CONFIG_FILE: undefined, AWS_ENDPOINT_URL: undefined, CI: "1", ...env },
      encoding: "utf8",
    });

  test("succeeds at once when a stack of the previous output is gone (no ENOENT from the CLI's clean-up)", () => {
    // GIVEN an output of every local stack
    const outdir = path.join(tempDir("cdktf-synth"), "out");
    expect(cdktf(outdir, {}).status).toBe(0);

    // WHEN one environment only is synthesized into it
    const r = cdktf(outdir, { ENVIRONMENTS: "local-staging" });

    // THEN the first run succeeds and the other stacks are gone
    expect({ status: r.status, enoent: /ENOENT/.test(r.stdout + r.stderr) }).toEqual({ status: 0, enoent: false });
    expect(fs.readdirSync(path.join(outdir, "stacks"))).toEqual(["local-staging-eu-central-1"]);
  });

  test("shows each construct warning once", () => {
    const dir = tempDir("cdktf-synth");
    const r = cdktf(path.join(dir, "out"), { CONFIG_FILE: writeFixedTagConfig(dir) });
    expect(r.status).toBe(0);
    const output = r.stdout + r.stderr;
    expect([output.split(fixedTagWarning("latest")).length - 1, output.split(fixedTagWarning("dind-latest")).length - 1]).toEqual([1, 1]);
  });
});
