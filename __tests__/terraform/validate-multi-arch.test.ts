import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { requireTerraform, terraformEnv } from "../../scripts/terraform/env";
import { runApp, tempDir } from "../support/app";
import { docsMultiArchExample } from "../support/multi-arch";

const run = promisify(execFile);

/**
 * moto has no CodeBuild batch builds, so a multi-arch project is never deployed locally: the
 * real-account example of docs/modules.md (build.platforms) is synthesized by the app and must
 * be valid Terraform for the real hashicorp/aws provider (build_batch_config included).
 */
describe("the multi-arch example of docs/modules.md passes terraform validate", () => {
  const dir = tempDir("tf-validate-multiarch");
  const outdir = path.join(dir, "cdktf.out");
  const env = terraformEnv(path.join(dir, "tfconfig"));
  let stacks: string[] = [];

  beforeAll(() => {
    requireTerraform(env);
    const config = path.join(dir, "environments.json");
    fs.writeFileSync(config, JSON.stringify(docsMultiArchExample()));
    const result = runApp({ CONFIG_FILE: config, ENVIRONMENTS: "all", CDKTF_OUTDIR: outdir });
    if (result.status !== 0) throw new Error(`synth failed: ${result.stderr}`);
    stacks = fs.readdirSync(path.join(outdir, "stacks")).sort();
  });

  test("the app synthesized the stack with the batch build project", () => {
    expect(stacks).toEqual(["tools-eu-west-1"]);
    const json = JSON.parse(fs.readFileSync(path.join(outdir, "stacks", "tools-eu-west-1", "cdk.tf.json"), "utf8"));
    const projects = Object.values(json.resource.aws_codebuild_project) as any[];
    expect(projects.filter((p) => p.build_batch_config !== undefined).map((p) => p.name)).toEqual(["acme-app"]);
  });

  test("terraform init and validate succeed", async () => {
    const cwd = path.join(outdir, "stacks", "tools-eu-west-1");
    await run("terraform", ["init", "-backend=false", "-input=false", "-no-color"], { cwd, env });
    const { stdout } = await run("terraform", ["validate", "-json", "-no-color"], { cwd, env });
    const report = JSON.parse(stdout);
    expect({ valid: report.valid, errors: report.error_count, diagnostics: report.diagnostics }).toEqual({ valid: true, errors: 0, diagnostics: [] });
  });
});
