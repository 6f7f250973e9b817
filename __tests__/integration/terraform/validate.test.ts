import * as fs from "fs";
import * as path from "path";
import { requireTerraform, terraformEnv } from "../../../scripts/terraform/env";
import { organization, prodEnvironment, shippedConfig } from "../../support/environments";
import { runApp, tempDir } from "../../support/app";
import { expectedValidation, validateStacks } from "../../support/validate-example";

/**
 * Every stack the app synthesizes must be valid Terraform for the real hashicorp/aws 5.100.0
 * provider: plain `terraform init` (provider from the machine's mirror, or the registry) and
 * `terraform validate` on cdktf.out, as a CI without the cdktf CLI would run them. One validate
 * checks every stack (each a child module of one root; see validateStacks): the provider's
 * schema loads once instead of once per stack, and no stack is left out or checked by proxy.
 */
describe("synthesized stacks pass terraform validate", () => {
  const dir = tempDir("tf-validate");
  const outdir = path.join(dir, "cdktf.out");
  const env = terraformEnv(path.join(dir, "tfconfig"));
  let stacks: string[] = [];

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
    const config = path.join(dir, "environments.json");
    fs.writeFileSync(config, JSON.stringify({ environments: { ...shipped, prod, ...org } }));
    const result = runApp({ CONFIG_FILE: config, ENVIRONMENTS: "all", CDKTF_OUTDIR: outdir });
    if (result.status !== 0) throw new Error(`synth failed: ${result.stderr}`);
    stacks = fs.readdirSync(path.join(outdir, "stacks")).sort();
  });

  test("the app synthesized one stack per environment and region", () => {
    expect(stacks).toEqual([
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

  test("terraform init and validate succeed for every stack", async () => {
    const dirs = Object.fromEntries(stacks.map((stack) => [stack, path.join(outdir, "stacks", stack)]));
    expect(await validateStacks(dirs, path.join(dir, "validate-all"), env)).toEqual(expectedValidation(stacks));
  });
});
