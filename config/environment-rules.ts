/**
 * The rules that span fields of one environment (an assumed role in the environment's account,
 * replica regions among its regions, …), on top of the schema's field-by-field rules.
 */
import { ROLE_ARN_PATTERN } from "../modules/shared/patterns";
import type { SchemaProblem } from "./problems";

/** Whether field `a` and field `b` (dotted paths, `[i]` for items) are the same, or one holds the other. */
function overlaps(a: string, b: string): boolean {
  const holds = (outer: string, inner: string) => outer === "" || inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return holds(a, b) || holds(b, a);
}

/** A plain object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Rules that span fields of one environment. Each rule runs when the fields it reads passed the
 * schema (`schemaProblems`), so a bad field elsewhere (a bad region) hides no other problem (a
 * role in another account); a rule is skipped only when a field it reads is itself reported.
 */
export function crossFieldProblems(env: unknown, schemaProblems: readonly SchemaProblem[] = []): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  if (!isObject(env)) return out;
  /** Whether none of `fields` (nor a part or a holder of one) broke the schema. */
  const valid = (...fields: string[]) => fields.every((f) => !schemaProblems.some((p) => overlaps(f, p.path)));
  const accountId = env.accountId;
  if (typeof env.assumeRoleArn === "string" && typeof accountId === "string" && valid("assumeRoleArn", "accountId")) {
    const m = ROLE_ARN_PATTERN.exec(env.assumeRoleArn);
    if (m && m[1] !== accountId) out.push({ path: "assumeRoleArn", value: env.assumeRoleArn, rule: `must be a role in the environment's account ${accountId}` });
  }
  out.push(...ciProblems(env, accountId, valid));
  const build = isObject(env.build) ? env.build : undefined;
  for (const project of ["privilegedProject", "dindProject"]) {
    const triggers = isObject(build?.[project]) ? build?.[project].triggers : undefined;
    const at = `build.${project}.triggers`;
    if (triggers === undefined) continue;
    if (!isObject(triggers)) continue;
    if (triggers.pushBuilds === false && triggers.push !== undefined && valid(`${at}.push`, `${at}.pushBuilds`)) {
      out.push({ path: `${at}.push`, value: triggers.push, rule: "does not apply when pushBuilds is false" });
    }
    if (triggers.pullRequestBuilds === false && triggers.pullRequest !== undefined && valid(`${at}.pullRequest`, `${at}.pullRequestBuilds`)) {
      out.push({ path: `${at}.pullRequest`, value: triggers.pullRequest, rule: "does not apply when pullRequestBuilds is false" });
    }
  }
  if (env.build === undefined && env.pullFrom === undefined) {
    out.push({ path: "build", value: undefined, rule: "or pullFrom is required (an environment owns an image pipeline, pulls from one, or both)" });
  }
  const replicas: unknown = build?.replicaRegions;
  if (Array.isArray(replicas) && Array.isArray(env.regions) && valid("regions")) {
    replicas.forEach((r, i) => {
      if (valid(`build.replicaRegions[${i}]`) && !env.regions.includes(r)) {
        out.push({ path: "build.replicaRegions", value: r, rule: `is not one of the environment's regions (${env.regions.join(", ")})` });
      }
    });
    if (replicas.length > 0 && valid("build.replicaRegions") && env.regions.filter((r: string) => !replicas.includes(r)).length !== 1) {
      out.push({
        path: "build.replicaRegions",
        value: replicas,
        rule: "must leave exactly one region that builds (the primary, the source of the replication)",
      });
    }
  }
  const pullAccounts: unknown = isObject(build?.repository) ? build?.repository.pullAccountIds : undefined;
  const at = "build.repository.pullAccountIds";
  if (Array.isArray(pullAccounts) && typeof accountId === "string" && valid("accountId") && pullAccounts.some((a, i) => a === accountId && valid(`${at}[${i}]`))) {
    out.push({
      path: at,
      value: accountId,
      rule: "is the environment's own account: a repository policy entry for it would let every principal of the account pull; grant the roles that need it instead (their own IAM policies suffice in the same account)",
    });
  }
  const p = isObject(build?.privilegedProject) ? build?.privilegedProject.projectName : undefined;
  const d = isObject(build?.dindProject) ? build?.dindProject.projectName : undefined;
  if (typeof p === "string" && p === d && valid("build.privilegedProject.projectName", "build.dindProject.projectName")) {
    out.push({ path: "build.dindProject.projectName", value: d, rule: "must differ from build.privilegedProject.projectName" });
  }
  const cache = isObject(build?.pullThroughCache) ? build?.pullThroughCache : undefined;
  if (cache !== undefined && Array.isArray(cache.rules)) {
    const dind = isObject(build?.dindProject) ? build?.dindProject : undefined;
    if (cache.dindImage !== false && dind?.registryCredentialSecretArn !== undefined && valid("build.pullThroughCache.dindImage")) {
      out.push({
        path: "build.dindProject.registryCredentialSecretArn",
        value: dind.registryCredentialSecretArn,
        rule: "must not be set when the dind image is pulled through build.pullThroughCache (set pullThroughCache.dindImage to false to keep it)",
      });
    }
    for (const project of ["privilegedProject", "dindProject"]) {
      const vars = isObject(build?.[project]) && isObject(build?.[project].environmentVariables) ? build?.[project].environmentVariables : {};
      for (const name of Object.keys(isObject(cache.baseImages) ? cache.baseImages : {})) {
        if (Object.hasOwn(vars, name)) out.push({ path: `build.${project}.environmentVariables.${name}`, value: name, rule: "is set by build.pullThroughCache.baseImages" });
      }
    }
  }
  return out;
}


/**
 * The CI roles: both in the environment's account, distinct, and never beside assumeRoleArn. A
 * provider that assumes a role would let the code a pull request controls hop from the plan role
 * to that role; with `ci`, CI authenticates straight into the account and the provider assumes nothing.
 */
function ciProblems(env: Record<string, any>, accountId: unknown, valid: (...fields: string[]) => boolean): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  if (!isObject(env.ci)) return out;
  if (env.assumeRoleArn !== undefined && valid("ci")) {
    out.push({
      path: "ci",
      value: env.ci,
      rule: "must not be set with assumeRoleArn: CI jobs authenticate straight into the account with OIDC (plan or deploy role), and a provider-assumed role would be reachable from pull-request plans; drop assumeRoleArn and use a profile for local deploys",
    });
  }
  for (const field of ["planRoleArn", "deployRoleArn"]) {
    const arn = env.ci[field];
    if (typeof arn !== "string" || typeof accountId !== "string" || !valid(`ci.${field}`, "accountId")) continue;
    const m = ROLE_ARN_PATTERN.exec(arn);
    if (m && m[1] !== accountId) out.push({ path: `ci.${field}`, value: arn, rule: `must be a role in the environment's account ${accountId}` });
  }
  if (typeof env.ci.planRoleArn === "string" && env.ci.planRoleArn === env.ci.deployRoleArn && valid("ci.planRoleArn", "ci.deployRoleArn")) {
    out.push({ path: "ci.deployRoleArn", value: env.ci.deployRoleArn, rule: "must differ from ci.planRoleArn (pull requests plan with the plan role and must not hold deploy rights)" });
  }
  return out;
}
