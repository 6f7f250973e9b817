/**
 * `npm run -s merge-reviews -- --matrix <stacks.json> --waves N`: turns the stack list
 * (`npm run -s stacks -- --json`) into the GitHub Actions outputs the workflow's matrices read:
 * the stack names for the plan matrix, and one deploy matrix per wave job. GitHub Actions cannot
 * loop over a dynamic number of jobs, so the workflow has a fixed number of wave jobs
 * (deploy-wave-0 … deploy-wave-<N-1>); a stack list that needs more fails here, in one line.
 */
import * as fs from "fs";

export const MATRIX_USAGE = `Usage: npm run -s merge-reviews -- --matrix FILE --waves N [--classes JSON]

Writes the matrices of .github/workflows/terraform.yml to the file GITHUB_OUTPUT names (else
stdout): stacks (JSON array of the names), count, plan0 … plan3 (the names in chunks of at most 256,
GitHub's matrix limit, one per plan job), plan_roles (stack -> its environment's ci.planRoleArn),
and wave0 … wave<N-1>: one
entry per environment of each wave (per GitHub environment when a wave has more than 256
environments; more than 1,024 stacks is an error), in apply order (consumers before their registry owner), with
its stacks, its GitHub environment (the approval: ci.githubEnvironment, --classes, else its name),
its deploy role (ci.deployRoleArn) and the allowances (ALLOW_DESTROY,
ALLOW_EMPTY_STATE) that name its stacks. Waves without stacks are skipped, so a list with only
later waves starts at wave0. Fails when the list needs more than N waves.

  --matrix FILE    the stack list: npm run -s stacks -- --json [--changed-since REF] > FILE
  --waves N        how many deploy-wave-N jobs the workflow has
  --classes JSON   GitHub environment per config environment (the approval per account class),
                   e.g. {"prod-eu":"production","prod-us":"production"}; an environment not named
                   deploys behind the GitHub environment of its own name`;

/** One stack of `npm run -s stacks -- --json`, as far as the workflow reads it. */
export interface ListedStack {
  readonly name: string;
  readonly environment: string;
  readonly wave: number;
  /** The environment's CI plan role (`ci.planRoleArn`), when it has one. */
  readonly planRoleArn?: string;
  /** The environment's CI deploy role (`ci.deployRoleArn`), when it has one. */
  readonly deployRoleArn?: string;
  /** The environment's `ci.githubEnvironment`, which wins over --classes. */
  readonly githubEnvironment?: string;
}

/** One job of a deploy wave: the stacks of one environment. */
export interface DeployTarget {
  readonly environment: string;
  /** The GitHub environment the job runs in (its required reviewers approve the apply). */
  readonly github_environment: string;
  /** Comma separated, for `npm run deploy -- --stack`. */
  readonly stacks: string;
  /** The `--allow-destroy` allowances that name these stacks, comma separated. */
  readonly allow_destroy: string;
  /** The `--allow-empty-state` allowances that name these stacks, comma separated. */
  readonly allow_empty_state: string;
  /** The role the job assumes with OIDC (the environment's `ci.deployRoleArn`; empty without `ci`). */
  readonly deploy_role: string;
}

const NAME = /^[a-z][a-z0-9-]*$/;
/** What GitHub accepts as an environment name (letters, digits, and - _ . space, at most 255). */
const GITHUB_ENVIRONMENT = /^[A-Za-z0-9 _.-]{1,255}$/;

/** Checks the stack list; throws one line for the first problem. */
export function parseStackList(text: string, source: string): ListedStack[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not valid JSON (${(e as Error).message.split("\n")[0]}): expected the output of npm run -s stacks -- --json`);
  }
  if (!Array.isArray(v)) throw new Error(`${source} must hold a JSON array of stacks (npm run -s stacks -- --json)`);
  v.forEach((s: any, i) => {
    if (!s || typeof s.name !== "string" || !NAME.test(s.name)) throw new Error(`${source}: stack ${i} has no valid "name"`);
    if (typeof s.environment !== "string" || !NAME.test(s.environment)) throw new Error(`${source}: stack ${s.name} has no valid "environment"`);
    if (!Number.isInteger(s.wave) || s.wave < 0) throw new Error(`${source}: stack ${s.name} has no "wave" (a whole number from 0)`);
  });
  const names = v.map((s: any) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`${source} lists stack ${dup} twice`);
  return v.map((s: any) => ({
    name: s.name,
    environment: s.environment,
    wave: s.wave,
    ...(typeof s.planRoleArn === "string" ? { planRoleArn: s.planRoleArn } : {}),
    ...(typeof s.deployRoleArn === "string" ? { deployRoleArn: s.deployRoleArn } : {}),
    ...(typeof s.githubEnvironment === "string" ? { githubEnvironment: s.githubEnvironment } : {}),
  }));
}

/** The `--classes` map; throws one line when it is not a JSON object of environment -> GitHub environment. */
export function parseClasses(text: string | undefined): Record<string, string> {
  if (text === undefined || text.trim() === "") return {};
  let v: any;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`--classes ${JSON.stringify(text)} is not JSON: expected an object such as {"prod":"production"} (config environment -> GitHub environment)`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error(`--classes must be a JSON object of config environment -> GitHub environment, e.g. {"prod":"production"}`);
  for (const [k, g] of Object.entries(v)) {
    if (!NAME.test(k)) throw new Error(`--classes: ${JSON.stringify(k)} is not an environment name`);
    if (typeof g !== "string" || !GITHUB_ENVIRONMENT.test(g)) throw new Error(`--classes: the GitHub environment of ${k} must be a name of letters, digits, space, - _ . (at most 255), not ${JSON.stringify(g)}`);
  }
  return v;
}

/** The wave slots: the stacks' waves in order, without the empty ones (wave numbers of a filtered list can have gaps). */
export function waveSlots(stacks: readonly ListedStack[]): number[] {
  return [...new Set(stacks.map((s) => s.wave))].sort((a, b) => a - b);
}

/** The workflow's outputs for a stack list. */
export function matrixFor(stacks: readonly ListedStack[], waves: number, classes: Record<string, string>, allowDestroy: readonly string[], allowEmptyState: readonly string[]): Record<string, string> {
  const slots = waveSlots(stacks);
  if (slots.length > waves) {
    throw new Error(
      `the stacks need ${slots.length} deploy waves (waves ${slots.join(", ")}) but .github/workflows/terraform.yml has jobs for ${waves}: ` +
        `add deploy-wave-${waves} (a copy of deploy-wave-${waves - 1} that needs it) and pass --waves ${slots.length}`,
    );
  }
  const names = stacks.map((s) => s.name);
  const stackOf = (a: string) => a.split(":")[0];
  const strayDestroy = allowDestroy.filter((a) => !names.includes(stackOf(a)));
  if (strayDestroy.length) throw new Error(`ALLOW_DESTROY / --allow-destroy names ${strayDestroy.join(", ")}, of stacks this run does not plan or deploy (${names.join(", ") || "none"})`);
  const strayEmpty = allowEmptyState.filter((s) => !names.includes(s));
  if (strayEmpty.length) throw new Error(`ALLOW_EMPTY_STATE / --allow-empty-state names ${strayEmpty.join(", ")}, which this run does not plan or deploy (${names.join(", ") || "none"})`);
  if (names.length > MATRIX_LIMIT * PLAN_MATRICES) {
    throw new Error(
      `the stack list has ${names.length} stacks, but the plan jobs take at most ${(MATRIX_LIMIT * PLAN_MATRICES).toLocaleString("en-US")} ` +
        `(${PLAN_MATRICES} matrices plan0 … plan${PLAN_MATRICES - 1} of ${MATRIX_LIMIT}, GitHub's limit per matrix): select fewer environments per run (ENVIRONMENTS)`,
    );
  }
  const out: Record<string, string> = { stacks: JSON.stringify(names), count: String(names.length) };
  for (let i = 0; i < PLAN_MATRICES; i++) out[`plan${i}`] = JSON.stringify(names.slice(i * MATRIX_LIMIT, (i + 1) * MATRIX_LIMIT));
  // The plan job of a stack assumes this role (an empty one is refused by the job, saying to set ci).
  out.plan_roles = JSON.stringify(Object.fromEntries(stacks.map((s) => [s.name, s.planRoleArn ?? ""])));
  for (let i = 0; i < waves; i++) {
    const inWave = stacks.filter((s) => s.wave === slots[i]);
    const target = (environments: string[], githubEnvironment: string): DeployTarget => {
      const own = inWave.filter((s) => environments.includes(s.environment)).map((s) => s.name);
      return {
        environment: environments.join(","),
        github_environment: githubEnvironment,
        stacks: own.join(","),
        allow_destroy: allowDestroy.filter((a) => own.includes(stackOf(a))).join(","),
        allow_empty_state: allowEmptyState.filter((s) => own.includes(s)).join(","),
        deploy_role: deployRole(environments, githubEnvironment),
      };
    };
    /** One job assumes one role: the deploy role its environments share. */
    const deployRole = (environments: string[], githubEnvironment: string): string => {
      const roles = [...new Set(environments.map((e) => inWave.find((s) => s.environment === e)?.deployRoleArn ?? ""))];
      if (roles.length > 1) {
        throw new Error(
          `wave ${i}: the job of GitHub environment ${githubEnvironment} deploys ${environments.join(", ")}, whose ci.deployRoleArn differ (${roles.map((r) => r || "(none)").join(", ")}): ` +
            "one job assumes one role; give them one GitHub environment each in --classes (DEPLOY_ENVIRONMENTS) or ci.githubEnvironment",
        );
      }
      return roles[0];
    };
    const githubEnvironmentOf = (e: string) => inWave.find((s) => s.environment === e)?.githubEnvironment ?? classes[e] ?? e;
    const envs = [...new Set(inWave.map((s) => s.environment))];
    let targets = envs.map((e) => target([e], githubEnvironmentOf(e)));
    if (targets.length > MATRIX_LIMIT) {
      // One job per GitHub environment (one approval each) instead of one per config environment.
      const byClass = [...new Set(envs.map(githubEnvironmentOf))];
      if (byClass.length > MATRIX_LIMIT) {
        throw new Error(
          `wave ${i} deploys ${envs.length} environments behind ${byClass.length} GitHub environments, more than the ${MATRIX_LIMIT} jobs a matrix may have: ` +
            `group them into fewer GitHub environments with --classes (DEPLOY_ENVIRONMENTS), e.g. {"prod-eu":"production","prod-us":"production"}`,
        );
      }
      targets = byClass.map((g) => target(envs.filter((e) => githubEnvironmentOf(e) === g), g));
    }
    out[`wave${i}`] = JSON.stringify(targets);
  }
  return out;
}

/** The most jobs GitHub Actions starts from one matrix. */
export const MATRIX_LIMIT = 256;
/** The plan matrices the workflow has (plan0 … plan3). */
export const PLAN_MATRICES = 4;

/** The outputs for `--matrix` flags: reads the list, checks it, lays it out. */
export function matrixOutputs(flags: { stacks: string; waves: number; classes?: string; allowDestroy: string[]; allowEmptyState: string[] }): Record<string, string> {
  if (!fs.existsSync(flags.stacks)) throw new Error(`--matrix ${flags.stacks}: no such file (write it with npm run -s stacks -- --json > ${flags.stacks})`);
  const stacks = parseStackList(fs.readFileSync(flags.stacks, "utf8"), flags.stacks);
  return matrixFor(stacks, flags.waves, parseClasses(flags.classes), flags.allowDestroy, flags.allowEmptyState);
}

/** Appends `name=value` lines to the file GITHUB_OUTPUT names, or prints them. Values are one-line JSON or numbers. */
export function writeGithubOutputs(outputs: Record<string, string>, env: NodeJS.ProcessEnv, log = (s: string) => process.stdout.write(s)): void {
  const text = Object.entries(outputs)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
  if (env.GITHUB_OUTPUT) fs.appendFileSync(env.GITHUB_OUTPUT, text);
  else log(text);
}
