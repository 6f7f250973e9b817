import { Testing } from "cdktf";
import { validateConfig } from "../../config/environments";
import { RegionalStack } from "../../stacks";
import { shippedConfig } from "../support/environments";
import { docsMultiArchExample } from "../support/multi-arch";
import { resources, statementsOf, Synthesized } from "../support/synth";
import { configProblems } from "../support/config-problems";

/**
 * build.platforms in the environments file: the privileged project builds a multi-arch image
 * with a CodeBuild batch build (the local AWS lacks them: unit/local-aws/config-rules.test.ts); the
 * docs example is synthesized here and validated by integration/terraform/validate.test.ts.
 */

const FILE = "environments.json";
const problemsOfConfig = (raw: unknown) => configProblems(raw, FILE);

function withPlatforms(platforms: unknown): any {
  const raw = docsMultiArchExample();
  raw.environments.tools.build.platforms = platforms;
  return raw;
}
const at = `${FILE}: environment "tools": `;

describe("build.platforms in the environments file", () => {
  test("the docs example is valid", () => {
    const [tools] = validateConfig(docsMultiArchExample(), FILE);
    expect(tools.build?.platforms).toEqual(["linux/amd64", "linux/arm64"]);
  });

  test("the shipped config (all local) builds no multi-arch image", () => {
    for (const env of Object.values(shippedConfig().environments) as any[]) expect(env.build?.platforms).toBeUndefined();
  });

  test.each<[string, unknown, string[]]>([
    ["one platform", ["linux/amd64"], [`build.platforms ["linux/amd64"] must name at least two distinct platforms (a manifest list of one image is that image: leave multiArch out)`]],
    ["an unknown platform", ["linux/amd64", "linux/386"], [`build.platforms[1] "linux/386" must be one of linux/amd64, linux/arm64`]],
    ["a platform twice", ["linux/arm64", "linux/arm64"], [`build.platforms[1] "linux/arm64" is listed twice (each platform is built once)`]],
    ["not a list", "linux/amd64", [`build.platforms "linux/amd64" must be an array, not string`]],
  ])("%s: one line each", (_name, platforms, lines) => {
    expect(problemsOfConfig(withPlatforms(platforms))).toEqual(lines.map((l) => `${at}${l}`));
  });
});

describe("RegionalStack with the docs example's build.platforms", () => {
  const synth = (raw: any): Synthesized => {
    const [environment] = validateConfig(raw, FILE);
    const stack = new RegionalStack(Testing.app(), { environment, region: environment.regions[0], organization: [environment] });
    return JSON.parse(Testing.synth(stack, true));
  };
  const json = synth(docsMultiArchExample());
  const project = (j: Synthesized, name: string) => resources(j, "aws_codebuild_project").find((p) => p.name === name);

  test("the privileged project is a batch build project of both platforms; the dind project is not", () => {
    expect(project(json, "acme-app").build_batch_config.restrictions).toEqual({ maximum_builds_allowed: 3, compute_types_allowed: ["BUILD_GENERAL1_SMALL"] });
    expect(project(json, "acme-app").source.buildspec).toContain("MANIFEST_PLATFORMS: linux/amd64 linux/arm64");
    expect(project(json, "acme-app-dind").build_batch_config).toBeUndefined();
  });

  test("its batch role may start, stop and retry builds of exactly the privileged project", () => {
    const [st] = statementsOf(json, "PrivilegedProject/BatchRole/PolicyDocument");
    expect(st.actions).toEqual(["codebuild:RetryBuild", "codebuild:StartBuild", "codebuild:StopBuild"]);
    expect(st.resources).toHaveLength(1);
    expect(st.resources[0]).toMatch(/^arn:\$\{data\.aws_partition\.\w+\.partition\}:codebuild:\$\{data\.aws_region\.\w+\.name\}:\$\{data\.aws_caller_identity\.\w+\.account_id\}:project\/acme-app$/);
  });

  test("without build.platforms the privileged project has no batch configuration", () => {
    const raw = docsMultiArchExample();
    delete raw.environments.tools.build.platforms;
    expect(project(synth(raw), "acme-app").build_batch_config).toBeUndefined();
  });
});
