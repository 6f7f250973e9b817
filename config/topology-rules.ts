/**
 * The topology of an organization: who owns an image pipeline, who pulls from it, where it
 * replicates to; the rules between environments and the names and ARNs derived from them.
 */
import { partitionOf } from "../modules/shared/patterns";
import type { EnvironmentConfig } from "./environment-schema";
import type { SchemaProblem } from "./problems";

/**
 * Rules between environments (checked on the environments that are valid on their own): whom
 * an environment pulls from, where an owner replicates to, and no cycles.
 */
export function topologyProblems(envs: readonly EnvironmentConfig[], declared: readonly string[] = envs.map((e) => e.name)): (SchemaProblem & { env: string })[] {
  const out: (SchemaProblem & { env: string })[] = [];
  const byName = new Map(envs.map((e) => [e.name, e]));
  // An environment declared but invalid on its own has its own lines: no follow-on lines here.
  const invalid = (name: string) => declared.includes(name) && !byName.has(name);
  for (const env of envs) {
    if (env.pullFrom !== undefined && !invalid(env.pullFrom)) {
      const owner = byName.get(env.pullFrom);
      if (env.pullFrom === env.name) {
        out.push({ env: env.name, path: "pullFrom", value: env.pullFrom, rule: "names the environment itself: an environment does not pull the repository it owns" });
      } else if (owner === undefined) {
        out.push({ env: env.name, path: "pullFrom", value: env.pullFrom, rule: `is not an environment of this file (known: ${declared.join(", ")})` });
      } else if (owner.build === undefined) {
        out.push({ env: env.name, path: "pullFrom", value: env.pullFrom, rule: `names an environment that owns no image pipeline (it has no build)` });
      } else if (owner.local !== env.local) {
        out.push({ env: env.name, path: "pullFrom", value: env.pullFrom, rule: "names an environment on the other side of local/real (a local environment pulls only from a local one, and a real one from a real one)" });
      }
    }
    for (const target of (env.build?.replicateToEnvironments ?? []).filter((t) => !invalid(t))) {
      const dest = byName.get(target);
      const at = { env: env.name, path: "build.replicateToEnvironments", value: target };
      if (target === env.name) out.push({ ...at, rule: "names the environment itself (its own other regions are build.replicaRegions)" });
      else if (dest === undefined) out.push({ ...at, rule: `is not an environment of this file (known: ${declared.join(", ")})` });
      else if (dest.accountId === env.accountId) out.push({ ...at, rule: `is in the same account ${env.accountId}: list its regions in build.replicaRegions of one environment instead` });
      else if (dest.build?.repositoryName === env.build?.repositoryName) {
        out.push({ ...at, rule: `owns a repository of the same name ${JSON.stringify(dest.build?.repositoryName)}, which replication would write into` });
      }
    }
  }
  // A cycle of pullFrom (a pulls from b, b pulls from a): the pull roles of each must exist before
  // the other's repository policy names them, so no order can deploy it.
  for (const start of envs) {
    const seen: string[] = [start.name];
    let next = start.pullFrom;
    while (next !== undefined && byName.has(next) && next !== start.name && !seen.includes(next)) {
      seen.push(next);
      next = byName.get(next)?.pullFrom;
    }
    if (next === start.name && seen.length > 1 && start.name === [...seen].sort()[0]) {
      out.push({ env: start.name, path: "pullFrom", value: start.pullFrom, rule: `forms a cycle: ${[...seen, start.name].join(" -> ")} (each must be deployed before the other)` });
    }
  }
  return out;
}

/** The environments that pull from `owner`. */
export function consumersOf(owner: EnvironmentConfig, all: readonly EnvironmentConfig[]): EnvironmentConfig[] {
  return all.filter((e) => e.pullFrom === owner.name);
}

/** The regions of an owner that hold its repository; the first is the primary (it builds). */
export function repositoryRegions(owner: EnvironmentConfig): string[] {
  const replicas = owner.build?.replicaRegions ?? [];
  const building = owner.regions.filter((r) => !replicas.includes(r));
  return [...building, ...replicas];
}

/** The name suffix of each kind of pull role a consumer gets. */
export const PULL_ROLE_SUFFIXES = { ecsExecution: "ecs-execution", workload: "workload" } as const;

/**
 * The name of a pull role of a consumer of `owner`: fixed and derived from the config only, so
 * the owner's stacks name it without reading the consumer's state.
 */
export function pullRoleName(owner: string, kind: keyof typeof PULL_ROLE_SUFFIXES): string {
  return `ecr-pull-${owner}-${PULL_ROLE_SUFFIXES[kind]}`;
}

/** The ARNs of the pull roles of one consumer (both kinds). */
export function pullRoleArns(owner: EnvironmentConfig, consumer: EnvironmentConfig): string[] {
  return (Object.keys(PULL_ROLE_SUFFIXES) as (keyof typeof PULL_ROLE_SUFFIXES)[]).map((k) => `arn:${partitionOf(consumer.regions[0])}:iam::${consumer.accountId}:role/${pullRoleName(owner.name, k)}`);
}

/** The ARN of an owner's repository in one of its regions, from the config. */
export function repositoryArn(owner: EnvironmentConfig, region: string): string {
  return `arn:${partitionOf(region)}:ecr:${region}:${owner.accountId}:repository/${owner.build?.repositoryName}`;
}

