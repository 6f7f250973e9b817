/**
 * The pure prop check of an {@link EcrPullThroughCache}. Internal: the package exports the
 * construct, not this function.
 */
import { PropProblems, type PropProblemDetail, isToken, recordedProblems } from "../shared/validation";
import { AZURE_REGISTRY_NAME_PATTERN, AZURE_REGISTRY_NAME_RULE } from "../shared/patterns";
import {
  type EcrPullThroughCache,
  type EcrPullThroughCacheProps,
  PULL_THROUGH_CREDENTIAL_PATTERN,
  PULL_THROUGH_CREDENTIAL_RULE,
  PULL_THROUGH_PREFIX_PATTERN,
  PULL_THROUGH_PREFIX_RULE,
  PULL_THROUGH_UPSTREAMS,
  type PullThroughCacheRuleProps,
  type PullThroughUpstream,
  upstreamOfImage,
} from "./ecr-pull-through-cache";

const CONSTRUCT = "EcrPullThroughCache";

/**
 * The problems of an {@link EcrPullThroughCache}'s props, as data (prop, value, rule): what its
 * constructor throws, without a construct (the environments file's check reports them at the
 * config's fields).
 * @param region the cache's region, when known (a credential must be a secret of it)
 * @param account the cache's account, when known (a credential must be a secret of it)
 */
export function pullThroughCachePropProblems(id: string, props: EcrPullThroughCacheProps, region?: string, account?: string): readonly PropProblemDetail[] {
  const p = new PropProblems(CONSTRUCT, id);
  check(p, props, region, account);
  return recordedProblems(p);
}

function check(p: PropProblems, props: EcrPullThroughCacheProps, region: string | undefined, account: string | undefined): void {
  const rules = props?.rules;
  if (!Array.isArray(rules) || rules.length === 0) return p.add("rules", rules, "must hold at least one rule (one per upstream registry)");
  const upstreams = Object.keys(PULL_THROUGH_UPSTREAMS) as PullThroughUpstream[];
  const seenUpstream = new Map<string, number>();
  const prefixes: [number, string][] = [];
  const ids = new Map<string, number>();
  rules.forEach((rule, i) => {
    const at = `rules[${i}]`;
    if (!upstreams.includes(rule.upstream)) {
      p.add(`${at}.upstream`, rule.upstream, `must be one of ${upstreams.join(", ")}`);
      return;
    }
    const info = PULL_THROUGH_UPSTREAMS[rule.upstream];
    const before = seenUpstream.get(rule.upstream);
    if (before !== undefined) p.add(`${at}.upstream`, rule.upstream, `is already cached by rules[${before}] (one rule per upstream)`);
    else seenUpstream.set(rule.upstream, i);

    const prefix = rule.prefix ?? rule.upstream;
    if (!isToken(prefix)) {
      const ok = typeof prefix === "string" && prefix.length >= 2 && prefix.length <= 30 && PULL_THROUGH_PREFIX_PATTERN.test(prefix);
      p.check(ok, `${at}.prefix`, prefix, PULL_THROUGH_PREFIX_RULE);
      if (ok) {
        for (const [j, other] of prefixes) {
          if (other === prefix) p.add(`${at}.prefix`, prefix, `is already the prefix of rules[${j}] (each rule needs its own prefix)`);
          else if (other.startsWith(`${prefix}/`) || prefix.startsWith(`${other}/`)) {
            p.add(`${at}.prefix`, prefix, `overlaps rules[${j}].prefix ${JSON.stringify(other)} (one prefix must not be a path under another)`);
          }
        }
        prefixes.push([i, prefix]);
        const id = resourceId(prefix);
        const same = ids.get(id);
        if (same !== undefined && prefixes.find(([j]) => j === same)?.[1] !== prefix) {
          p.add(`${at}.prefix`, prefix, `names the same construct as rules[${same}].prefix (${id}); choose prefixes that differ in more than punctuation`);
        } else ids.set(id, i);
      }
    }

    const credential = rule.credentialSecretArn;
    if (credential === undefined) {
      if (info.credential === "required") {
        p.add(`${at}.credentialSecretArn`, credential, `is required for upstream ${rule.upstream} (${info.url} is pulled with a credential: a Secrets Manager secret named ecr-pullthroughcache/<name>)`);
      }
    } else if (info.credential === "none") {
      p.add(`${at}.credentialSecretArn`, credential, `must not be set for upstream ${rule.upstream} (ECR pulls ${info.url} without a credential)`);
    } else if (!isToken(credential)) {
      const m = PULL_THROUGH_CREDENTIAL_PATTERN.exec(credential);
      if (m === null) p.add(`${at}.credentialSecretArn`, credential, PULL_THROUGH_CREDENTIAL_RULE);
      else {
        if (region !== undefined && m[1] !== region) p.add(`${at}.credentialSecretArn`, credential, `must be a secret of the rule's region ${region} (ECR reads the credential in its own region)`);
        if (account !== undefined && m[2] !== account) p.add(`${at}.credentialSecretArn`, credential, `must be a secret of the rule's account ${account}`);
      }
    }

    if (rule.upstream === "azure-container-registry") {
      p.check(typeof rule.azureRegistryName === "string" && AZURE_REGISTRY_NAME_PATTERN.test(rule.azureRegistryName), `${at}.azureRegistryName`, rule.azureRegistryName, AZURE_REGISTRY_NAME_RULE);
    } else if (rule.azureRegistryName !== undefined) {
      p.add(`${at}.azureRegistryName`, rule.azureRegistryName, "is only for upstream azure-container-registry");
    }
  });
}

/** A construct ID for the rule of `prefix` (`docker-hub` → `DockerHub`, `team/quay` → `TeamQuay`). */
export function resourceId(prefix: string): string {
  return prefix
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join("");
}

/** The registry URL a rule caches. */
export function upstreamUrl(rule: PullThroughCacheRuleProps): string {
  return rule.upstream === "azure-container-registry" ? `${(rule.azureRegistryName ?? "").toLowerCase()}.azurecr.io` : PULL_THROUGH_UPSTREAMS[rule.upstream].url;
}

/** A cache rule as coverage reads it: its upstream and the registry URL it caches. */
export interface CoveringRule {
  readonly upstream: PullThroughUpstream;
  readonly upstreamRegistryUrl: string;
}

/** The rules of a cache's props, as coverage reads them. */
export function coveringRules(props: EcrPullThroughCacheProps): CoveringRule[] {
  return props.rules.map((rule) => ({ upstream: rule.upstream, upstreamRegistryUrl: upstreamUrl(rule) }));
}

/**
 * Why `reference` cannot be pulled through a cache of `rules` (no upstream serves its registry,
 * the cache has no rule for it, another Azure registry), or undefined when it can.
 */
export function coverageProblemOf(rules: readonly CoveringRule[], reference: string): string | undefined {
  const found = upstreamOfImage(reference);
  if (found === undefined) return `is on a registry no pull-through cache upstream serves (upstreams: ${Object.values(PULL_THROUGH_UPSTREAMS).map((u) => u.url).join(", ")})`;
  const rule = rules.find((r) => r.upstream === found.upstream);
  if (rule === undefined) return `is on ${found.upstream}, which has no rule in this cache (rules: ${rules.map((r) => r.upstream).join(", ")})`;
  if (found.upstream === "azure-container-registry" && rule.upstreamRegistryUrl !== `${found.azureRegistryName}.azurecr.io`) {
    return `is on another Azure registry than the cache's ${rule.upstreamRegistryUrl}`;
  }
  return undefined;
}

const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The problems of `buildArgs` (build arg names to upstream image references) for a cache of
 * `rules`, as data: what {@link EcrPullThroughCache.buildArgs} throws.
 */
export function buildArgsProblems(id: string, rules: readonly CoveringRule[], args: Record<string, string>): readonly PropProblemDetail[] {
  const p = new PropProblems(CONSTRUCT, id);
  for (const [name, reference] of Object.entries(args)) {
    if (!BUILD_ARG_NAME.test(name)) p.add("buildArgs name", name, "must be letters, digits and '_', not starting with a digit");
    const problem = typeof reference === "string" && reference.length > 0 ? coverageProblemOf(rules, reference) : "must be an upstream image reference, e.g. golang:1.23-bookworm";
    if (problem !== undefined) p.add(`buildArgs.${name}`, reference, problem);
  }
  return recordedProblems(p);
}
