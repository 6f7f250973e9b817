/**
 * The construct rules of an environment's fields (names, ARNs, tags, ranges, source URLs, …),
 * checked without a synth: each environment is mapped to the props of the constructs its stacks
 * build (the mapping RegionalStack uses) and each construct's own prop check runs on them. A
 * problem is reported at the config field of its prop (stacks/config-paths.ts). The schema holds
 * only the shape; the constructs decide these rules, once.
 */
import type { EnvironmentConfig } from "./environment-schema";
import type { SchemaProblem } from "./problems";
import type { PropProblemDetail } from "../modules/shared/validation";
import { ecrRepoPropProblems } from "../modules/ecr-repo/ecr-repo-props";
import { registryScanningPropProblems } from "../modules/ecr-registry-scanning/registry-scanning-props";
import { buildArgsProblems, coverageProblemOf, coveringRules, pullThroughCachePropProblems } from "../modules/ecr-pull-through-cache/pull-through-cache-props";
import { privilegedProjectPropProblems } from "../modules/codebuild-privileged-project/privileged-environment";
import { DEFAULT_DIND_IMAGE, dindProjectPropProblems, uncachedImageRule } from "../modules/codebuild-dind-project/dind-environment";
import {
  CONSTRUCT_IDS,
  buildingRegions,
  dindProjectProps,
  privilegedProjectProps,
  pullThroughCacheProps,
  registryScanningProps,
  repositoryProps,
} from "../stacks/construct-props";
import { configFieldOf } from "../stacks/config-paths";

/** A project's props whose rules read its source too: left out when the schema refused the source. */
const READS_SOURCE = /^(?:badge|triggers)(?=$|[.[])/;

/** Whether field `a` and field `b` (dotted paths, `[i]` for items) are the same, or one holds the other. */
export function overlaps(a: string, b: string): boolean {
  const holds = (outer: string, inner: string) => outer === "" || inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return holds(a, b) || holds(b, a);
}

/**
 * The problems the constructs find in an environment's props, at their config fields, one per
 * field and rule. `env` may hold fields the schema refused (listed in `schemaProblems`): a
 * construct problem of such a field (or of a part or holder of one) is left out, the schema's
 * line says what is wrong with it; a construct that cannot read the rest is skipped.
 */
export function constructProblems(env: EnvironmentConfig, schemaProblems: readonly SchemaProblem[] = []): SchemaProblem[] {
  const details: PropProblemDetail[] = [];
  const run = (check: () => readonly PropProblemDetail[]) => {
    try {
      details.push(...check());
    } catch (e) {
      // A shape the schema refused (reported there) that the construct cannot read; on a valid
      // shape a check that throws is a bug, not a problem of the file.
      if (schemaProblems.length === 0) throw e;
    }
  };
  if (env.registryScanning !== undefined) {
    const scanning = env.registryScanning;
    run(() => registryScanningPropProblems(CONSTRUCT_IDS.registryScanning, registryScanningProps(scanning)));
  }
  const build = env.build;
  if (build !== undefined) {
    run(() => ecrRepoPropProblems(CONSTRUCT_IDS.repository, repositoryProps(build)));
    run(() => privilegedProjectPropProblems(CONSTRUCT_IDS.privilegedProject, privilegedProjectProps(build)));
    run(() => dindProjectPropProblems(CONSTRUCT_IDS.dindProject, dindProjectProps(build)));
    const cache = build.pullThroughCache;
    if (cache !== undefined) {
      // The cache is in each building region: a credential must be a secret of its region and account.
      const regions = Array.isArray(env.regions) ? buildingRegions(env) : [];
      const before = details.length;
      for (const region of regions.length ? regions : [undefined]) {
        run(() => pullThroughCachePropProblems(CONSTRUCT_IDS.pullThroughCache, pullThroughCacheProps(cache), region, typeof env.accountId === "string" ? env.accountId : undefined));
      }
      // What the projects pull through it (the Dockerfile's base images, and the dind image unless
      // dindImage is false), judged against a cache that is valid itself, as the stack does.
      const cacheOk = details.length === before && !schemaProblems.some((p) => overlaps(p.path, "build.pullThroughCache.rules"));
      const baseImages = cache.baseImages;
      if (cacheOk && baseImages !== undefined) run(() => buildArgsProblems(CONSTRUCT_IDS.pullThroughCache, coveringRules(pullThroughCacheProps(cache)), baseImages));
      const image = build.dindProject?.image ?? DEFAULT_DIND_IMAGE;
      if (cacheOk && cache.dindImage !== false && typeof image === "string") {
        run(() => {
          const problem = coverageProblemOf(coveringRules(pullThroughCacheProps(cache)), image);
          return problem === undefined ? [] : [{ construct: "CodeBuildDindProject", id: CONSTRUCT_IDS.dindProject, prop: "image", value: image, rule: uncachedImageRule(CONSTRUCT_IDS.pullThroughCache, problem) }];
        });
      }
    }
  }
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const d of details) {
    // The stack gives each project its repository, built from the config beside them.
    if (d.prop === "repository" && (d.id === CONSTRUCT_IDS.privilegedProject || d.id === CONSTRUCT_IDS.dindProject)) continue;
    const path = configFieldOf(d) ?? d.id;
    const source = READS_SOURCE.test(d.prop) ? configFieldOf({ ...d, prop: "source" }) : undefined;
    const reads = source === undefined ? [path] : [path, source];
    if (schemaProblems.some((p) => reads.some((r) => overlaps(p.path, r)))) continue;
    const key = `${path}\n${JSON.stringify(d.value)}\n${d.rule}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, value: d.value, rule: d.rule });
  }
  return out;
}
