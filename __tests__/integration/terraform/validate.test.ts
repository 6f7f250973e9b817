import * as fs from "fs";
import * as path from "path";
import { requireTerraform, terraformEnv } from "../../../scripts/terraform/env";
import { organization, prodEnvironment, shippedConfig } from "../../support/environments";
import { runApp, tempDir } from "../../support/app";
import { docsMultiArchExample } from "../../support/multi-arch";
import { docsPullThroughExample } from "../../support/pull-through-cache";
import { docsExample as docsTriggersExample } from "../../support/webhooks";
import { expectedValidation, validateStacks } from "../../support/validate-example";

/**
 * Every stack the app synthesizes must be valid Terraform for the real hashicorp/aws 5.100.0
 * provider: plain `terraform init` (provider from the machine's mirror, or the registry) and
 * `terraform validate` on cdktf.out, as a CI without the cdktf CLI would run them. One validate
 * checks every stack (each a child module of one root; see validateStacks): the provider's
 * schema loads once instead of once per stack, and no stack is left out or checked by proxy.
 *
 * Beside the app's own stacks, the real-account examples of the docs that the local AWS cannot
 * deploy (so this is their check): the multi-arch batch build project of docs/modules.md, the
 * pull-through cache and the webhook triggers of docs/environments.md.
 */
jest.setTimeout(300_000);

const dir = tempDir("tf-validate");
const env = terraformEnv(path.join(dir, "tfconfig"));

/** Synthesizes `config` (every environment) into its own folder; returns the stacks' folders by name. */
function synth(name: string, config: unknown): Record<string, string> {
  const outdir = path.join(dir, name, "cdktf.out");
  const file = path.join(dir, name, "environments.json");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(config));
  const result = runApp({ CONFIG_FILE: file, ENVIRONMENTS: "all", CDKTF_OUTDIR: outdir });
  if (result.status !== 0) throw new Error(`synth of ${name} failed: ${result.stderr}`);
  return Object.fromEntries(fs.readdirSync(path.join(outdir, "stacks")).sort().map((s) => [s, path.join(outdir, "stacks", s)]));
}
const stackJson = (folder: string) => JSON.parse(fs.readFileSync(path.join(folder, "cdk.tf.json"), "utf8"));

let app: Record<string, string>;
const examples: Record<string, Record<string, string>> = {};

beforeAll(() => {
  requireTerraform(env);
  // The shipped local organization (owner `local` and its consumers), as `npm start` deploys it.
  const shipped = shippedConfig().environments;
  const { name: _p, ...prod } = prodEnvironment();
  // The organization (an owner replicating across regions and accounts, two consumers) beside them.
  const org = Object.fromEntries(organization().map(({ name, ...e }) => [`org-${name}`, e]));
  for (const e of Object.values(org) as any[]) {
    if (e.pullFrom) e.pullFrom = `org-${e.pullFrom}`;
    if (e.build?.replicateToEnvironments) e.build.replicateToEnvironments = e.build.replicateToEnvironments.map((n: string) => `org-${n}`);
  }
  app = synth("app", { environments: { ...shipped, prod, ...org } });
  examples["multi-arch"] = synth("multi-arch", docsMultiArchExample());
  examples["pull-through"] = synth("pull-through", docsPullThroughExample());
  examples.triggers = synth("triggers", docsTriggersExample());
});

test("the app synthesized one stack per environment and region", () => {
  expect(Object.keys(app)).toEqual([
    "local-eu-central-1",
    "local-prod-eu-central-1",
    "local-prod-us-east-1",
    "local-staging-eu-central-1",
    "local-us-east-1",
    "org-prod-eu-central-1",
    "org-prod-eu-west-1",
    "org-staging-eu-west-1",
    "org-tools-eu-west-1",
    "org-tools-us-west-2",
    "prod-eu-west-1",
    "prod-us-west-2",
  ]);
});

test("the multi-arch example of docs/modules.md: one stack with the batch build project", () => {
  expect(Object.keys(examples["multi-arch"])).toEqual(["tools-eu-west-1"]);
  const projects = Object.values(stackJson(examples["multi-arch"]["tools-eu-west-1"]).resource.aws_codebuild_project) as any[];
  expect(projects.filter((p) => p.build_batch_config !== undefined).map((p) => p.name)).toEqual(["acme-app"]);
});

test("the pull-through cache example of docs/environments.md: the owner's stack with the cache rules", () => {
  expect(Object.keys(examples["pull-through"])).toEqual(["tools-eu-west-1"]);
  const rules = stackJson(examples["pull-through"]["tools-eu-west-1"]).resource.aws_ecr_pull_through_cache_rule;
  expect(Object.values(rules).map((r: any) => r.upstream_registry_url).sort()).toEqual(["public.ecr.aws", "registry-1.docker.io"]);
});

test("the triggers example of docs/environments.md: two webhooks (push on acme-app, pull requests on acme-app-pr) and the pull request project with PUSH_IMAGE=false", () => {
  expect(Object.keys(examples.triggers)).toEqual(["ci-eu-west-1"]);
  const stack = stackJson(examples.triggers["ci-eu-west-1"]);
  const webhooks = Object.values(stack.resource.aws_codebuild_webhook) as any[];
  expect(webhooks.map((w) => w.filter_group[0].filter[0].pattern).sort()).toEqual(["PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED", "PUSH"]);
  const projects = Object.values(stack.resource.aws_codebuild_project) as any[];
  expect(projects.map((p) => p.name).sort()).toEqual(["acme-app", "acme-app-dind", "acme-app-pr"]);
  const pr = projects.find((p) => p.name === "acme-app-pr");
  expect(pr.environment.environment_variable).toContainEqual({ name: "PUSH_IMAGE", value: "false", type: "PLAINTEXT" });
  expect(pr.source.auth).toEqual({ type: "CODECONNECTIONS", resource: "arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" });
});

test("terraform init and one validate succeed for every stack of the app and of the docs' examples", async () => {
  const modules: Record<string, string> = { ...app };
  for (const [example, stacks] of Object.entries(examples)) for (const [stack, folder] of Object.entries(stacks)) modules[`${example}-${stack}`] = folder;
  expect(await validateStacks(modules, path.join(dir, "validate-all"), env)).toEqual(expectedValidation(Object.keys(modules)));
});
