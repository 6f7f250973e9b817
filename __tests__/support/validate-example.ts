import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { requireTerraform, terraformEnv } from "../../scripts/terraform/env";
import { runApp, tempDir } from "./app";

const run = promisify(execFile);

/**
 * A real-account example of the docs (one that moto cannot deploy), synthesized by the app from
 * `config` and checked with `terraform init -backend=false` + `terraform validate` against the
 * real hashicorp/aws provider. `check` looks at the synthesized stack first.
 */
export function describeValidatedExample(title: string, config: unknown, stack: string, check: { readonly name: string; readonly test: (json: any) => void }): void {
  describe(title, () => {
    const dir = tempDir("tf-validate-example");
    const outdir = path.join(dir, "cdktf.out");
    const env = terraformEnv(path.join(dir, "tfconfig"));
    let stacks: string[] = [];

    beforeAll(() => {
      requireTerraform(env);
      const file = path.join(dir, "environments.json");
      fs.writeFileSync(file, JSON.stringify(config));
      const result = runApp({ CONFIG_FILE: file, ENVIRONMENTS: "all", CDKTF_OUTDIR: outdir });
      if (result.status !== 0) throw new Error(`synth failed: ${result.stderr}`);
      stacks = fs.readdirSync(path.join(outdir, "stacks")).sort();
    });

    test(check.name, () => {
      expect(stacks).toEqual([stack]);
      check.test(JSON.parse(fs.readFileSync(path.join(outdir, "stacks", stack, "cdk.tf.json"), "utf8")));
    });

    test("terraform init and validate succeed", async () => {
      const cwd = path.join(outdir, "stacks", stack);
      await run("terraform", ["init", "-backend=false", "-input=false", "-no-color"], { cwd, env });
      const { stdout } = await run("terraform", ["validate", "-json", "-no-color"], { cwd, env });
      const report = JSON.parse(stdout);
      expect({ valid: report.valid, errors: report.error_count, diagnostics: report.diagnostics }).toEqual({ valid: true, errors: 0, diagnostics: [] });
    });
  });
}
