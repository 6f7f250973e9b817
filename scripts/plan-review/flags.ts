/** The flags of `npm run plan`, `deploy` and `destroy`, and the variables every mode reads. */
import * as fs from "fs";
import * as path from "path";
import { ALLOW_LOCAL_ENDPOINT, ALLOW_LOCAL_ENDPOINT_FLAG, allowLocalEndpointProblem } from "../../config/local-endpoint-guard";
import { stateDirProblem } from "../shared/endpoint-records";
import { walkFlags } from "../shared/cli";
import { PARALLELISM_VARIABLE, readParallelism, type GivenParallelism } from "../shared/pool";
import { LOCK_TIMEOUT_VARIABLE, lockTimeoutProblem } from "../terraform/run";
import { TerraformSession } from "../terraform/session";

export interface PlanFlags {
  readonly allowDestroy: string[];
  /** Stacks that may plan to create everything on an empty state (`state-empty`). */
  readonly allowEmptyState: string[];
  readonly out: string;
  readonly baseline?: string;
  readonly apply: boolean;
  /** Real environments may run against an endpoint set by AWS_ENDPOINT_URL(_<SERVICE>). */
  readonly allowLocalEndpoint: boolean;
  /** At most this many stacks run terraform at once. @default - from the machine */
  readonly parallelism?: GivenParallelism;
  /** Only these stacks of the selected environments. @default - every stack */
  readonly stacks: string[];
  /** `npm run deploy -- --plans DIR`: apply the saved plans of DIR instead of planning. @default - plan, then apply */
  readonly plans?: string;
  /** With `plans`: check every saved plan against the checkout and its state, apply nothing. @default false */
  readonly checkOnly?: boolean;
}

/** What `npm run destroy` was asked. */
export interface DestroyFlags {
  readonly destroy: true;
  /** The real environments the user confirmed by name. */
  readonly confirm: string[];
  readonly planOnly: boolean;
  readonly out: string;
  readonly allowLocalEndpoint: boolean;
  readonly parallelism?: GivenParallelism;
  readonly stacks: string[];
}


/** Problems with the variables every mode reads. */
function variableProblems(env: NodeJS.ProcessEnv): string[] {
  return [lockTimeoutProblem(env[LOCK_TIMEOUT_VARIABLE]), ...TerraformSession.variableProblems(env)].filter((p): p is string => p !== undefined);
}

const ENV_NAME = /^[a-z][a-z0-9-]*$/;
/** A stack: `<environment>-<region>`. */
const STACK_NAME = /^[a-z][a-z0-9-]*-[a-z]{2}(-gov)?-[a-z]+-\d$/;

/** Adds the stack names of a `--stack` value (comma or space separated) to `stacks`; a malformed one is a problem. */
function addStacks(list: string, stacks: string[], problems: string[]): void {
  for (const item of list.split(/[\s,]+/).filter(Boolean)) {
    if (STACK_NAME.test(item)) stacks.push(item);
    else problems.push(`--stack ${JSON.stringify(item)} must be a stack name <environment>-<region>, e.g. local-eu-central-1`);
  }
}

/** Parses the flags of `npm run destroy`; throws one line per problem. */
export function parseDestroyFlags(argv: string[], env: NodeJS.ProcessEnv = {}): DestroyFlags | "help" {
  const problems = variableProblems(env);
  const stateProblem = stateDirProblem(env);
  if (stateProblem) problems.push(stateProblem);
  const allowProblem = allowLocalEndpointProblem(env[ALLOW_LOCAL_ENDPOINT]);
  if (allowProblem) problems.push(allowProblem);
  const confirm: string[] = [];
  const addConfirmed = (list: string, source: string) => {
    for (const name of list.split(/[\s,]+/).filter(Boolean)) {
      if (ENV_NAME.test(name)) confirm.push(name);
      else problems.push(`${source} ${JSON.stringify(name)} must be an environment name (lowercase letters, digits and -, as in the config)`);
    }
  };
  if (env.CONFIRM_DESTROY) addConfirmed(env.CONFIRM_DESTROY, "CONFIRM_DESTROY");
  let allowLocalEndpoint = env[ALLOW_LOCAL_ENDPOINT] === "1";
  let out = path.join("plans", "destroy");
  let planOnly = false;
  let parallelism = readParallelism(env[PARALLELISM_VARIABLE], PARALLELISM_VARIABLE, problems);
  const stacks: string[] = [];
  const walked = walkFlags(argv, problems, (a, value) => {
    if (a === "--plan-only") planOnly = true;
    else if (a === "--parallelism") parallelism = readParallelism(value(), "--parallelism", problems) ?? parallelism;
    else if (a === "--stack") addStacks(value() ?? "", stacks, problems);
    else if (a === ALLOW_LOCAL_ENDPOINT_FLAG) allowLocalEndpoint = true;
    else if (a === "--confirm") addConfirmed(value() ?? "", "--confirm");
    else if (a === "--out") out = value() ?? out;
    else problems.push(`unknown flag ${JSON.stringify(a)} (known: --confirm, --plan-only, --out, --parallelism, --stack, ${ALLOW_LOCAL_ENDPOINT_FLAG}, --help)`);
  });
  if (walked === "help") return "help";
  if (problems.length) throw new Error(problems.join("\n"));
  return { destroy: true, confirm, planOnly, out, allowLocalEndpoint, parallelism, stacks };
}

/** Parses flags; throws one line per problem. */
export function parsePlanFlags(argv: string[], env: NodeJS.ProcessEnv = {}): PlanFlags | "help" {
  const problems: string[] = variableProblems(env);
  const stateProblem = stateDirProblem(env);
  if (stateProblem) problems.push(stateProblem);
  const allowDestroy: string[] = [];
  const addAllowed = (list: string, source: string) => {
    for (const item of list.split(/[\s,]+/).filter(Boolean)) {
      if (/^[a-z][a-z0-9-]*-[a-z]{2}(-gov)?-[a-z]+-\d:[\w.[\]"-]+$/.test(item)) allowDestroy.push(item);
      else problems.push(`${source} ${JSON.stringify(item)} must be <stack>:<resource address>, e.g. local-eu-central-1:aws_ecr_repository.Repository_22E53BBD`);
    }
  };
  const allowEmptyState: string[] = [];
  const addEmptyState = (list: string, source: string) => {
    for (const item of list.split(/[\s,]+/).filter(Boolean)) {
      if (STACK_NAME.test(item)) allowEmptyState.push(item);
      else problems.push(`${source} ${JSON.stringify(item)} must be a stack name <environment>-<region>, e.g. local-eu-central-1`);
    }
  };
  // CI passes allowances through the environment (a workflow input), the same rule applies.
  if (env.ALLOW_DESTROY) addAllowed(env.ALLOW_DESTROY, "ALLOW_DESTROY");
  if (env.ALLOW_EMPTY_STATE) addEmptyState(env.ALLOW_EMPTY_STATE, "ALLOW_EMPTY_STATE");
  const allowProblem = allowLocalEndpointProblem(env[ALLOW_LOCAL_ENDPOINT]);
  if (allowProblem) problems.push(allowProblem);
  let allowLocalEndpoint = env[ALLOW_LOCAL_ENDPOINT] === "1";
  let out = "plans";
  let baseline: string | undefined;
  let apply = false;
  let plans: string | undefined;
  let checkOnly = false;
  const given = new Set<string>();
  let parallelism = readParallelism(env[PARALLELISM_VARIABLE], PARALLELISM_VARIABLE, problems);
  const stacks: string[] = [];
  const walked = walkFlags(argv, problems, (a, value) => {
    given.add(a);
    if (a === "--apply") apply = true;
    else if (a === "--plans") plans = value() ?? plans;
    else if (a === "--check-only") checkOnly = true;
    else if (a === "--parallelism") parallelism = readParallelism(value(), "--parallelism", problems) ?? parallelism;
    else if (a === "--stack") addStacks(value() ?? "", stacks, problems);
    else if (a === ALLOW_LOCAL_ENDPOINT_FLAG) allowLocalEndpoint = true;
    else if (a === "--allow-destroy") addAllowed(value() ?? "", "--allow-destroy");
    else if (a === "--allow-empty-state") addEmptyState(value() ?? "", "--allow-empty-state");
    else if (a === "--out") out = value() ?? out;
    else if (a === "--baseline") {
      const v = value();
      if (v !== undefined && !fs.existsSync(path.join(v, "stacks"))) problems.push(`--baseline ${JSON.stringify(v)} is not a synth output folder (no stacks/ inside)`);
      baseline = v;
    } else problems.push(`unknown flag ${JSON.stringify(a)} (known: --allow-destroy, --allow-empty-state, --out, --baseline, --apply, --plans, --check-only, --parallelism, --stack, ${ALLOW_LOCAL_ENDPOINT_FLAG}, --help)`);
  });
  if (walked === "help") return "help";
  problems.push(...savedPlanProblems({ plans, checkOnly, apply, given, env }));
  if (problems.length) throw new Error(problems.join("\n"));
  return { allowDestroy, allowEmptyState, out, baseline, apply, allowLocalEndpoint, parallelism, stacks, ...(plans !== undefined ? { plans, checkOnly } : {}) };
}

/**
 * The problems of `--plans` / `--check-only`: a deploy of saved plans applies the decision its
 * review recorded, so it takes no allowance, baseline or output folder of its own.
 */
function savedPlanProblems(f: { plans?: string; checkOnly: boolean; apply: boolean; given: Set<string>; env: NodeJS.ProcessEnv }): string[] {
  if (f.plans === undefined) return f.checkOnly ? ["--check-only goes with --plans DIR (it checks saved plans)"] : [];
  const out: string[] = [];
  if (!f.apply) out.push(`--plans ${JSON.stringify(f.plans)} goes with npm run deploy (it applies the saved plans of that folder)`);
  if (!fs.existsSync(f.plans) || !fs.statSync(f.plans).isDirectory()) out.push(`--plans ${JSON.stringify(f.plans)}: no such folder (the plans folder of npm run plan -- --out DIR, or the downloaded plans artifact)`);
  const recorded = "the deploy of saved plans honours the allowances their review recorded in summary.json";
  for (const flag of ["--allow-destroy", "--allow-empty-state"]) if (f.given.has(flag)) out.push(`${flag} is not taken with --plans: ${recorded} (allow in deploy-allowances.json, then plan again)`);
  for (const v of ["ALLOW_DESTROY", "ALLOW_EMPTY_STATE"]) if ((f.env[v] ?? "").trim() !== "") out.push(`${v} ${JSON.stringify(f.env[v])} is not taken with --plans: ${recorded} (unset it)`);
  for (const flag of ["--baseline", "--out"]) if (f.given.has(flag)) out.push(`${flag} is not taken with --plans: nothing is planned`);
  return out;
}
