import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { EnvironmentConfig, loadConfigFile, projectRoot, selectEnvironments } from "../../config/environments";
import { stackName } from "../../stacks/regional-stack";
import { localAwsEnv } from "../local-aws/clients";
import { LocalAws, startLocalAws } from "../local-aws/server";
import { bootstrap, deployWaves, type LocalStack } from "../local-aws/deploy";
import { deployedLocalEndpoint, stateDirProblem } from "../local-aws/kept";
import { explainLocalAwsFailure } from "../local-aws/limits";
import { ALLOW_LOCAL_ENDPOINT, ALLOW_LOCAL_ENDPOINT_FLAG, allowLocalEndpointProblem, localEndpointRefusal, localEndpointUse } from "../../config/local-endpoint-guard";
import { guard, reviewPlan, stackMarkdown, summaryJson, summaryMarkdown, type LocalEndpointPlan, type StackReview } from "./review";
import { priorStateContents, readStateRecord, recordAppliedState, sameLocalAws, writeStateRecord, type StateRecord } from "./state-record";
import { terraformEnv } from "../terraform/env";
import { LOCK_TIMEOUT_VARIABLE, lockTimeoutProblem, terraform, terraformOk, type TerraformProgress } from "../terraform/run";
import { isMissingSchemaError } from "../terraform/schema-proxy";
import { SHARE_PROVIDER_VARIABLE, TRIM_SCHEMA_VARIABLE, shareProviderProblem, startSharedProvider, terraformWithSharedProvider, trimSchemaProblem, wholeSchemaRetryLine } from "../terraform/shared-provider";
import { runCli, walkFlags } from "../shared/cli";
import { PARALLELISM_VARIABLE, readParallelism, resolveParallelism, runPool, secondsSince, type GivenParallelism, type Parallelism } from "../shared/pool";

export const USAGE = `Usage: npm run plan [-- options]

Synthesizes, then runs plain \`terraform plan\` for every stack of the selected environments
(ENVIRONMENTS, default local) on cdktf.out, keeps each plan and its JSON, and writes a Markdown
review per stack and overall (plans/summary.md, summary.json). Exits 1 when a plan deletes or
replaces an ECR repository or IAM role that --allow-destroy does not name, or creates every
resource of a stack whose last apply left resources in its state (state-empty: a moved
state.keyPrefix or bucket, a lost state) that --allow-empty-state does not name. Refuses, before
anything runs, a real environment (not "local": true) while AWS_ENDPOINT_URL or any
AWS_ENDPOINT_URL_<SERVICE> is set, unless --allow-local-endpoint is given.

  --allow-destroy STACK:ADDRESS[,…]  resources allowed to be deleted or replaced (repeatable),
                                     e.g. local-eu-central-1:aws_ecr_repository.Repository_22E53BBD
  --out DIR                          where plans and reviews go (default: plans)
  --baseline DIR                     a previous synth output (e.g. of main) to compare backends with
                                     (default: the backend of the stack's last apply here, recorded
                                     in .tmp/state-records or STATE_RECORD_DIR)
  --allow-empty-state STACK[,…]      stacks that may plan to create everything on an empty state
                                     although their last apply left resources (repeatable)
  --apply                            after a review that passes, apply exactly the reviewed plans
  --parallelism N                    at most N stacks run terraform at once (1 to 64; default from
                                     the machine: min(cores, available memory / 700 MiB))
  --stack NAME[,…]                   only these stacks of the selected environments (repeatable);
                                     the summary covers only them
  --allow-local-endpoint             plan real environments against the endpoint these variables
                                     set, on purpose (e.g. a rehearsal on a local AWS); the review
                                     says so at its top
  --help                             this text
Environment: ALLOW_DESTROY (same as --allow-destroy, comma or space separated),
ALLOW_EMPTY_STATE (same as --allow-empty-state), ALLOW_LOCAL_ENDPOINT (1: same as
--allow-local-endpoint), PARALLELISM (same as --parallelism), SHARE_PROVIDER (0: terraform
starts the AWS provider for each command; default 1: one provider process serves a stack's plan
and show, another its apply), TRIM_SCHEMA (0: terraform reads the provider's whole schema;
default 1: only the schemas of the types the stack names), ENVIRONMENTS, CONFIG_FILE,
CDKTF_OUTDIR, AWS_ENDPOINT_URL, STATE_RECORD_DIR.

Local environments use AWS_ENDPOINT_URL, or a local AWS started for the run; real ones the
default AWS credentials. Every plan and apply waits up to LOCK_TIMEOUT (default 5m, a Terraform
duration such as 30s or 1h) for a state lock held by another run, and each stack prints its phase
and a line every 10 s with the time elapsed, and a line when it starts and ends
([3/5] local-eu-central-1: planned (12.3 s)). A failed plan does not stop the others: every stack
is planned, then the run fails naming each failed stack (no summary). Besides <stack>.md, each
stack's review is written as <stack>.review.json (the StackReview object).`;

export const DEPLOY_USAGE = `Usage: npm run deploy [-- options]

The review of \`npm run plan\`, then, when it passes, applies exactly the reviewed plans (consumers
before the owner they pull from) and prints each stack's outputs. Exits 1 without applying
anything when a plan deletes or replaces an ECR repository or IAM role that --allow-destroy does
not name, or recreates a stack on an empty state (state-empty) that --allow-empty-state does not
name. Each apply is recorded in .tmp/state-records (backend, outputs, resources: what the next
review compares with). Refuses, before anything runs, a real environment (not "local": true)
while AWS_ENDPOINT_URL or any AWS_ENDPOINT_URL_<SERVICE> is set, unless --allow-local-endpoint is
given.

  --allow-destroy STACK:ADDRESS[,…]  resources allowed to be deleted or replaced (repeatable)
  --out DIR                          where plans and reviews go (default: plans)
  --baseline DIR                     a previous synth output to compare backends with
  --allow-empty-state STACK[,…]      stacks that may be created again on an empty state
                                     (repeatable)
  --allow-local-endpoint             deploy real environments to the endpoint these variables set,
                                     on purpose; the review says so at its top
  --parallelism N                    at most N stacks plan or apply at once (1 to 64; default from
                                     the machine: min(cores, available memory / 700 MiB))
  --stack NAME[,…]                   only these stacks of the selected environments (repeatable)
  --help                             this text
Environment: ALLOW_DESTROY, ALLOW_EMPTY_STATE, ALLOW_LOCAL_ENDPOINT, PARALLELISM, SHARE_PROVIDER, TRIM_SCHEMA, ENVIRONMENTS, CONFIG_FILE,
CDKTF_OUTDIR, AWS_ENDPOINT_URL, LOCK_TIMEOUT (how long plan and apply wait for a state lock,
default 5m), STATE_RECORD_DIR.

Local environments use AWS_ENDPOINT_URL (e.g. a local AWS kept running by
\`npm start -- --keep-running\`), or a local AWS started for the run and stopped after it; real
ones the default AWS credentials. On the local AWS, a change to a deployed CodeBuild project
fails at once: moto cannot update a project (restart it with npm start).

Stacks apply wave by wave (a wave starts when every stack of the one before applied), at most
--parallelism at once within a wave. A failed apply starts no further stack (the running ones
finish), and the error names the stacks that applied and those that did not.`;

export const DESTROY_USAGE = `Usage: npm run destroy [-- options]

Plans the destruction of every stack of the selected environments (ENVIRONMENTS, default every
local one), writes the review (plans/destroy/summary.md, one review per stack) and prints what will
be destroyed, then destroys exactly the reviewed plans, owners before the consumers that pull from
them. The state buckets and lock tables stay.

  --confirm ENV[,ENV…]     required to destroy a real environment (not "local": true): name every
                           real environment selected. Without it, on a terminal, you are asked to
                           type the names; otherwise the review is printed and nothing is destroyed
                           (exit 1). Local environments need no confirmation.
  --plan-only              print the review, destroy nothing
  --out DIR                where plans and reviews go (default: plans/destroy)
  --allow-local-endpoint   destroy real environments at the endpoint AWS_ENDPOINT_URL(_<SERVICE>)
                           sets, on purpose; refused without it, before anything runs
  --parallelism N          at most N stacks plan or destroy at once (1 to 64; default from the
                           machine: min(cores, available memory / 700 MiB)); owners' wave first
  --stack NAME[,…]         only these stacks of the selected environments (repeatable)
  --help                   this text
Environment: CONFIRM_DESTROY (same as --confirm), ALLOW_LOCAL_ENDPOINT, PARALLELISM, SHARE_PROVIDER, ENVIRONMENTS, CONFIG_FILE,
CDKTF_OUTDIR, AWS_ENDPOINT_URL, LOCK_TIMEOUT (default 5m), LOCAL_AWS_STATE_DIR.

Local environments are destroyed where they were deployed: AWS_ENDPOINT_URL, else the local AWS
kept running by \`npm start -- --keep-running\` (\`npm run status\`); with neither there is
nothing to destroy, and the command says so. (moto's DeleteProject ignores ARNs: the CodeBuild
projects may linger in the local AWS until it is stopped.)`;

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
  return [lockTimeoutProblem(env[LOCK_TIMEOUT_VARIABLE]), shareProviderProblem(env[SHARE_PROVIDER_VARIABLE]), trimSchemaProblem(env[TRIM_SCHEMA_VARIABLE])].filter((p): p is string => p !== undefined);
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
  let parallelism = readParallelism(env[PARALLELISM_VARIABLE], PARALLELISM_VARIABLE, problems);
  const stacks: string[] = [];
  const walked = walkFlags(argv, problems, (a, value) => {
    if (a === "--apply") apply = true;
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
    } else problems.push(`unknown flag ${JSON.stringify(a)} (known: --allow-destroy, --allow-empty-state, --out, --baseline, --apply, --parallelism, --stack, ${ALLOW_LOCAL_ENDPOINT_FLAG}, --help)`);
  });
  if (walked === "help") return "help";
  if (problems.length) throw new Error(problems.join("\n"));
  return { allowDestroy, allowEmptyState, out, baseline, apply, allowLocalEndpoint, parallelism, stacks };
}

interface PlannedStack {
  readonly env: EnvironmentConfig;
  readonly region: string;
  readonly name: string;
  readonly dir: string;
  readonly tfEnv: NodeJS.ProcessEnv;
}

function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/**
 * The backend settings the working directory was last initialized with, if any. Read before the
 * synth, which replaces the folder (`.terraform` included): the fallback of a stack without a
 * state record (see state-record.ts).
 */
function initializedBackend(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, ".terraform", "terraform.tfstate");
  return fs.existsSync(file) ? readJson(file).backend?.config : undefined;
}

/** The problem with `--confirm` names that are not real environments of the selection, or undefined. */
export function confirmProblem(confirm: readonly string[], envs: readonly EnvironmentConfig[]): string | undefined {
  const real = envs.filter((e) => !e.local).map((e) => e.name);
  const stray = confirm.filter((c) => !real.includes(c));
  if (!stray.length) return undefined;
  return (
    `--confirm names ${stray.map((c) => JSON.stringify(c)).join(", ")}, which ${stray.length > 1 ? "are" : "is"} not a real environment of this run ` +
    `(real environments selected: ${real.length ? real.join(", ") : "none"}; local ones need no confirmation)`
  );
}

/** The real environments of the selection that a destroy would change and nobody confirmed. */
export function unconfirmed(envs: readonly EnvironmentConfig[], confirm: readonly string[], reviews: readonly StackReview[], stackEnv: (stack: string) => string): string[] {
  const touched = new Set(reviews.filter((r) => r.changes.length > 0).map((r) => stackEnv(r.stack)));
  return envs.filter((e) => !e.local && touched.has(e.name) && !confirm.includes(e.name)).map((e) => e.name);
}

/** Markdown for a destroy review: what goes, per stack, and whether it may. */
export function destroySummaryMarkdown(reviews: StackReview[], refused: string[], localEndpoint?: LocalEndpointPlan): string {
  const lines = ["# Terraform destroy review", "", "| stack | destroy | risks |", "|---|---:|---|"];
  for (const r of reviews) {
    const risks = r.risks.length ? [...new Set(r.risks.map((k) => k.kind))].join(", ") : "none";
    lines.push(`| ${r.stack} | ${r.counts.destroy + r.counts.replace} | ${risks} |`);
  }
  lines.push("");
  if (refused.length) {
    lines.push(
      `:no_entry: **Not confirmed**: destroying the real environment${refused.length > 1 ? "s" : ""} ${refused.map((e) => `\`${e}\``).join(", ")} ` +
        `needs \`--confirm ${refused.join(",")}\` (or typing the names when asked on a terminal).`,
      "",
    );
  }
  lines.push(...reviews.map((r) => stackMarkdown(r, localEndpoint)));
  return lines.join("\n");
}

/** Asks on the terminal for the names of the environments to destroy; true when they match. */
async function confirmOnTerminal(names: string[]): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return false;
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`Type ${names.join(",")} to destroy ${names.length > 1 ? "these environments" : "this environment"}: `, resolve));
    const typed = answer.split(/[\s,]+/).filter(Boolean).sort();
    return JSON.stringify(typed) === JSON.stringify([...names].sort());
  } finally {
    rl.close();
  }
}

/** Prints each stack's outputs, as `npm start` does. */
async function printOutputs(stacks: readonly PlannedStack[], log: (s: string) => void): Promise<void> {
  log("\nOutputs\n");
  for (const s of stacks) {
    const out = JSON.parse((await terraformOk(["output", "-json"], s.dir, s.tfEnv)).stdout) as Record<string, { value: unknown; sensitive?: boolean }>;
    log(`  ${s.name}\n`);
    for (const [k, v] of Object.entries(out)) log(`    ${k} = ${v.sensitive ? "(sensitive)" : typeof v.value === "string" ? v.value : JSON.stringify(v.value)}\n`);
  }
}

/** The stacks in apply waves: the waves of the local deploy (consumers before their owner), reversed for a destroy. */
function applyWaves(stacks: PlannedStack[], organization: EnvironmentConfig[], destroy: boolean): PlannedStack[][] {
  const asLocal: (LocalStack & { planned: PlannedStack })[] = stacks.map((s) => ({ environment: s.env, region: s.region, name: s.name, dir: s.dir, planned: s }));
  const waves = deployWaves(asLocal, organization) as (typeof asLocal)[];
  return (destroy ? waves.reverse() : waves).map((w) => w.map((s) => s.planned));
}

/** The problem with `--stack` names that are not stacks of the selected environments (one line listing the known ones), or undefined. */
export function stackSelectionProblem(selected: readonly string[], known: readonly string[], environments: string): string | undefined {
  const stray = selected.filter((s) => !known.includes(s));
  if (!stray.length) return undefined;
  return (
    `--stack ${stray.map((s) => JSON.stringify(s)).join(", ")}: not ${stray.length > 1 ? "stacks" : "a stack"} of the selected environments (${environments}); ` +
    `known stacks: ${known.join(", ")}`
  );
}

/** "1 stack" / "5 stacks". */
const stacksCount = (n: number) => `${n} stack${n === 1 ? "" : "s"}`;

/** The line a run prints at its start: how many stacks, how many at once, and why. */
export function parallelismLine(verb: string, stacks: number, p: Parallelism): string {
  return `${verb} ${stacksCount(stacks)}, at most ${p.limit} at once (${p.reason})`;
}

/** Runs the review (and the deploy or destroy after it); returns the exit code. */
export async function runPlan(flags: PlanFlags | DestroyFlags, env: NodeJS.ProcessEnv = process.env, log = (s: string) => process.stdout.write(s)): Promise<number> {
  const destroy = "destroy" in flags;
  const root = projectRoot();
  const file = env.CONFIG_FILE ?? path.join("config", "environments.json");
  const organization = loadConfigFile(path.resolve(root, file));
  const envs = selectEnvironments(organization, env.ENVIRONMENTS, file);
  // Before anything runs: terraform of a real environment gets the caller's variables.
  const onLocalEndpoint = localEndpointUse(envs, env);
  if (onLocalEndpoint && !flags.allowLocalEndpoint) throw new Error(localEndpointRefusal(onLocalEndpoint, `pass ${ALLOW_LOCAL_ENDPOINT_FLAG}`));
  const knownStacks = envs.flatMap((e) => e.regions.map((region) => stackName(e.name, region)));
  const stackProblem = stackSelectionProblem(flags.stacks, knownStacks, `ENVIRONMENTS=${envs.map((e) => e.name).join(",")}`);
  if (stackProblem) throw new Error(stackProblem);
  if (destroy) {
    const problem = confirmProblem(flags.confirm, envs);
    if (problem) {
      process.stderr.write(`error: ${problem}\n`);
      return 2;
    }
  }
  const outdir = path.resolve(root, env.CDKTF_OUTDIR ?? "cdktf.out");
  const out = path.resolve(root, flags.out);
  let server: LocalAws | undefined;
  try {
    let endpoint = env.AWS_ENDPOINT_URL;
    if (envs.some((e) => e.local) && endpoint === undefined) {
      if (destroy) {
        endpoint = deployedLocalEndpoint(env, "destroy", "destroying", log);
      } else {
        server = await startLocalAws();
        endpoint = server.endpoint;
        log(`started a local AWS for the local environment at ${endpoint} (nothing is deployed there: the plan shows creations)\n`);
      }
    }
    const local = envs.filter((e) => e.local);
    if (local.length && endpoint) await bootstrap({ endpoint, root, outdir }, local);

    // What each stack's state held after its last apply, read before the synth replaces the stack
    // folders: the state record, else the backend of the folder's last init (its .terraform goes
    // with the synth). A real environment rehearsed on a local endpoint neither reads nor writes
    // the records of its account.
    const known = new Map<string, { record?: StateRecord; initialized?: Record<string, unknown> }>();
    for (const e of envs) {
      if (onLocalEndpoint?.environments.includes(e.name)) continue;
      for (const region of e.regions) {
        const name = stackName(e.name, region);
        known.set(name, { record: readStateRecord(name, env), initialized: initializedBackend(path.join(outdir, "stacks", name)) });
      }
    }

    const synth = spawnSync(process.execPath, [path.join(root, "dist", "main.js")], {
      cwd: root,
      // The guard above has decided for the terraform runs below; in the synth the endpoint only
      // configures local stacks (a local AWS started for them included), so the app's own check,
      // meant for cdktf deploy, is told so.
      env: { ...env, CDKTF_OUTDIR: outdir, [ALLOW_LOCAL_ENDPOINT]: "1", ...(endpoint ? { AWS_ENDPOINT_URL: endpoint } : {}) },
      encoding: "utf8",
    });
    if (synth.status !== 0) throw new Error(`synth failed:\n${synth.stderr.trim()}`);
    // The constructs' warnings (one line each): shown by every command that synthesizes.
    if (synth.stderr) process.stderr.write(synth.stderr);

    const tfBase = terraformEnv(path.join(root, ".tmp", "terraform"), env);
    const stacks: PlannedStack[] = envs
      .flatMap((e) =>
        e.regions.map((region) => {
          const name = stackName(e.name, region);
          return { env: e, region, name, dir: path.join(outdir, "stacks", name), tfEnv: e.local && endpoint ? { ...tfBase, ...localAwsEnv(endpoint, region) } : tfBase };
        }),
      )
      .filter((s) => flags.stacks.length === 0 || flags.stacks.includes(s.name));
    const localEndpoint: LocalEndpointPlan | undefined = onLocalEndpoint && {
      ...onLocalEndpoint,
      stacks: stacks.filter((s) => onLocalEndpoint.environments.includes(s.env.name)).map((s) => s.name),
    };
    fs.mkdirSync(out, { recursive: true });
    const progress = (s: PlannedStack): TerraformProgress => ({ label: s.name, log });
    /** The stacks whose plan needed the provider's whole schema: their apply gets it too. */
    const wholeSchemaFor = new Set<string>();

    // At most `limit` stacks run terraform at once: init, plan and show of a stack hold one slot,
    // and so does each apply below.
    const parallelism = resolveParallelism(flags.parallelism);
    log(`${parallelismLine(destroy ? "planning the destruction of" : "planning", stacks.length, parallelism)}\n`);
    const planStack = async (s: PlannedStack): Promise<StackReview> => {
      await terraformOk(["init", "-input=false", "-no-color", "-reconfigure"], s.dir, s.tfEnv, { progress: progress(s) });
      const planFile = path.join(out, `${s.name}.tfplan`);
      const planArgs = ["plan", ...(destroy ? ["-destroy"] : []), "-input=false", "-no-color", "-detailed-exitcode", `-out=${planFile}`];
      // One AWS provider process for this stack's plan and show (see shared-provider.ts; none for
      // a destroy plan, which configures the provider twice), seen through the schema-trimming
      // proxy. A state that holds a type the configuration no longer names fails the trimmed plan
      // loudly ("no schema available ... while reading state"): then once more with the whole schema.
      const planAndShow = async (wholeSchema: boolean): Promise<{ stdout: string } | "missing-schema"> => {
        const provider = await startSharedProvider(s.dir, s.tfEnv, planArgs, log, s.name, { wholeSchema });
        const planEnv = provider ? { ...s.tfEnv, ...provider.env } : s.tfEnv;
        try {
          const plan = await terraform(planArgs, s.dir, planEnv, {
            progress: progress(s),
          });
          if (plan.code === 1 && provider?.trimmed && isMissingSchemaError(plan.stderr)) return "missing-schema";
          if (plan.code === 1) throw new Error(`terraform plan failed:\n${plan.stderr.trim()}`);
          fs.writeFileSync(path.join(out, `${s.name}.txt`), plan.stdout);
          // The plan read every type of its state and configuration: show needs no other.
          return await terraformOk(["show", "-json", planFile], s.dir, planEnv);
        } finally {
          await provider?.stop();
        }
      };
      let shown = await planAndShow(false);
      if (shown === "missing-schema") {
        log(wholeSchemaRetryLine(s.name));
        wholeSchemaFor.add(s.name);
        shown = await planAndShow(true);
      }
      if (shown === "missing-schema") throw new Error("unreachable: a plan with the whole schema cannot lack one");
      fs.writeFileSync(path.join(out, `${s.name}.json`), shown.stdout);
      const planJson = JSON.parse(shown.stdout);
      const synthesized = readJson(path.join(s.dir, "cdk.tf.json"));
      const backendNow: Record<string, unknown> | undefined = synthesized.terraform?.backend?.s3;
      const k = known.get(s.name);
      // A local stack's record of another local AWS (stopped since, or another run's) says nothing about this one.
      const record = k?.record && sameLocalAws(k.record.backend, backendNow) ? k.record : undefined;
      const initialized = k?.initialized && sameLocalAws(k.initialized, backendNow) ? k.initialized : undefined;
      // The first successful init of a stack without a record is its baseline from now on.
      if (k && !k.record && backendNow) writeStateRecord(s.name, { backend: backendNow, ...priorStateContents(planJson), after: "init", at: new Date().toISOString() }, env);
      const baselineFile = !destroy && flags.baseline ? path.join(flags.baseline, "stacks", s.name, "cdk.tf.json") : undefined;
      const baselineBackend = baselineFile && fs.existsSync(baselineFile) ? readJson(baselineFile).terraform?.backend?.s3 : undefined;
      const review = reviewPlan(s.name, planJson, synthesized, baselineBackend ?? record?.backend ?? initialized, destroy ? undefined : record);
      fs.writeFileSync(path.join(out, `${s.name}.md`), `${stackMarkdown(review, localEndpoint)}\n`);
      // The review as data, for a merge of per-stack jobs (the same renderer and guard).
      fs.writeFileSync(path.join(out, `${s.name}.review.json`), `${JSON.stringify(review, null, 2)}\n`);
      return review;
    };
    // A failed plan does not stop the others (plans change nothing, and one run shows every
    // failing stack); the run fails after all of them ended, naming each failed stack.
    const planned = await runPool(stacks, parallelism.limit, async (s, i) => {
      const tag = `[${i + 1}/${stacks.length}] ${s.name}`;
      const start = Date.now();
      log(`${tag}: planning\n`);
      try {
        const review = await planStack(s);
        log(`${tag}: planned (${secondsSince(start)})\n`);
        return review;
      } catch (e) {
        log(`${tag}: plan failed (${secondsSince(start)})\n`);
        throw e;
      }
    });
    const planFailures = planned.flatMap((p) => (p.status === "failed" ? [`${p.item.name}: ${(p.error as Error).message}`] : []));
    if (planFailures.length) {
      const names = planned.filter((p) => p.status === "failed").map((p) => p.item.name);
      throw new Error(
        `the plan failed for ${names.length} of ${stacksCount(stacks.length)} (${names.join(", ")}); the others were planned, no summary was written\n${planFailures.join("\n")}`,
      );
    }
    const reviews: StackReview[] = planned.map((p) => (p.status === "done" ? p.value : undefined!));
    const waves = applyWaves(stacks, organization, destroy);
    const apply = async (s: PlannedStack) => {
      try {
        // The saved plan is applied against one provider process of its own (one configuration;
        // see shared-provider.ts), with the whole schema when its plan needed it (a plan of a
        // destroy, made without the proxy, finds out in the apply, which then runs again with it).
        const wholeSchema = wholeSchemaFor.has(s.name);
        await terraformWithSharedProvider(["apply", "-input=false", "-no-color", path.join(out, `${s.name}.tfplan`)], s.dir, s.tfEnv, log, s.name, { progress: progress(s), wholeSchema });
      } catch (e) {
        throw alreadyExistsHint((s.env.local ? explainLocalAwsFailure(e) : e) as Error, s.name, destroy);
      }
      // What the state holds now, for the next review (backend-change, state-empty).
      if (known.has(s.name)) {
        try {
          await recordAppliedState(s.name, s.dir, s.tfEnv, destroy ? "destroy" : "apply", env);
        } catch (e) {
          process.stderr.write(`warning: ${s.name} was applied, but its state record was not written: ${(e as Error).message.split("\n")[0]}\n`);
        }
      }
    };

    if (destroy) {
      const envOf = (stack: string) => stacks.find((s) => s.name === stack)!.env.name;
      // The review comes first, so a confirmation asked on the terminal is given knowing what goes.
      let refused = flags.planOnly ? [] : unconfirmed(envs, flags.confirm, reviews, envOf);
      const summary = destroySummaryMarkdown(reviews, refused, localEndpoint);
      fs.writeFileSync(path.join(out, "summary.md"), `${summary}\n`);
      log(`${summary}\n\nplans, their JSON and the reviews are in ${path.relative(root, out) || "."}/\n`);
      if (flags.planOnly) return 0;
      if (refused.length && (await confirmOnTerminal(refused))) refused = [];
      if (refused.length) {
        log(`nothing destroyed: confirm with --confirm ${refused.join(",")}\n`);
        return 1;
      }
      await applyInWaves(
        waves.map((w) => w.filter((s) => reviews.find((r) => r.stack === s.name)!.changes.length)),
        parallelism,
        apply,
        "destroy",
        log,
      );
      log("destroyed everything reviewed above\n");
      return 0;
    }

    const decision = guard(reviews, flags.allowDestroy, flags.allowEmptyState);
    const summary = summaryMarkdown(reviews, decision, localEndpoint);
    fs.writeFileSync(path.join(out, "summary.md"), `${summary}\n`);
    fs.writeFileSync(path.join(out, "summary.json"), `${JSON.stringify(summaryJson(reviews, decision, localEndpoint), null, 2)}\n`);
    log(`${summary}\n\nplans, their JSON and the reviews are in ${path.relative(root, out) || "."}/\n`);
    if (!decision.ok) return 1;

    if (flags.apply) {
      await applyInWaves(waves, parallelism, apply, "apply", log);
      await printOutputs(waves.flat(), log);
    }
    return 0;
  } finally {
    await server?.stop();
  }
}

/**
 * Applies (or destroys) the stacks wave by wave: a wave starts when every stack of the one before
 * is done, with at most `p.limit` stacks at once within it. After a failure no further stack
 * starts (the running ones finish), and the error names what failed, what was applied and what
 * was not.
 */
export async function applyInWaves<S extends { readonly name: string }>(
  waves: readonly (readonly S[])[],
  p: Parallelism,
  apply: (s: S) => Promise<void>,
  verb: "apply" | "destroy",
  log: (line: string) => void,
): Promise<void> {
  const nonEmpty = waves.filter((w) => w.length > 0);
  const total = nonEmpty.reduce((n, w) => n + w.length, 0);
  const [doing, did] = verb === "apply" ? ["applying", "applied"] : ["destroying", "destroyed"];
  log(`${parallelismLine(doing, total, p)}, wave by wave\n`);
  const applied: string[] = [];
  let started = 0;
  for (const [w, wave] of nonEmpty.entries()) {
    log(`wave ${w + 1}/${nonEmpty.length}: ${wave.map((s) => s.name).join(", ")}\n`);
    const settled = await runPool(
      wave,
      p.limit,
      async (s) => {
        const n = `[${++started}/${total}]`;
        const tag = `${n} ${s.name}`;
        const start = Date.now();
        log(`${n} ${doing} the reviewed plan of ${s.name}\n`);
        try {
          await apply(s);
        } catch (e) {
          log(`${tag}: ${verb} failed (${secondsSince(start)})\n`);
          throw e;
        }
        applied.push(s.name);
        log(`${tag}: ${did} (${secondsSince(start)})\n`);
      },
      { stopOnFailure: true },
    );
    const failed = settled.flatMap((x) => (x.status === "failed" ? [x] : []));
    if (failed.length) {
      const notApplied = nonEmpty.flat().map((s) => s.name).filter((n) => !applied.includes(n));
      throw new Error(
        `${verb} failed for ${failed.map((f) => f.item.name).join(", ")} (wave ${w + 1} of ${nonEmpty.length}); ` +
          `${did}: ${applied.join(", ") || "none"}; not ${did}: ${notApplied.join(", ")}\n` +
          failed.map((f) => `${f.item.name}: ${(f.error as Error).message}`).join("\n"),
      );
    }
  }
}

/**
 * An apply that fails because a resource already exists, most often one an interrupted apply
 * created before it could write the state: the error gains the line that says how to adopt it.
 */
export function alreadyExistsHint(e: Error, stack: string, destroy: boolean): Error {
  if (destroy || !/AlreadyExists/.test(e.message)) return e;
  return new Error(
    `${e.message}\n${stack}: a resource of this stack already exists outside its state (an interrupted apply creates resources it never records): ` +
      `adopt what exists with npm run recover -- --stack ${stack} (docs/recovery.md)`,
  );
}

/** The usage text of the command the arguments come from: plan, deploy (`--apply`) or destroy (`--destroy` first). */
export function usageFor(argv: readonly string[]): string {
  if (argv[0] === "--destroy") return DESTROY_USAGE;
  return argv.includes("--apply") ? DEPLOY_USAGE : USAGE;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  runCli<PlanFlags | DestroyFlags>({
    parse: () => (argv[0] === "--destroy" ? parseDestroyFlags(argv.slice(1), process.env) : parsePlanFlags(argv, process.env)),
    usage: usageFor(argv),
    run: (flags) => runPlan(flags),
  });
}
