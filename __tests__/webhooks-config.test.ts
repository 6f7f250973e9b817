import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { ConfigError, validateConfig } from "../config/environments";
import { parseConfigText } from "../config/config-text";
import { requireTerraform, terraformEnv } from "../scripts/terraform/env";
import { ROOT, runApp, tempDir } from "./support/app";
import { shippedConfig } from "./support/environments";

/**
 * `triggers` in the environments file: the docs/environments.md example is valid, synthesizes
 * (two webhooks, the pull request project) and passes `terraform validate` with the real
 * provider; each bad field is one line; the shipped config (all local) sets none (the local AWS
 * has no webhooks: local-aws/config-rules.test.ts).
 */
jest.setTimeout(300_000);

const run = promisify(execFile);
const FILE = "environments.json";
const at = `${FILE}: environment "ci": `;

/** The jsonc block of docs/environments.md that holds the "ci" environment with triggers. */
function docsExample(): any {
  const text = fs.readFileSync(path.join(ROOT, "docs", "environments.md"), "utf8");
  const block = [...text.matchAll(/```jsonc\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('"triggers"'));
  if (!block) throw new Error("docs/environments.md has no jsonc block with triggers");
  const parsed = parseConfigText("docs/environments.md", block);
  if ("problem" in parsed) throw new Error(parsed.problem);
  return parsed.value;
}

function problemsOf(raw: unknown): readonly string[] {
  try {
    validateConfig(raw, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("validateConfig accepted the config; expected a ConfigError");
}

/** The docs example with the privileged project's triggers changed by `edit`. */
function withTriggers(edit: (triggers: any, project: any) => void): any {
  const raw = docsExample();
  const project = raw.environments.ci.build.privilegedProject;
  edit(project.triggers, project);
  return raw;
}

describe("triggers in the environments file", () => {
  test("the docs example is valid", () => {
    const [ci] = validateConfig(docsExample(), FILE);
    expect(ci.build?.privilegedProject.triggers?.branch).toBe("main");
  });

  test("the shipped config (all local) sets no triggers", () => {
    for (const env of Object.values(shippedConfig().environments) as any[]) {
      expect(env.build?.privilegedProject?.triggers).toBeUndefined();
      expect(env.build?.dindProject?.triggers).toBeUndefined();
    }
  });

  test.each<[string, (t: any, p: any) => void, string]>([
    ["a group without events", (t) => (t.push = [{ headRef: "^refs/heads/main$" }]), `build.privilegedProject.triggers.push[0].events is required`],
    ["an empty events list", (t) => (t.push = [{ events: [] }]), `build.privilegedProject.triggers.push[0].events [] must have at least 1 item(s)`],
    ["an unknown event", (t) => (t.push = [{ events: ["PUSHED"] }]), `build.privilegedProject.triggers.push[0].events[0] "PUSHED" must be one of PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED, PULL_REQUEST_MERGED, PULL_REQUEST_CLOSED, RELEASED, PRERELEASED`],
    ["no filter group", (t) => (t.pullRequest = []), `build.privilegedProject.triggers.pullRequest [] must have at least 1 item(s)`],
    ["a pattern that does not compile", (t) => (t.push = [{ events: ["PUSH"], headRef: "(main" }]), `build.privilegedProject.triggers.push[0].headRef "(main" must be a non-empty regular expression that compiles (checked with JavaScript's RegExp; CodeBuild has its own flavour)`],
    ["an unknown filter", (t) => (t.push = [{ events: ["PUSH"], commitMessage: "x" }]), `build.privilegedProject.triggers.push[0].commitMessage "x" is an unknown key (known: events, headRef, baseRef, filePath, actorAccountId)`],
    ["push groups with pushBuilds false", (t) => (t.pushBuilds = false), `build.privilegedProject.triggers.push [{"events":["PUSH"],"headRef":"^refs/heads/main$"}] does not apply when pushBuilds is false`],
    ["a connection ARN of another service", (_t, p) => (p.source.connectionArn = "arn:aws:codestar-connections:eu-west-1:111111111111:connection/x"), `build.privilegedProject.source.connectionArn "arn:aws:codestar-connections:eu-west-1:111111111111:connection/x" must be a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)`],
    ["a connection on a CODECOMMIT source", (_t, p) => { delete p.triggers; p.source = { type: "CODECOMMIT", location: "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app", connectionArn: "arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" }; }, `build.privilegedProject.source.connectionArn "arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" does not apply to a CODECOMMIT source`],
  ])("%s: one line", (_what, edit, line) => {
    expect(problemsOf(withTriggers(edit))).toEqual([`${at}${line}`]);
  });
});

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
