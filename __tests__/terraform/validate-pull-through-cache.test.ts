import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { requireTerraform, terraformEnv } from "../../scripts/terraform/env";
import { runApp, tempDir } from "../support/app";
import { docsPullThroughExample } from "../support/pull-through-cache";

const run = promisify(execFile);

/**
 * moto has no ECR pull-through cache, so the cache is never deployed locally: the real-account
 * example of docs/environments.md (an owner whose projects pull through the cache) is
 * synthesized by the app and must be valid Terraform for the real hashicorp/aws provider.
 */
describe("the pull-through cache example of docs/environments.md passes terraform validate", () => {
  const dir = tempDir("tf-validate-ptc");
  const outdir = path.join(dir, "cdktf.out");
  const env = terraformEnv(path.join(dir, "tfconfig"));
  let stacks: string[] = [];

  beforeAll(() => {
    requireTerraform(env);
    const config = path.join(dir, "environments.json");
    fs.writeFileSync(config, JSON.stringify(docsPullThroughExample()));
    const result = runApp({ CONFIG_FILE: config, ENVIRONMENTS: "all", CDKTF_OUTDIR: outdir });
    if (result.status !== 0) throw new Error(`synth failed: ${result.stderr}`);
    stacks = fs.readdirSync(path.join(outdir, "stacks")).sort();
  });

  test("the app synthesized the owner's stack with the cache rules", () => {
    expect(stacks).toEqual(["tools-eu-west-1"]);
    const json = JSON.parse(fs.readFileSync(path.join(outdir, "stacks", "tools-eu-west-1", "cdk.tf.json"), "utf8"));
    expect(Object.values(json.resource.aws_ecr_pull_through_cache_rule).map((r: any) => r.upstream_registry_url).sort()).toEqual(["public.ecr.aws", "registry-1.docker.io"]);
  });

  test("terraform init and validate succeed", async () => {
    const cwd = path.join(outdir, "stacks", "tools-eu-west-1");
    await run("terraform", ["init", "-backend=false", "-input=false", "-no-color"], { cwd, env });
    const { stdout } = await run("terraform", ["validate", "-json", "-no-color"], { cwd, env });
    const report = JSON.parse(stdout);
    expect({ valid: report.valid, errors: report.error_count, diagnostics: report.diagnostics }).toEqual({ valid: true, errors: 0, diagnostics: [] });
  });
});
