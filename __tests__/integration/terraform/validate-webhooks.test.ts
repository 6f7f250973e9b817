import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { requireTerraform, terraformEnv } from "../../../scripts/terraform/env";
import { runApp, tempDir } from "../../support/app";
import { docsExample } from "../../support/webhooks";

/**
 * The `triggers` example of docs/environments.md through the real entry point and the real
 * provider: it synthesizes (two webhooks, the pull request project) and passes
 * `terraform validate`; moto has no webhooks, so this is their check.
 */
jest.setTimeout(300_000);

const run = promisify(execFile);


describe("the docs example synthesizes and passes terraform validate (moto has no webhooks: this is their check)", () => {
  const dir = tempDir("tf-validate-webhooks");
  const outdir = path.join(dir, "cdktf.out");
  const env = terraformEnv(path.join(dir, "tfconfig"));
  let stack: any;

  beforeAll(() => {
    requireTerraform(env);
    const config = path.join(dir, "environments.json");
    fs.writeFileSync(config, JSON.stringify(docsExample()));
    const result = runApp({ CONFIG_FILE: config, ENVIRONMENTS: "ci", CDKTF_OUTDIR: outdir });
    if (result.status !== 0) throw new Error(`synth failed: ${result.stderr}`);
    stack = JSON.parse(fs.readFileSync(path.join(outdir, "stacks", "ci-eu-west-1", "cdk.tf.json"), "utf8"));
  });

  test("two webhooks (push on acme-app, pull requests on acme-app-pr) and the pull request project with PUSH_IMAGE=false", () => {
    const webhooks = Object.values(stack.resource.aws_codebuild_webhook) as any[];
    expect(webhooks.map((w) => w.filter_group[0].filter[0].pattern).sort()).toEqual(["PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED", "PUSH"]);
    const projects = Object.values(stack.resource.aws_codebuild_project) as any[];
    expect(projects.map((p) => p.name).sort()).toEqual(["acme-app", "acme-app-dind", "acme-app-pr"]);
    const pr = projects.find((p) => p.name === "acme-app-pr");
    expect(pr.environment.environment_variable).toContainEqual({ name: "PUSH_IMAGE", value: "false", type: "PLAINTEXT" });
    expect(pr.source.auth).toEqual({ type: "CODECONNECTIONS", resource: "arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" });
  });

  test("terraform init and validate succeed", async () => {
    const cwd = path.join(outdir, "stacks", "ci-eu-west-1");
    await run("terraform", ["init", "-backend=false", "-input=false", "-no-color"], { cwd, env });
    const { stdout } = await run("terraform", ["validate", "-json", "-no-color"], { cwd, env });
    const report = JSON.parse(stdout);
    expect({ valid: report.valid, errors: report.error_count, diagnostics: report.diagnostics.filter((d: any) => d.severity === "error") }).toEqual({ valid: true, errors: 0, diagnostics: [] });
  });
});
