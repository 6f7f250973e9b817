import { App, Testing, TerraformStack } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { EcrPullThroughCacheRule } from "@cdktf/provider-aws/lib/ecr-pull-through-cache-rule";
import { CodeBuildDindProject, ECR_PULL_THROUGH_CACHE_ACTIONS, EcrPullThroughCache, EcrRepo, PullThroughCacheRuleProps } from "../../modules";
import { PolicyPack } from "../../modules/policy-pack";
import { messageOf, newStack, only, statement, statementsOf, Synthesized, synthJson } from "../support/synth";

const DOCKER_HUB_SECRET = "arn:aws:secretsmanager:eu-central-1:111111111111:secret:ecr-pullthroughcache/docker-hub-AbCdEf";
const DOCKER_HUB: PullThroughCacheRuleProps = { upstream: "docker-hub", credentialSecretArn: DOCKER_HUB_SECRET };

/** The Terraform expressions of the stack's account, region, partition and DNS suffix. */
function context(json: Synthesized) {
  const key = (type: string) => Object.keys(json.data[type])[0];
  return {
    account: `\${data.aws_caller_identity.${key("aws_caller_identity")}.account_id}`,
    region: `\${data.aws_region.${key("aws_region")}.name}`,
    partition: `\${data.aws_partition.${key("aws_partition")}.partition}`,
    dnsSuffix: `\${data.aws_partition.${key("aws_partition")}.dns_suffix}`,
  };
}
const repositoryArn = (json: Synthesized, prefix: string) => {
  const c = context(json);
  return `arn:${c.partition}:ecr:${c.region}:${c.account}:repository/${prefix}/*`;
};
const registry = (json: Synthesized) => {
  const c = context(json);
  return `${c.account}.dkr.ecr.${c.region}.${c.dnsSuffix}`;
};

describe("CodeBuildDindProject with pullThroughCache", () => {
    const build = (props: Record<string, unknown> = {}, rules: PullThroughCacheRuleProps[] = [DOCKER_HUB, { upstream: "quay" }]) => {
      const stack = newStack();
      const cache = new EcrPullThroughCache(stack, "Cache", { rules });
      const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      const project = new CodeBuildDindProject(stack, "Dind", { projectName: "build-app-dind", repository: repo, pullThroughCache: cache, ...props });
      const json = synthJson(stack);
      return { project, json, cb: only(json, "aws_codebuild_project") };
    };

    test("the default docker:27.3.1-dind becomes <registry>/docker-hub/library/docker:27.3.1-dind with SERVICE_ROLE credentials and no registry credential", () => {
      const { json, cb, project } = build();
      expect(cb.environment.image).toBe(`${registry(json)}/docker-hub/library/docker:27.3.1-dind`);
      expect(cb.environment.image_pull_credentials_type).toBe("SERVICE_ROLE");
      expect(cb.environment.registry_credential).toBeUndefined();
      expect(project.upstreamImage).toBe("docker:27.3.1-dind");
    });

    test("with triggers, the pull-request project's own role may pull the cached image too", () => {
      const source = { type: "GITHUB", location: "https://github.com/example/app.git", connectionArn: "arn:aws:codeconnections:eu-central-1:111111111111:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789" };
      const stack = newStack();
      const cache = new EcrPullThroughCache(stack, "Cache", { rules: [DOCKER_HUB] });
      const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      new CodeBuildDindProject(stack, "Dind", { projectName: "build-app-dind", repository: repo, pullThroughCache: cache, source: source as never, triggers: {} });
      const json = synthJson(stack);
      expect(statement(json, "Dind/PullRequestRole/PolicyDocument", "EcrPullThroughCache")).toEqual({
        sid: "EcrPullThroughCache",
        effect: "Allow",
        actions: [...ECR_PULL_THROUGH_CACHE_ACTIONS],
        resources: [repositoryArn(json, "docker-hub")],
      });
    });

    test("the role may pull through the image's rule only (not quay), and reads no secret", () => {
      const { json } = build();
      const statements = statementsOf(json, "Dind/Role/PolicyDocument");
      expect(statement(json, "Dind/Role/PolicyDocument", "EcrPullThroughCache")).toEqual({
        sid: "EcrPullThroughCache",
        effect: "Allow",
        actions: [...ECR_PULL_THROUGH_CACHE_ACTIONS],
        resources: [repositoryArn(json, "docker-hub")],
      });
      expect(statements.find((s) => s.sid === "Secrets")).toBeUndefined();
      expect(statements.filter((s) => s.resources.includes("*")).map((s) => s.actions)).toEqual([["ecr:GetAuthorizationToken"]]);
    });

    test("the policy pack finds nothing in a stack with the cache and the project", () => {
      const stack = newStack();
      const pack = PolicyPack.applyTo(stack);
      const cache = new EcrPullThroughCache(stack, "Cache", { rules: [DOCKER_HUB] });
      new CodeBuildDindProject(stack, "Dind", { projectName: "build-app-dind", repository: new EcrRepo(stack, "Repo", { repositoryName: "team/app" }), pullThroughCache: cache });
      invokeAspects(stack);
      expect(pack.violations.map((v) => v.rule.id).filter((id) => id !== "STATE-ENCRYPTED" && id !== "STATE-LOCKED")).toEqual([]);
    });

    test("an image on another upstream of the cache (quay)", () => {
      const { json, cb } = build({ image: "quay.io/team/dind:27.3.1" });
      expect(cb.environment.image).toBe(`${registry(json)}/quay/team/dind:27.3.1`);
      expect(statement(json, "Dind/Role/PolicyDocument", "EcrPullThroughCache").resources).toEqual([repositoryArn(json, "quay")]);
    });

    test.each<[string, Record<string, unknown>, PullThroughCacheRuleProps[] | undefined, string]>([
      ["an image whose registry the cache has no rule for", {}, [{ upstream: "quay" }], `CodeBuildDindProject 'Dind': image "docker:27.3.1-dind" cannot be pulled through pullThroughCache 'Cache': it is on docker-hub, which has no rule in this cache (rules: quay)`],
      [
        "a registry credential beside the cache",
        { registryCredentialSecretArn: DOCKER_HUB_SECRET },
        undefined,
        `CodeBuildDindProject 'Dind': registryCredentialSecretArn "${DOCKER_HUB_SECRET}" must not be set with pullThroughCache (the cache rule holds the upstream credential; the role pulls from ECR)`,
      ],
      ["a moving tag, checked on the upstream reference", { image: "docker:dind" }, undefined, `CodeBuildDindProject 'Dind': image "docker:dind" must be an image reference pinned to a version tag`],
      ["an uppercase image, one line of the project", { image: "Docker:27.3.1-dind" }, undefined, `CodeBuildDindProject 'Dind': image "Docker:27.3.1-dind" must be an image reference pinned to a version tag`],
    ])("refuses %s", (_name, props, rules, line) => {
      expect(messageOf(() => build(props, rules))).toContain(line);
    });

    test("refuses a cache of another stack", () => {
      const app: App = Testing.app();
      const a = new TerraformStack(app, "a");
      new AwsProvider(a, "aws", { region: "eu-central-1" });
      const b = new TerraformStack(app, "b");
      new AwsProvider(b, "aws", { region: "eu-central-1" });
      const cache = new EcrPullThroughCache(a, "Cache", { rules: [DOCKER_HUB] });
      expect(messageOf(() => new CodeBuildDindProject(b, "Dind", { projectName: "build-app-dind", repository: new EcrRepo(b, "Repo", { repositoryName: "team/app" }), pullThroughCache: cache }))).toContain(
        `CodeBuildDindProject 'Dind': pullThroughCache "a/Cache" must be in the project's stack b`,
      );
    });
  });

describe("PolicyPack ECR-PTC-CREDENTIAL on aws_ecr_pull_through_cache_rule", () => {
  /** The rule IDs the pack reports for one raw rule (the stack has a compliant backend). */
  function idsOf(config: { upstreamRegistryUrl: string; credentialArn?: string }): string[] {
    const stack = newStack();
    const pack = PolicyPack.applyTo(stack);
    new EcrPullThroughCacheRule(stack, "Raw", { ecrRepositoryPrefix: "cache", ...config });
    invokeAspects(stack);
    return pack.violations.filter((v) => !v.rule.id.startsWith("STATE-")).map((v) => `${v.rule.id}: ${v.detail}`);
  }

  test.each([
    ["registry-1.docker.io", "ECR-PTC-CREDENTIAL: upstream registry-1.docker.io has no credential_arn"],
    ["docker.io", "ECR-PTC-CREDENTIAL: upstream docker.io has no credential_arn"],
    ["ghcr.io", "ECR-PTC-CREDENTIAL: upstream ghcr.io has no credential_arn"],
    ["registry.gitlab.com", "ECR-PTC-CREDENTIAL: upstream registry.gitlab.com has no credential_arn"],
    ["myregistry.azurecr.io", "ECR-PTC-CREDENTIAL: upstream myregistry.azurecr.io has no credential_arn"],
  ])("an error: a rule for %s without a credential", (url, line) => {
    expect(idsOf({ upstreamRegistryUrl: url })).toEqual([line]);
  });

  test("an error: a credential whose secret name does not start with ecr-pullthroughcache/", () => {
    expect(idsOf({ upstreamRegistryUrl: "registry-1.docker.io", credentialArn: "arn:aws:secretsmanager:eu-central-1:111111111111:secret:dockerhub-AbCdEf" })).toEqual([
      `ECR-PTC-CREDENTIAL: credential_arn "arn:aws:secretsmanager:eu-central-1:111111111111:secret:dockerhub-AbCdEf" is not a secret named ecr-pullthroughcache/…`,
    ]);
  });

  test.each([
    ["Docker Hub with its credential", { upstreamRegistryUrl: "registry-1.docker.io", credentialArn: DOCKER_HUB_SECRET }],
    ["ECR Public without a credential", { upstreamRegistryUrl: "public.ecr.aws" }],
    ["Quay without a credential", { upstreamRegistryUrl: "quay.io" }],
    ["registry.k8s.io without a credential", { upstreamRegistryUrl: "registry.k8s.io" }],
  ])("quiet: %s", (_name, config) => {
    expect(idsOf(config)).toEqual([]);
  });

  test("a violation fails synth with the rule ID, the path and the fix", () => {
    const stack = newStack();
    PolicyPack.applyTo(stack);
    new EcrPullThroughCacheRule(stack, "Raw", { ecrRepositoryPrefix: "docker-hub", upstreamRegistryUrl: "registry-1.docker.io" });
    expect(messageOf(() => Testing.synth(stack, true))).toContain(
      "ECR-PTC-CREDENTIAL violated at test/Raw: pull-through cache rules for Docker Hub, GitHub, GitLab and Azure registries have a credential, in a secret whose name starts with ecr-pullthroughcache/ (upstream registry-1.docker.io has no credential_arn). Fix: set credential_arn to a Secrets Manager secret named ecr-pullthroughcache/<name>",
    );
  });
});
