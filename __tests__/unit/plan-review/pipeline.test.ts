import * as fs from "fs";
import * as path from "path";
import { loadConfigFile } from "../../../config/environments";
import { applyWaves, organizationWaves } from "../../../stacks/topology";
import { explainUnsupportedCall, unsupportedCallLine } from "../../../scripts/plan-review/apply";
import { namedStacks, selectStacks, synthesizedStacks, UnknownStackError } from "../../../scripts/stacks/list";
import { TerraformSession } from "../../../scripts/terraform/session";
import { TerraformError } from "../../../scripts/terraform/run";
import { namesWithheldType } from "../../../scripts/terraform/schema-proxy";
import { ROOT, tempDir } from "../../support/app";
import { shippedConfig } from "../../support/environments";

/**
 * The stages the commands share, without Terraform: the stack list built once from the config
 * (and placed by the synthesized manifest), the apply waves of the topology, the session's
 * variables, the whole-schema retry's test on type names, the plain line for an unsupported call,
 * and a local environment planned with no local AWS to plan against.
 */

const CONFIG = path.join(ROOT, "config", "environments.json");
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ CONFIG_FILE: CONFIG, CDKTF_OUTDIR: "out", ...extra });

describe("the stack list", () => {
  test("selects the stacks of ENVIRONMENTS in the file's order, each with the organization's wave and its folder", () => {
    const selection = selectStacks({ env: env({ ENVIRONMENTS: "all" }), cwd: ROOT });
    const shipped = shippedConfig().environments;
    expect(selection.stacks.map((s) => s.name)).toEqual(Object.entries<any>(shipped).flatMap(([name, e]) => (e.regions as string[]).map((r) => `${name}-${r}`)));
    expect(selection.organization.map((e) => e.name)).toEqual(Object.keys(shipped));
    const waves = organizationWaves(selection.organization);
    for (const s of selection.stacks) {
      expect(s.wave).toBe(waves.get(s.environment.name));
      expect(s.dir).toBe(path.join(ROOT, "out", "stacks", s.name));
    }
  });

  test("picks stacks by name from the whole file, and names the valid ones for an unknown name", () => {
    const organization = loadConfigFile(CONFIG);
    expect(namedStacks(["local-us-east-1"], organization, "f").map((s) => [s.environment.name, s.region])).toEqual([["local", "us-east-1"]]);
    expect(() => namedStacks(["local-eu-west-9"], organization, "config/environments.json")).toThrow(UnknownStackError);
    expect(() => namedStacks(["local-eu-west-9"], organization, "config/environments.json")).toThrow(/^stack "local-eu-west-9" is not in config\/environments.json; its stacks are: local-eu-central-1, /);
  });

  test("after the synth, the folders come from the manifest, and a stack the synth did not write is named", () => {
    const dir = tempDir("manifest");
    fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify({ stacks: { "local-eu-central-1": { workingDirectory: "elsewhere/local-eu-central-1" } } }));
    const [one, two] = selectStacks({ env: env({ ENVIRONMENTS: "local" }), cwd: ROOT }).stacks;
    expect(synthesizedStacks([one], dir).map((s) => s.dir)).toEqual([path.join(dir, "elsewhere", "local-eu-central-1")]);
    expect(() => synthesizedStacks([one, two], dir)).toThrow(`the synth wrote no stack ${two.name} (${path.join(dir, "manifest.json")} does not list it)`);
  });
});

describe("the apply waves of the topology", () => {
  test("consumers' stacks come before their owner's; a destroy runs them the other way round", () => {
    const organization = loadConfigFile(CONFIG);
    const stacks = organization.flatMap((environment) => environment.regions.map((region) => ({ environment, name: `${environment.name}-${region}` })));
    const waves = applyWaves(stacks, organization);
    const owners = new Set(organization.flatMap((e) => (e.pullFrom ? [e.pullFrom] : [])));
    expect(waves).toHaveLength(2);
    expect(waves[0].every((s) => !owners.has(s.environment.name))).toBe(true);
    expect(waves[1].every((s) => owners.has(s.environment.name))).toBe(true);
    // A selection keeps the organization's numbering: the owner alone is one wave.
    const owner = stacks.filter((s) => owners.has(s.environment.name));
    expect(applyWaves(owner, organization)).toEqual([owner]);
  });
});

describe("the terraform session", () => {
  test("checks the variables that tune it, one line each", () => {
    expect(TerraformSession.variableProblems({})).toEqual([]);
    expect(TerraformSession.variableProblems({ SHARE_PROVIDER: "0", TRIM_SCHEMA: "1" })).toEqual([]);
    expect(TerraformSession.variableProblems({ SHARE_PROVIDER: "yes", TRIM_SCHEMA: "no" })).toHaveLength(2);
  });

  test("retries with the whole schema only when Terraform's error names a type the proxy withheld, whatever its wording", () => {
    const withheld = new Set(["aws_ecr_lifecycle_policy", "aws_s3_bucket"]);
    expect(namesWithheldType("Error: no schema available for aws_ecr_lifecycle_policy.Repository_LifecyclePolicy while reading state", withheld)).toBe(true);
    expect(namesWithheldType("Fehler: kein Schema für aws_ecr_lifecycle_policy.x", withheld)).toBe(true);
    // A misspelt type is named by the configuration, so it is kept: not withheld, not retried.
    expect(namesWithheldType('The provider hashicorp/aws does not support resource type "aws_ecr_repositry".', withheld)).toBe(false);
    expect(namesWithheldType("Error: No valid credential sources found", withheld)).toBe(false);
  });
});

describe("a call the local endpoint does not support", () => {
  test("an HTTP 500 to an API call gets the plain line first, Terraform's text below it", () => {
    const stderr = "Error: updating CodeBuild Project (x): operation error CodeBuild: UpdateProject, exceeded maximum number of attempts, 2, https response error StatusCode: 500, RequestID: ,";
    const explained = explainUnsupportedCall(new TerraformError(`terraform apply failed in /x (exit 1):\n${stderr}`, { code: 1, stdout: "", stderr, seconds: 1 })) as Error;
    expect(explained.message.split("\n")[0]).toBe(unsupportedCallLine("CodeBuild", "UpdateProject"));
    expect(unsupportedCallLine("CodeBuild", "UpdateProject")).toBe(
      "the local endpoint does not support CodeBuild UpdateProject (it answered HTTP 500): apply this change to a fresh local AWS (npm start)",
    );
    const other = new Error("Error: creating ECR Repository: RepositoryAlreadyExistsException");
    expect(explainUnsupportedCall(other)).toBe(other);
  });
});
