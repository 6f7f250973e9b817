import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { EcrPullThroughCacheRule } from "@cdktf/provider-aws/lib/ecr-pull-through-cache-rule";
import {
  ECR_PULL_THROUGH_CACHE_ACTIONS,
  EcrPullThroughCache,
  EcrPullThroughCacheProps,
  PULL_THROUGH_UPSTREAMS,
  PullThroughCacheRuleProps,
  upstreamOfImage,
} from "../../modules/ecr-pull-through-cache";
import { CodeBuildPrivilegedProject } from "../../modules/codebuild-privileged-project";
import { CodeBuildServiceRole } from "../../modules/service-role";
import { EcrRepo } from "../../modules/ecr-repo";
import { PropValidationError } from "../../modules/shared/validation";
import { messageOf, newStack, only, resources, statement, statementsOf, Synthesized, synthJson } from "../support/synth";

const DOCKER_HUB_SECRET = "arn:aws:secretsmanager:eu-central-1:111111111111:secret:ecr-pullthroughcache/docker-hub-AbCdEf";
const GHCR_SECRET = "arn:aws:secretsmanager:eu-central-1:111111111111:secret:ecr-pullthroughcache/ghcr-AbCdEf";
const DOCKER_HUB: PullThroughCacheRuleProps = { upstream: "docker-hub", credentialSecretArn: DOCKER_HUB_SECRET };

/** The problem lines of the PropValidationError the construct throws for `props`. */
function problemsOf(props: EcrPullThroughCacheProps, stack: TerraformStack = newStack()): readonly string[] {
  try {
    new EcrPullThroughCache(stack, "Cache", props);
  } catch (e) {
    if (e instanceof PropValidationError) return e.problems;
    throw e;
  }
  throw new Error("expected a PropValidationError");
}
const problemOf = (rule: PullThroughCacheRuleProps) => problemsOf({ rules: [rule] });

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

describe("EcrPullThroughCache", () => {
  describe("synthesizes one rule per upstream, its registry URL fixed by the type", () => {
    test("docker-hub with its credential, ecr-public, quay, k8s, GHCR, GitLab and Azure", () => {
      const stack = newStack();
      new EcrPullThroughCache(stack, "Cache", {
        rules: [
          DOCKER_HUB,
          { upstream: "ecr-public" },
          { upstream: "quay", prefix: "quay-io" },
          { upstream: "k8s" },
          { upstream: "github-container-registry", prefix: "ghcr", credentialSecretArn: GHCR_SECRET },
          { upstream: "gitlab-container-registry", prefix: "gitlab", credentialSecretArn: "arn:aws:secretsmanager:eu-central-1:111111111111:secret:ecr-pullthroughcache/gitlab" },
          { upstream: "azure-container-registry", prefix: "azure/team", azureRegistryName: "MyRegistry01", credentialSecretArn: "arn:aws:secretsmanager:eu-central-1:111111111111:secret:ecr-pullthroughcache/acr" },
        ],
      });
      const rules = resources(synthJson(stack), "aws_ecr_pull_through_cache_rule");
      const rows = rules.map((r) => [r.ecr_repository_prefix, r.upstream_registry_url, r.credential_arn]);
      expect(rows).toHaveLength(7);
      expect(rows).toEqual(expect.arrayContaining([
        ["docker-hub", "registry-1.docker.io", DOCKER_HUB_SECRET],
        ["ecr-public", "public.ecr.aws", undefined],
        ["quay-io", "quay.io", undefined],
        ["k8s", "registry.k8s.io", undefined],
        ["ghcr", "ghcr.io", GHCR_SECRET],
        ["gitlab", "registry.gitlab.com", "arn:aws:secretsmanager:eu-central-1:111111111111:secret:ecr-pullthroughcache/gitlab"],
        ["azure/team", "myregistry01.azurecr.io", "arn:aws:secretsmanager:eu-central-1:111111111111:secret:ecr-pullthroughcache/acr"],
      ]));
    });

    test("the upstream URLs are the ones ECR documents", () => {
      expect(Object.fromEntries(Object.entries(PULL_THROUGH_UPSTREAMS).map(([k, v]) => [k, [v.url, v.credential]]))).toEqual({
        "docker-hub": ["registry-1.docker.io", "required"],
        "ecr-public": ["public.ecr.aws", "none"],
        quay: ["quay.io", "optional"],
        k8s: ["registry.k8s.io", "none"],
        "github-container-registry": ["ghcr.io", "required"],
        "gitlab-container-registry": ["registry.gitlab.com", "required"],
        "azure-container-registry": ["<name>.azurecr.io", "required"],
      });
    });

    test.each(["ab", "docker-hub", "team/docker__hub", "cache--public", "a.b_c/d", "x".repeat(30)])("the prefix %s is accepted", (prefix) => {
      expect(() => new EcrPullThroughCache(newStack(), "Cache", { rules: [{ upstream: "ecr-public", prefix }] })).not.toThrow();
    });

    test("the prefix defaults to the upstream's name", () => {
      const stack = newStack();
      new EcrPullThroughCache(stack, "Cache", { rules: [{ upstream: "ecr-public" }] });
      expect(only(synthJson(stack), "aws_ecr_pull_through_cache_rule")).toEqual({ ecr_repository_prefix: "ecr-public", upstream_registry_url: "public.ecr.aws" });
    });
  });

  describe("refuses at synth, one line per problem", () => {
    test.each<[string, PullThroughCacheRuleProps, string]>([
      ["an unknown upstream", { upstream: "gcr" as any }, `rules[0].upstream "gcr" must be one of docker-hub, ecr-public, quay, k8s, github-container-registry, gitlab-container-registry, azure-container-registry`],
      ["a prefix of 1 character", { upstream: "ecr-public", prefix: "e" }, `rules[0].prefix "e" must be 2-30 characters`],
      ["a prefix of 31 characters", { upstream: "ecr-public", prefix: "a".repeat(31) }, `rules[0].prefix "${"a".repeat(31)}" must be 2-30 characters`],
      ["an uppercase prefix", { upstream: "ecr-public", prefix: "ECR" }, `rules[0].prefix "ECR" must be 2-30 characters`],
      ["a prefix ending with /", { upstream: "ecr-public", prefix: "ecr/" }, `rules[0].prefix "ecr/" must be 2-30 characters`],
      ["a prefix with a double dot", { upstream: "ecr-public", prefix: "ecr..public" }, `rules[0].prefix "ecr..public" must be 2-30 characters`],
      ["a prefix with three underscores", { upstream: "ecr-public", prefix: "ecr___public" }, `rules[0].prefix "ecr___public" must be 2-30 characters`],
      ["a prefix starting with a dash", { upstream: "ecr-public", prefix: "-ecr" }, `rules[0].prefix "-ecr" must be 2-30 characters`],
      ["ROOT (the registry's root, which would shadow every repository)", { upstream: "ecr-public", prefix: "ROOT" }, `rules[0].prefix "ROOT" must be 2-30 characters`],
      ["a Docker Hub rule without a credential", { upstream: "docker-hub" }, `rules[0].credentialSecretArn undefined is required for upstream docker-hub (registry-1.docker.io is pulled with a credential`],
      ["a GHCR rule without a credential", { upstream: "github-container-registry" }, `rules[0].credentialSecretArn undefined is required for upstream github-container-registry`],
      ["a GitLab rule without a credential", { upstream: "gitlab-container-registry" }, `rules[0].credentialSecretArn undefined is required for upstream gitlab-container-registry`],
      ["an Azure rule without a credential", { upstream: "azure-container-registry", azureRegistryName: "myregistry" }, `rules[0].credentialSecretArn undefined is required for upstream azure-container-registry`],
      ["a credential for ecr-public", { upstream: "ecr-public", credentialSecretArn: DOCKER_HUB_SECRET }, `rules[0].credentialSecretArn "${DOCKER_HUB_SECRET}" must not be set for upstream ecr-public`],
      ["a credential for k8s", { upstream: "k8s", credentialSecretArn: DOCKER_HUB_SECRET }, `rules[0].credentialSecretArn "${DOCKER_HUB_SECRET}" must not be set for upstream k8s`],
      [
        "a secret not named ecr-pullthroughcache/",
        { upstream: "docker-hub", credentialSecretArn: "arn:aws:secretsmanager:eu-central-1:111111111111:secret:dockerhub-AbCdEf" },
        `rules[0].credentialSecretArn "arn:aws:secretsmanager:eu-central-1:111111111111:secret:dockerhub-AbCdEf" must be the ARN of a Secrets Manager secret whose name starts with ecr-pullthroughcache/`,
      ],
      ["a secret name instead of an ARN", { upstream: "quay", credentialSecretArn: "ecr-pullthroughcache/quay" }, `rules[0].credentialSecretArn "ecr-pullthroughcache/quay" must be the ARN of a Secrets Manager secret`],
      [
        "a secret of another region than the rule",
        { upstream: "docker-hub", credentialSecretArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:ecr-pullthroughcache/docker-hub" },
        `rules[0].credentialSecretArn "arn:aws:secretsmanager:us-east-1:111111111111:secret:ecr-pullthroughcache/docker-hub" must be a secret of the rule's region eu-central-1`,
      ],
      ["an Azure rule without a registry name", { upstream: "azure-container-registry", credentialSecretArn: GHCR_SECRET }, `rules[0].azureRegistryName undefined must be the Azure registry name: 5-50 letters and digits`],
      ["an Azure registry name with a dot", { upstream: "azure-container-registry", azureRegistryName: "my.registry", credentialSecretArn: GHCR_SECRET }, `rules[0].azureRegistryName "my.registry" must be the Azure registry name`],
      ["a registry name for another upstream", { upstream: "quay", azureRegistryName: "myregistry" }, `rules[0].azureRegistryName "myregistry" is only for upstream azure-container-registry`],
    ])("%s", (_name, rule, line) => {
      const problems = problemOf(rule);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(`EcrPullThroughCache 'Cache': ${line}`);
    });

    test("no rules", () => {
      expect(problemsOf({ rules: [] })).toEqual([`EcrPullThroughCache 'Cache': rules [] must hold at least one rule (one per upstream registry)`]);
    });

    test("two rules for one upstream, two rules with one prefix, a prefix under another", () => {
      expect(
        problemsOf({
          rules: [
            { upstream: "ecr-public", prefix: "cache" },
            { upstream: "ecr-public", prefix: "public" },
            { upstream: "k8s", prefix: "cache" },
            { upstream: "quay", prefix: "cache/quay" },
          ],
        }),
      ).toEqual([
        `EcrPullThroughCache 'Cache': rules[1].upstream "ecr-public" is already cached by rules[0] (one rule per upstream)`,
        `EcrPullThroughCache 'Cache': rules[2].prefix "cache" is already the prefix of rules[0] (each rule needs its own prefix)`,
        `EcrPullThroughCache 'Cache': rules[3].prefix "cache/quay" overlaps rules[0].prefix "cache" (one prefix must not be a path under another)`,
        `EcrPullThroughCache 'Cache': rules[3].prefix "cache/quay" overlaps rules[2].prefix "cache" (one prefix must not be a path under another)`,
      ]);
    });

    test("a secret of another account than the rule's (the account known from allowed_account_ids)", () => {
      const stack = new TerraformStack(Testing.app(), "test");
      new AwsProvider(stack, "aws", { region: "eu-central-1", allowedAccountIds: ["222222222222"] });
      expect(problemsOf({ rules: [DOCKER_HUB] }, stack)).toEqual([
        `EcrPullThroughCache 'Cache': rules[0].credentialSecretArn "${DOCKER_HUB_SECRET}" must be a secret of the rule's account 222222222222`,
      ]);
    });

    test("every problem of several rules at once", () => {
      expect(problemsOf({ rules: [{ upstream: "docker-hub", prefix: "Docker" }, { upstream: "ecr-public", credentialSecretArn: GHCR_SECRET }] })).toHaveLength(3);
    });
  });

  describe("image URIs", () => {
    const build = () => {
      const stack = newStack();
      const cache = new EcrPullThroughCache(stack, "Cache", { rules: [DOCKER_HUB, { upstream: "ecr-public", prefix: "public" }, { upstream: "quay" }] });
      return { stack, cache };
    };

    test("imageUri: <registry>/<prefix>/<upstream path>", () => {
      const { stack, cache } = build();
      new EcrPullThroughCacheRule(stack, "Probe", { ecrRepositoryPrefix: cache.imageUri("docker-hub", "library/docker:27.3.1-dind"), upstreamRegistryUrl: "x" });
      const json = synthJson(stack);
      const probe = resources(json, "aws_ecr_pull_through_cache_rule").find((r) => r.upstream_registry_url === "x");
      expect(probe.ecr_repository_prefix).toBe(`${registry(json)}/docker-hub/library/docker:27.3.1-dind`);
    });

    test.each([
      ["docker:27.3.1-dind", "docker-hub", "library/docker:27.3.1-dind"],
      ["golang:1.23-bookworm", "docker-hub", "library/golang:1.23-bookworm"],
      ["docker.io/library/golang:1.23-bookworm", "docker-hub", "library/golang:1.23-bookworm"],
      ["docker.io/bitnami/kubectl:1.31", "docker-hub", "bitnami/kubectl:1.31"],
      ["bitnami/kubectl:1.31", "docker-hub", "bitnami/kubectl:1.31"],
      ["public.ecr.aws/docker/library/golang:1.23", "ecr-public", "docker/library/golang:1.23"],
      ["quay.io/prometheus/node-exporter:v1.8.2", "quay", "prometheus/node-exporter:v1.8.2"],
      ["registry.k8s.io/pause:3.10", "k8s", "pause:3.10"],
      ["ghcr.io/owner/app:1.0", "github-container-registry", "owner/app:1.0"],
      ["registry.gitlab.com/group/app:1.0", "gitlab-container-registry", "group/app:1.0"],
    ])("upstreamOfImage(%s) is %s %s", (reference, upstream, path) => {
      expect(upstreamOfImage(reference)).toMatchObject({ upstream, path });
    });

    test("upstreamOfImage: a registry no upstream serves (gcr.io) has none", () => {
      expect(upstreamOfImage("gcr.io/distroless/static-debian12:nonroot")).toBeUndefined();
    });

    test("cachedImage maps an upstream reference to its cached URI", () => {
      const { stack, cache } = build();
      new EcrPullThroughCacheRule(stack, "Probe", { ecrRepositoryPrefix: cache.cachedImage("public.ecr.aws/docker/library/golang:1.23"), upstreamRegistryUrl: "x" });
      const json = synthJson(stack);
      expect(resources(json, "aws_ecr_pull_through_cache_rule").find((r) => r.upstream_registry_url === "x").ecr_repository_prefix).toBe(
        `${registry(json)}/public/docker/library/golang:1.23`,
      );
    });

    test.each([
      ["cachedImage", (c: EcrPullThroughCache) => c.cachedImage("gcr.io/distroless/static-debian12:nonroot"), `cachedImage reference "gcr.io/distroless/static-debian12:nonroot" is on a registry no pull-through cache upstream serves`],
      ["cachedImage", (c: EcrPullThroughCache) => c.cachedImage("ghcr.io/owner/app:1.0"), `cachedImage reference "ghcr.io/owner/app:1.0" is on github-container-registry, which has no rule in this cache (rules: docker-hub, ecr-public, quay)`],
      ["imageUri", (c: EcrPullThroughCache) => c.imageUri("k8s", "pause:3.10"), `imageUri upstream "k8s" has no rule in this cache (rules: docker-hub, ecr-public, quay)`],
      ["imageUri", (c: EcrPullThroughCache) => c.imageUri("docker-hub", "Library/Docker"), `imageUri repositoryPath "Library/Docker" must be a repository path under the upstream`],
      ["buildArgs", (c: EcrPullThroughCache) => c.buildArgs({ "BUILDER-IMAGE": "golang:1.23" }), `buildArgs name "BUILDER-IMAGE" must be letters, digits and '_', not starting with a digit`],
      ["buildArgs", (c: EcrPullThroughCache) => c.buildArgs({ RUNTIME_IMAGE: "gcr.io/distroless/static-debian12:nonroot" }), `buildArgs.RUNTIME_IMAGE "gcr.io/distroless/static-debian12:nonroot" is on a registry no pull-through cache upstream serves`],
      ["grantPullThrough", (c: EcrPullThroughCache) => c.grantPullThrough(new CodeBuildServiceRole(c, "R"), ["k8s"]), `grantPullThrough upstream "k8s" has no rule in this cache`],
    ])("%s refuses what the cache cannot serve, one line", (_m, call, line) => {
      const { cache } = build();
      expect(messageOf(() => call(cache))).toContain(`EcrPullThroughCache 'Cache': ${line}`);
    });

    test("buildArgs: the Dockerfile's base-image build args as PLAINTEXT variables with cached URIs", () => {
      const { stack, cache } = build();
      const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      const project = new CodeBuildPrivilegedProject(stack, "App", {
        projectName: "build-app",
        repository: repo,
        environmentVariables: cache.buildArgs({ BUILDER_IMAGE: "golang:1.23-bookworm" }),
      });
      cache.grantPullThrough(project.role, ["docker-hub"]);
      const json = synthJson(stack);
      const variable = only(json, "aws_codebuild_project").environment.environment_variable.find((v: any) => v.name === "BUILDER_IMAGE");
      expect(variable).toEqual({ name: "BUILDER_IMAGE", type: "PLAINTEXT", value: `${registry(json)}/docker-hub/library/golang:1.23-bookworm` });
      expect(statement(json, "App/Role/PolicyDocument", "EcrPullThroughCache").resources).toEqual([repositoryArn(json, "docker-hub")]);
    });
  });

  describe("grantPullThrough", () => {
    test("the pull actions, BatchImportUpstreamImage and CreateRepository on exactly repository/<prefix>/* of each rule; GetAuthorizationToken on *", () => {
      const stack = newStack();
      const cache = new EcrPullThroughCache(stack, "Cache", { rules: [DOCKER_HUB, { upstream: "ecr-public", prefix: "public/aws" }] });
      const role = new CodeBuildServiceRole(stack, "Role");
      cache.grantPullThrough(role);
      const json = synthJson(stack);
      expect(statementsOf(json, "Role/PolicyDocument")).toEqual([
        {
          sid: "EcrPullThroughCache",
          effect: "Allow",
          actions: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository", "ecr:GetDownloadUrlForLayer"],
          resources: [repositoryArn(json, "docker-hub"), repositoryArn(json, "public/aws")],
        },
        { sid: "EcrAuthToken", effect: "Allow", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] },
      ]);
      expect([...ECR_PULL_THROUGH_CACHE_ACTIONS]).toEqual(statement(json, "Role/PolicyDocument", "EcrPullThroughCache").actions);
      expect(repositoryArn(json, "docker-hub")).toMatch(/^arn:\$\{data\.aws_partition\.[^}]+\}:ecr:\$\{data\.aws_region\.[^}]+\}:\$\{data\.aws_caller_identity\.[^}]+\.account_id\}:repository\/docker-hub\/\*$/);
    });

    test("only the named upstreams' prefixes", () => {
      const stack = newStack();
      const cache = new EcrPullThroughCache(stack, "Cache", { rules: [DOCKER_HUB, { upstream: "quay" }] });
      const role = new CodeBuildServiceRole(stack, "Role");
      cache.grantPullThrough(role, ["quay"]);
      const json = synthJson(stack);
      expect(statement(json, "Role/PolicyDocument", "EcrPullThroughCache").resources).toEqual([repositoryArn(json, "quay")]);
    });
  });
});
