import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { scratchCopy } from "../../support/scratch";
import { shippedConfig } from "../../support/environments";
import type { StackInfo } from "../../../scripts/stacks/list";
import { cleanEnv, runScript as run } from "../../support/stacks-cli";

/**
 * In a scratch copy of the project: npm run -s atlantis-config --check fails on a stale
 * atlantis.yaml and the write makes it current; the cdktf workflow's first plan step, run in a
 * project's folder as Atlantis runs it, replaces that stack's files only.
 */

const config = shippedConfig();
const pulls: [string, string][] = Object.keys(config.environments)
  .filter((n) => config.environments[n].pullFrom)
  .map((n) => [n, config.environments[n].pullFrom]);

function stacksJsonIn(dir: string): StackInfo[] {
  const r = run(path.join(dir, "dist", "scripts", "stacks", "stacks.js"), ["--json"], { ENVIRONMENTS: "all" }, dir);
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

describe("atlantis.yaml in a scratch copy", () => {
  it("--check fails on a stale file, the write makes it current, and the workflow's synth step refreshes one stack's folder only", () => {
    const dir = scratchCopy("atlantis-config");
    try {
      expect(spawnSync(process.execPath, ["scripts/app/build.mjs"], { cwd: dir, encoding: "utf8" }).status).toBe(0);
      const script = path.join(dir, "dist", "scripts", "atlantis", "atlantis-config.js");
      const configFile = path.join(dir, "config", "environments.json");
      const cfg = JSON.parse(fs.readFileSync(configFile, "utf8"));
      const [consumer] = pulls[0];
      cfg.environments[consumer].regions = [...cfg.environments[consumer].regions, "ap-south-1"];
      fs.writeFileSync(configFile, JSON.stringify(cfg, null, 2));
      const stale = run(script, ["--check"], {}, dir);
      expect(stale.stderr).toBe(`error: atlantis.yaml is stale (${path.join(dir, "atlantis.yaml")}): regenerate it with npm run -s atlantis-config and commit it\n`);
      expect(stale.status).toBe(1);
      expect(run(script, ["--stdout", "--check"], {}, dir).stderr).toBe("error: give at most one of --stdout and --check (got --stdout --check)\n");
      const written = run(script, [], {}, dir);
      expect(written.status).toBe(0);
      expect(written.stderr).toBe(`wrote atlantis.yaml: ${stacksJsonIn(dir).length} project(s)\n`);
      expect(fs.readFileSync(path.join(dir, "atlantis.yaml"), "utf8")).toContain(`name: ${consumer}-ap-south-1`);
      expect(run(script, ["--check"], {}, dir).status).toBe(0);

      // The workflow's first plan step, run in a project's folder as Atlantis does.
      expect(spawnSync(process.execPath, ["scripts/app/synth.js"], { cwd: dir, env: cleanEnv({ ENVIRONMENTS: "all" }), encoding: "utf8" }).status).toBe(0);
      const stackDir = path.join(dir, "cdktf.out", "stacks", `${consumer}-ap-south-1`);
      const fresh = fs.readFileSync(path.join(stackDir, "cdk.tf.json"), "utf8");
      fs.writeFileSync(path.join(stackDir, "cdk.tf.json"), "{}");
      fs.mkdirSync(path.join(stackDir, ".terraform"));
      fs.writeFileSync(path.join(stackDir, ".terraform", "kept"), "x");
      fs.writeFileSync(path.join(stackDir, "default.tfplan"), "plan");
      const other = path.join(dir, "cdktf.out", "stacks", `${pulls[0][1]}-${cfg.environments[pulls[0][1]].regions[0]}`, "cdk.tf.json");
      fs.writeFileSync(other, "other");
      const step = spawnSync("sh", ["-c", 'node ../../../dist/scripts/atlantis/synth-project.js "$PROJECT_NAME"'], { cwd: stackDir, env: cleanEnv({ PROJECT_NAME: `${consumer}-ap-south-1` }), encoding: "utf8" });
      expect(step.stderr).toContain(`synthesized ${consumer}-ap-south-1 (environment ${consumer}) into cdktf.out/stacks/${consumer}-ap-south-1`);
      expect(step.status).toBe(0);
      expect(fs.readFileSync(path.join(stackDir, "cdk.tf.json"), "utf8")).toBe(fresh);
      expect(fs.readFileSync(path.join(stackDir, ".terraform", "kept"), "utf8")).toBe("x");
      expect(fs.readFileSync(path.join(stackDir, "default.tfplan"), "utf8")).toBe("plan");
      expect(fs.readFileSync(other, "utf8")).toBe("other");
      const unknown = spawnSync(process.execPath, [path.join(dir, "dist", "scripts", "atlantis", "synth-project.js"), "nope"], { cwd: dir, env: cleanEnv(), encoding: "utf8" });
      expect(unknown.stderr).toMatch(/^error: stack "nope" is not a stack of the environments file \(known: [^\n]*\): regenerate atlantis.yaml with npm run -s atlantis-config\n$/);
      expect(unknown.status).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
