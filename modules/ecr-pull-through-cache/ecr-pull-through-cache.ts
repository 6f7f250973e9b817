import { Construct } from "constructs";
import { EcrPullThroughCacheRule } from "@cdktf/provider-aws/lib/ecr-pull-through-cache-rule";
import { AwsContext } from "../shared/aws-context";
import { ECR_AUTH_ACTIONS, IGrantee } from "../shared/iam";
import type { BuildEnvironmentVariable } from "../codebuild-project/codebuild-docker-project";
import { sameCopy } from "../shared/one-copy";
import { PropProblems, throwPropProblems } from "../shared/validation";
import { buildArgsProblems, coverageProblemOf, pullThroughCachePropProblems, resourceId, upstreamUrl } from "./pull-through-cache-props";

/** The upstream registries an ECR pull-through cache rule can cache. */
export type PullThroughUpstream =
  | "docker-hub"
  | "ecr-public"
  | "quay"
  | "k8s"
  | "github-container-registry"
  | "gitlab-container-registry"
  | "azure-container-registry";

/** Whether an upstream needs a registry credential (a Secrets Manager secret). */
export type PullThroughCredential = "required" | "optional" | "none";

/** What ECR documents about one upstream registry. */
export interface PullThroughUpstreamInfo {
  /** The upstream registry URL ECR is given (`<name>` stands for the Azure registry name). */
  readonly url: string;
  /** Whether the rule needs a credential, may have one, or takes none. */
  readonly credential: PullThroughCredential;
}

/**
 * The upstream registries and their fixed registry URLs, with their credential rule.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html
 */
export const PULL_THROUGH_UPSTREAMS: Readonly<Record<PullThroughUpstream, PullThroughUpstreamInfo>> = {
  "docker-hub": { url: "registry-1.docker.io", credential: "required" },
  "ecr-public": { url: "public.ecr.aws", credential: "none" },
  quay: { url: "quay.io", credential: "optional" },
  k8s: { url: "registry.k8s.io", credential: "none" },
  "github-container-registry": { url: "ghcr.io", credential: "required" },
  "gitlab-container-registry": { url: "registry.gitlab.com", credential: "required" },
  "azure-container-registry": { url: "<name>.azurecr.io", credential: "required" },
};

/**
 * Pull an image through a pull-through cache: the pull actions, `ecr:BatchImportUpstreamImage`
 * (ECR fetches the image from upstream) and `ecr:CreateRepository` (the first pull creates the
 * cached repository), on the cache's `repository/<prefix>/*` only; plus
 * `ecr:GetAuthorizationToken` on `*`.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html
 */
export const ECR_PULL_THROUGH_CACHE_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:BatchImportUpstreamImage",
  "ecr:CreateRepository",
  "ecr:GetDownloadUrlForLayer",
] as const;

/**
 * An ECR repository prefix: 2-30 characters, lowercase letters and digits with `.`, `_`, `__` or
 * dashes between them, path parts separated by `/` (ECR's CreatePullThroughCacheRule pattern,
 * without the trailing `/` ECR assumes and without `ROOT`, which caches at the registry's root).
 */
export const PULL_THROUGH_PREFIX_PATTERN = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/** The rule a prefix breaks, for messages. */
export const PULL_THROUGH_PREFIX_RULE =
  "must be 2-30 characters: lowercase letters and digits, with '.', '_', '__' or dashes between them, parts separated by '/' (ECR repository prefix rules)";

/**
 * The credential of a rule: a Secrets Manager secret whose name starts with
 * `ecr-pullthroughcache/` (ECR reads no other secret).
 */
export const PULL_THROUGH_CREDENTIAL_PATTERN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:ecr-pullthroughcache\/[A-Za-z0-9/_+=.@-]+$/;

/** The rule a credential ARN breaks, for messages. */
export const PULL_THROUGH_CREDENTIAL_RULE =
  "must be the ARN of a Secrets Manager secret whose name starts with ecr-pullthroughcache/ (arn:aws:secretsmanager:<region>:<account>:secret:ecr-pullthroughcache/<name>)";

/** An Azure container registry name: 5-50 letters and digits. */

/** A repository path with a tag or digest, as it is under the upstream registry. */
const REPOSITORY_PATH = /^[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})?$/;

/** A build argument name (an environment variable of the build). */

/** One pull-through cache rule: an upstream registry and the prefix its images are cached under. */
export interface PullThroughCacheRuleProps {
  /** The upstream registry; its URL is fixed by the type ({@link PULL_THROUGH_UPSTREAMS}). */
  readonly upstream: PullThroughUpstream;
  /**
   * The ECR repository prefix the images are cached under (`<prefix>/<upstream path>`).
   * @default - the upstream's name, e.g. `docker-hub`
   */
  readonly prefix?: string;
  /**
   * ARN of the Secrets Manager secret (`username` and `accessToken`) ECR signs in to the upstream
   * with; its name must start with `ecr-pullthroughcache/`. Required for docker-hub,
   * github-container-registry, gitlab-container-registry and azure-container-registry; optional
   * for quay; not taken by ecr-public and k8s.
   * @default - none
   */
  readonly credentialSecretArn?: string;
  /**
   * The Azure registry name (`<name>.azurecr.io`); azure-container-registry only.
   * @default - none
   */
  readonly azureRegistryName?: string;
}

/** Properties of an {@link EcrPullThroughCache}. */
export interface EcrPullThroughCacheProps {
  /** One rule per upstream (1 or more). */
  readonly rules: PullThroughCacheRuleProps[];
}

/** A rule as the cache created it. */
export interface PullThroughCacheRuleInfo {
  /** The upstream registry. */
  readonly upstream: PullThroughUpstream;
  /** The ECR repository prefix its images are cached under. */
  readonly prefix: string;
  /** The upstream registry URL given to ECR. */
  readonly upstreamRegistryUrl: string;
  /** The credential secret ARN, if the rule has one. */
  readonly credentialSecretArn?: string;
  /** The `aws_ecr_pull_through_cache_rule`. */
  readonly resource: EcrPullThroughCacheRule;
}

const CONSTRUCT = "EcrPullThroughCache";

/**
 * The upstream a Docker image reference is pulled from, and the path under it, e.g.
 * `docker:27.3.1-dind` → docker-hub `library/docker:27.3.1-dind`,
 * `public.ecr.aws/docker/library/golang:1.23` → ecr-public `docker/library/golang:1.23`.
 * @returns undefined when no pull-through cache upstream serves the reference's registry (e.g. gcr.io)
 */
export function upstreamOfImage(reference: string): { upstream: PullThroughUpstream; path: string; azureRegistryName?: string } | undefined {
  const parts = reference.split("/");
  const first = parts[0];
  const hasHost = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const host = hasHost ? first : "docker.io";
  const rest = hasHost ? parts.slice(1) : parts;
  if (rest.length === 0 || rest.join("/") === "") return undefined;
  const path = rest.join("/");
  if (host === "docker.io" || host === "registry-1.docker.io" || host === "index.docker.io") {
    return { upstream: "docker-hub", path: rest.length === 1 ? `library/${path}` : path };
  }
  const azure = /^([a-z0-9]{5,50})\.azurecr\.io$/i.exec(host);
  if (azure) return { upstream: "azure-container-registry", path, azureRegistryName: azure[1].toLowerCase() };
  const upstream = (Object.keys(PULL_THROUGH_UPSTREAMS) as PullThroughUpstream[]).find((u) => PULL_THROUGH_UPSTREAMS[u].url === host);
  return upstream === undefined ? undefined : { upstream, path };
}

/**
 * ECR pull-through cache rules (`aws_ecr_pull_through_cache_rule`), one per upstream registry, in
 * the registry of the stack's account and region. A pull of
 * `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<upstream path>` is served from the cache,
 * which ECR fills from the upstream on the first pull (with the rule's credential: Docker Hub's
 * rate limits count against that account, not against CodeBuild's shared IP addresses).
 *
 * Checked at synth: one rule per upstream, distinct non-overlapping prefixes (ECR's prefix
 * rules), the upstream URL fixed by the type, a credential where the upstream needs one and none
 * where it takes none, the `ecr-pullthroughcache/` secret name.
 *
 * @example
 * const cache = new EcrPullThroughCache(stack, "Cache", {
 *   rules: [
 *     { upstream: "docker-hub", credentialSecretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ecr-pullthroughcache/docker-hub-AbCdEf" },
 *     { upstream: "ecr-public" },
 *   ],
 * });
 * new CodeBuildDindProject(stack, "Dind", { projectName: "build-app-dind", repository: repo, pullThroughCache: cache });
 */
export class EcrPullThroughCache extends Construct {
  /** The rules, by upstream. */
  public readonly rules: readonly PullThroughCacheRuleInfo[];
  /** The registry the cache is in: `<account>.dkr.ecr.<region>.<dns suffix>` (tokens). */
  public readonly registry: string;
  private readonly context: AwsContext;

  constructor(scope: Construct, id: string, props: EcrPullThroughCacheProps) {
    super(sameCopy(scope, CONSTRUCT, id), id);
    throwPropProblems(pullThroughCachePropProblems(id, props, AwsContext.knownRegionOf(this), AwsContext.knownAccountIdOf(this)));
    this.context = AwsContext.of(this);
    this.registry = `${this.context.accountId}.dkr.ecr.${this.context.region}.${this.context.dnsSuffix}`;
    this.rules = props.rules.map((rule) => {
      const prefix = rule.prefix ?? rule.upstream;
      const upstreamRegistryUrl = upstreamUrl(rule);
      const resource = new EcrPullThroughCacheRule(this, resourceId(prefix), {
        ecrRepositoryPrefix: prefix,
        upstreamRegistryUrl,
        credentialArn: rule.credentialSecretArn,
      });
      return { upstream: rule.upstream, prefix, upstreamRegistryUrl, credentialSecretArn: rule.credentialSecretArn, resource };
    });
  }

  /** The rule of `upstream`, if the cache has one. */
  public ruleFor(upstream: PullThroughUpstream): PullThroughCacheRuleInfo | undefined {
    return this.rules.find((r) => r.upstream === upstream);
  }

  /**
   * The cached image URI of `repositoryPath` (with tag or digest) under `upstream`, e.g.
   * `imageUri("docker-hub", "library/docker:27.3.1-dind")` →
   * `<account>.dkr.ecr.<region>.amazonaws.com/docker-hub/library/docker:27.3.1-dind`.
   * Docker Hub official images are under `library/`.
   */
  public imageUri(upstream: PullThroughUpstream, repositoryPath: string): string {
    const p = new PropProblems(CONSTRUCT, this.node.id);
    const rule = this.ruleFor(upstream);
    if (rule === undefined) p.add("imageUri upstream", upstream, `has no rule in this cache (rules: ${this.rules.map((r) => r.upstream).join(", ")})`);
    p.check(REPOSITORY_PATH.test(repositoryPath), "imageUri repositoryPath", repositoryPath, "must be a repository path under the upstream with an optional tag or digest, e.g. library/docker:27.3.1-dind");
    p.throwIfAny();
    return `${this.registry}/${rule!.prefix}/${repositoryPath}`;
  }

  /**
   * The cached image URI of a Docker image reference as it would be pulled from upstream, e.g.
   * `cachedImage("docker:27.3.1-dind")` → `<registry>/docker-hub/library/docker:27.3.1-dind`,
   * `cachedImage("public.ecr.aws/docker/library/golang:1.23")` → `<registry>/ecr-public/docker/library/golang:1.23`.
   */
  public cachedImage(reference: string): string {
    const problem = this.coverageProblem(reference);
    if (problem !== undefined) fail(this.node.id, "cachedImage reference", reference, problem);
    const found = upstreamOfImage(reference)!;
    return this.imageUri(found.upstream, found.path);
  }

  /**
   * Why `reference` cannot be pulled through this cache (no upstream serves its registry, the
   * cache has no rule for it, another Azure registry), or undefined when it can.
   */
  public coverageProblem(reference: string): string | undefined {
    return coverageProblemOf(this.rules, reference);
  }

  /** The upstream `reference` is pulled from (it must be covered, see {@link EcrPullThroughCache.coverageProblem}). */
  public upstreamOf(reference: string): PullThroughUpstream | undefined {
    return this.coverageProblem(reference) === undefined ? upstreamOfImage(reference)!.upstream : undefined;
  }

  /**
   * Build arguments of the Dockerfile (e.g. `BUILDER_IMAGE`) pointed at the cache, as PLAINTEXT
   * environment variables of a project (the bundled buildspecs pass `BUILDER_IMAGE` and
   * `RUNTIME_IMAGE` as `--build-arg`). Give upstream references; each becomes its cached URI.
   * Grant the project's role with {@link EcrPullThroughCache.grantPullThrough}.
   *
   * @example
   * environmentVariables: cache.buildArgs({ BUILDER_IMAGE: "golang:1.23-bookworm" })
   */
  public buildArgs(args: Record<string, string>): Record<string, BuildEnvironmentVariable> {
    throwPropProblems(buildArgsProblems(this.node.id, this.rules, args));
    return Object.fromEntries(Object.entries(args).map(([name, reference]) => [name, { value: this.cachedImage(reference) }]));
  }

  /**
   * Lets `grantee` pull through the cache: {@link ECR_PULL_THROUGH_CACHE_ACTIONS} on
   * `arn:<partition>:ecr:<region>:<account>:repository/<prefix>/*` of each rule (all rules, or
   * those of `upstreams`), and `ecr:GetAuthorizationToken` on `*`.
   * @returns false when the grantee cannot be changed here
   */
  public grantPullThrough(grantee: IGrantee, upstreams?: PullThroughUpstream[]): boolean {
    const wanted = upstreams ?? this.rules.map((r) => r.upstream);
    const missing = wanted.filter((u) => this.ruleFor(u) === undefined);
    if (missing.length) {
      const p = new PropProblems(CONSTRUCT, this.node.id);
      for (const u of missing) p.add("grantPullThrough upstream", u, `has no rule in this cache (rules: ${this.rules.map((r) => r.upstream).join(", ")})`);
      p.throwIfAny();
    }
    const resources = this.rules.filter((r) => wanted.includes(r.upstream)).map((r) => this.repositoryArnPattern(r.upstream));
    const a = grantee.addToPrincipalPolicy({ sid: "EcrPullThroughCache", actions: ECR_PULL_THROUGH_CACHE_ACTIONS, resources });
    const b = grantee.addToPrincipalPolicy({ sid: "EcrAuthToken", actions: ECR_AUTH_ACTIONS, resources: ["*"] });
    if (!a && !b && grantee.unchangedWithoutAsking !== undefined) {
      throw new Error(`${CONSTRUCT} '${this.node.id}': grantPullThrough to ${grantee.node.path} would change nothing: only the grantee's own policy grants it, and ${grantee.unchangedWithoutAsking}`);
    }
    return a && b;
  }

  /** `arn:<partition>:ecr:<region>:<account>:repository/<prefix>/*` of the rule of `upstream`. */
  public repositoryArnPattern(upstream: PullThroughUpstream): string {
    const rule = this.ruleFor(upstream);
    if (rule === undefined) return fail(this.node.id, "upstream", upstream, `has no rule in this cache (rules: ${this.rules.map((r) => r.upstream).join(", ")})`);
    return this.context.arn("ecr", `repository/${rule.prefix}/*`);
  }
}

/** Throws a PropValidationError with one problem. */
function fail(id: string, prop: string, value: unknown, rule: string): never {
  const p = new PropProblems(CONSTRUCT, id);
  p.add(prop, value, rule);
  p.throwIfAny();
  throw new Error("unreachable");
}


