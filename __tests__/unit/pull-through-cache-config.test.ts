import { Testing } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { validateConfig } from "../../config/environments";
import { RegionalStack } from "../../stacks";
import { ECR_PULL_THROUGH_CACHE_ACTIONS } from "../../modules";
import { shippedConfig } from "../support/environments";
import { docsPullThroughExample } from "../support/pull-through-cache";
import { only, resources, statement, statementsOf, Synthesized } from "../support/synth";
import { configProblems } from "../support/config-problems";

const FILE = "environments.json";
const problemsOfConfig = (raw: unknown) => configProblems(raw, FILE);

/** The docs example with its tools environment's build.pullThroughCache changed by `edit`. */
function withCache(edit: (cache: any, build: any) => void): any {
  const raw = docsPullThroughExample();
  edit(raw.environments.tools.build.pullThroughCache, raw.environments.tools.build);
  return raw;
}
const at = `${FILE}: environment "tools": `;

describe("build.pullThroughCache in the environments file", () => {
  test("the docs example is valid", () => {
    const [tools] = validateConfig(docsPullThroughExample(), FILE);
    expect(tools.build?.pullThroughCache?.rules.map((r) => r.upstream)).toEqual(["docker-hub", "ecr-public"]);
  });

  test("the shipped config (all local) has no pull-through cache", () => {
    for (const env of Object.values(shippedConfig().environments) as any[]) expect(env.build?.pullThroughCache).toBeUndefined();
  });

  test.each<[string, (cache: any, build: any) => void, string[]]>([
    ["no rules", (c) => (c.rules = []), [`build.pullThroughCache.rules [] must hold at least one rule (one per upstream registry)`]],
    ["rules missing", (c) => delete c.rules, [`build.pullThroughCache.rules is required`]],
    ["an unknown upstream", (c) => (c.rules[1].upstream = "gcr"), [`build.pullThroughCache.rules[1].upstream "gcr" must be one of docker-hub, ecr-public, quay, k8s, github-container-registry, gitlab-container-registry, azure-container-registry`]],
    ["a bad prefix", (c) => (c.rules[1].prefix = "ECR_Public"), [`build.pullThroughCache.rules[1].prefix "ECR_Public" must be 2-30 characters: lowercase letters and digits, with '.', '_', '__' or dashes between them, parts separated by '/' (ECR repository prefix rules)`]],
    [
      "a secret not named ecr-pullthroughcache/",
      (c) => (c.rules[0].credentialSecretArn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:dockerhub-AbCdEf"),
      [`build.pullThroughCache.rules[0].credentialSecretArn "arn:aws:secretsmanager:eu-west-1:111111111111:secret:dockerhub-AbCdEf" must be the ARN of a Secrets Manager secret whose name starts with ecr-pullthroughcache/ (arn:aws:secretsmanager:<region>:<account>:secret:ecr-pullthroughcache/<name>)`],
    ],
    ["Docker Hub without a credential", (c) => delete c.rules[0].credentialSecretArn, [`build.pullThroughCache.rules[0].credentialSecretArn is required for upstream docker-hub (registry-1.docker.io is pulled with a credential: a Secrets Manager secret named ecr-pullthroughcache/<name>)`]],
    [
      "a credential for ecr-public",
      (c) => (c.rules[1].credentialSecretArn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ecr-pullthroughcache/x"),
      [`build.pullThroughCache.rules[1].credentialSecretArn "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ecr-pullthroughcache/x" must not be set for upstream ecr-public (ECR pulls public.ecr.aws without a credential)`],
    ],
    ["two rules for one upstream", (c) => c.rules.push({ upstream: "ecr-public", prefix: "public" }), [`build.pullThroughCache.rules[2].upstream "ecr-public" is already cached by rules[1] (one rule per upstream)`]],
    ["dindImage not a boolean", (c) => (c.dindImage = "yes"), [`build.pullThroughCache.dindImage "yes" must be true or false, not string`]],
    ["a bad build arg name", (c) => (c.baseImages = { "BUILDER-IMAGE": "golang:1.23" }), [`build.pullThroughCache.baseImages.BUILDER-IMAGE "BUILDER-IMAGE" must be letters, digits and '_', not starting with a digit`]],
    [
      "a base image a project also sets as a variable",
      (_c, b) => (b.privilegedProject.environmentVariables = { BUILDER_IMAGE: { value: "golang:1.23" } }),
      [`build.privilegedProject.environmentVariables.BUILDER_IMAGE "BUILDER_IMAGE" is set by build.pullThroughCache.baseImages`],
    ],
    [
      "a registry credential for the dind image it pulls through the cache",
      (_c, b) => (b.dindProject.registryCredentialSecretArn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:dockerhub-AbCdEf"),
      [
        `build.dindProject.registryCredentialSecretArn "arn:aws:secretsmanager:eu-west-1:111111111111:secret:dockerhub-AbCdEf" must not be set when the dind image is pulled through build.pullThroughCache (set pullThroughCache.dindImage to false to keep it)`,
      ],
    ],
    [
      "a dind image on a registry the cache has no rule for",
      (_c, b) => (b.dindProject.image = "quay.io/podman/stable:v5.2"),
      [`build.dindProject.image "quay.io/podman/stable:v5.2" cannot be pulled through pullThroughCache 'PullThroughCache': it is on quay, which has no rule in this cache (rules: docker-hub, ecr-public)`],
    ],
    [
      "a credential in another region than the building one",
      (c) => (c.rules[0].credentialSecretArn = "arn:aws:secretsmanager:us-east-1:111111111111:secret:ecr-pullthroughcache/docker-hub"),
      [`build.pullThroughCache.rules[0].credentialSecretArn "arn:aws:secretsmanager:us-east-1:111111111111:secret:ecr-pullthroughcache/docker-hub" must be a secret of the rule's region eu-west-1 (ECR reads the credential in its own region)`],
    ],
  ])("%s: one line each", (_name, edit, lines) => {
    expect(problemsOfConfig(withCache(edit))).toEqual(lines.map((l) => `${at}${l}`));
  });

  test("dindImage false keeps a registry credential for the dind image", () => {
    expect(() =>
      validateConfig(
        withCache((c, b) => {
          c.dindImage = false;
          b.dindProject.registryCredentialSecretArn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:dockerhub-AbCdEf";
        }),
        FILE,
      ),
    ).not.toThrow();
  });
});

describe("RegionalStack with the docs example's pull-through cache (the owner's projects use it)", () => {
  const synth = (raw: any): { stack: RegionalStack; json: Synthesized } => {
    const [environment] = validateConfig(raw, FILE);
    const stack = new RegionalStack(Testing.app(), { environment, region: environment.regions[0], organization: [environment] });
    return { stack, json: JSON.parse(Testing.synth(stack, true)) };
  };
  const { stack, json } = synth(docsPullThroughExample());
  const key = (type: string) => Object.keys(json.data[type])[0];
  const account = `\${data.aws_caller_identity.${key("aws_caller_identity")}.account_id}`;
  const region = `\${data.aws_region.${key("aws_region")}.name}`;
  const partition = `\${data.aws_partition.${key("aws_partition")}.partition}`;
  const registry = `${account}.dkr.ecr.${region}.\${data.aws_partition.${key("aws_partition")}.dns_suffix}`;
  const cacheArn = (prefix: string) => `arn:${partition}:ecr:${region}:${account}:repository/${prefix}/*`;
  const project = (name: string) => resources(json, "aws_codebuild_project").find((p) => p.name === name);
  const variable = (p: any, name: string) => p.environment.environment_variable.find((v: any) => v.name === name);

  test("two cache rules: docker-hub with its credential, ecr-public", () => {
    expect(resources(json, "aws_ecr_pull_through_cache_rule")).toEqual(
      expect.arrayContaining([
        { ecr_repository_prefix: "docker-hub", upstream_registry_url: "registry-1.docker.io", credential_arn: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ecr-pullthroughcache/docker-hub-AbCdEf" },
        { ecr_repository_prefix: "ecr-public", upstream_registry_url: "public.ecr.aws" },
      ]),
    );
    expect(stack.pullThroughCache?.rules).toHaveLength(2);
  });

  test("the dind project runs on the cached docker:27.3.1-dind with SERVICE_ROLE credentials", () => {
    const dind = project("acme-app-dind");
    expect(dind.environment.image).toBe(`${registry}/docker-hub/library/docker:27.3.1-dind`);
    expect(dind.environment.image_pull_credentials_type).toBe("SERVICE_ROLE");
    expect(dind.environment.registry_credential).toBeUndefined();
  });

  test("both projects build with BUILDER_IMAGE pointed at the cache", () => {
    for (const name of ["acme-app", "acme-app-dind"]) {
      expect(variable(project(name), "BUILDER_IMAGE")).toEqual({ name: "BUILDER_IMAGE", type: "PLAINTEXT", value: `${registry}/docker-hub/library/golang:1.23-bookworm` });
    }
  });

  test("each role may pull through exactly the docker-hub prefix (the one they use), not ecr-public", () => {
    for (const role of ["PrivilegedProject/Role/PolicyDocument", "DindProject/Role/PolicyDocument"]) {
      expect(statement(json, role, "EcrPullThroughCache")).toEqual({ sid: "EcrPullThroughCache", effect: "Allow", actions: [...ECR_PULL_THROUGH_CACHE_ACTIONS], resources: [cacheArn("docker-hub")] });
      expect(statementsOf(json, role).filter((s) => s.resources.includes("*")).map((s) => s.actions)).toEqual([["ecr:GetAuthorizationToken"]]);
    }
  });

  test("the policy pack finds nothing", () => {
    const [environment] = validateConfig(docsPullThroughExample(), FILE);
    const s = new RegionalStack(Testing.app(), { environment, region: "eu-west-1", organization: [environment] });
    expect(() => invokeAspects(s)).not.toThrow();
    expect(() => Testing.synth(s, true)).not.toThrow();
  });

  test("dindImage false: the dind image is pulled from Docker Hub as before; the base images still come through the cache", () => {
    const { json: j } = synth(withCache((c) => (c.dindImage = false)));
    const dind = resources(j, "aws_codebuild_project").find((p) => p.name === "acme-app-dind");
    expect(dind.environment).toMatchObject({ image: "docker:27.3.1-dind", image_pull_credentials_type: "CODEBUILD" });
    expect(statement(j, "DindProject/Role/PolicyDocument", "EcrPullThroughCache").resources).toEqual([cacheArn("docker-hub")]);
  });

  test("a base image on a registry without a rule: the cache's rule, at the config field, before any synth", () => {
    expect(() => synth(withCache((c) => (c.baseImages = { RUNTIME_IMAGE: "gcr.io/distroless/static-debian12:nonroot" })))).toThrow(
      `environment "tools": build.pullThroughCache.baseImages.RUNTIME_IMAGE "gcr.io/distroless/static-debian12:nonroot" is on a registry no pull-through cache upstream serves`,
    );
  });

  test("no cache: no rule and no pull-through statement", () => {
    const { json: j } = synth(withCache((_c, b) => delete b.pullThroughCache));
    expect(resources(j, "aws_ecr_pull_through_cache_rule")).toEqual([]);
    expect(only(j, "aws_ecr_repository")).toBeDefined();
    expect(JSON.stringify(j)).not.toContain("EcrPullThroughCache");
  });
});
