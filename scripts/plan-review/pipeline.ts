/**
 * The pipeline of `npm run plan`, `deploy` and `destroy` (and of `npm start`, which runs the
 * deploy against the local AWS it started): select → synth → plan every stack → review → guard
 * → apply in waves. Each stage is a module of its own with a typed hand-off (select.ts:
 * Selected; synth.ts: SynthesizedStack[]; plan-stacks.ts: PlannedStack[]; review.ts: the
 * GuardDecision; apply.ts: AppliedStack[]).
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot, type EnvironmentConfig } from "../../config/environments";
import { applyWaves } from "../../stacks/topology";
import { resolveParallelism } from "../shared/pool";
import { TerraformSession } from "../terraform/session";
import { applyPlans, printOutputs, readOutputs, type AppliedStack } from "./apply";
import { confirmOnTerminal, confirmProblem, destroySummaryMarkdown, unconfirmed } from "./destroy";
import type { DestroyFlags, PlanFlags } from "./flags";
import { orphansOfRun } from "./merge-records";
import { planStacks, type PlannedStack } from "./plan-stacks";
import { deployedCommit } from "./state-record";
import { guard, runContext, summaryJson, summaryMarkdown, SUMMARY_MAX_CHARS, type LocalEndpointPlan } from "./review";
import { select, type Selected } from "./select";
import type { StackSelection } from "../stacks/list";
import { deploySavedPlans } from "./saved-plans";
import { synthesize } from "./synth";

/** What a deploy (`--apply`) left: the plans applied, wave by wave, and each stack's outputs. */
export interface Deployed {
  readonly waves: PlannedStack[][];
  readonly applied: AppliedStack[];
  readonly outputs: Map<string, Record<string, string>>;
  /** Every environment of the config (the organization the deployed ones belong to). */
  readonly organization: EnvironmentConfig[];
}

/** How a command runs the pipeline beyond its flags. */
export interface PipelineOptions {
  /** The stack list, when the command already built it (from the same config and ENVIRONMENTS). @default - built here */
  readonly selection?: StackSelection;
  /** The local endpoint was started for this run: it holds nothing the state records describe. @default false */
  readonly freshEndpoint?: boolean;
  /** Receives what a deploy left (after the outputs are printed). */
  readonly onDeployed?: (deployed: Deployed, selected: Selected) => void | Promise<void>;
}

/** Runs the review (and the deploy or destroy after it); returns the exit code. */
export async function runPlan(
  flags: PlanFlags | DestroyFlags,
  env: NodeJS.ProcessEnv = process.env,
  log = (s: string) => process.stdout.write(s),
  options: PipelineOptions = {},
): Promise<number> {
  if ("plans" in flags && flags.plans !== undefined) return deploySavedPlans({ ...flags, plans: flags.plans }, env, log, options);
  const destroy = "destroy" in flags;
  const root = projectRoot();
  let confirmation: string | undefined;
  const command = destroy ? "destroy" : "apply" in flags && flags.apply ? "deploy" : "plan";
  const selected = select(env, log, {
    selection: options.selection,
    stacks: flags.stacks,
    allowLocalEndpoint: flags.allowLocalEndpoint,
    check: (envs) => {
      if (destroy) confirmation = confirmProblem(flags.confirm, envs);
    },
    command,
    doing: { destroy: "destroying", deploy: "deploying", plan: "planning" }[command],
    ...(destroy
      ? { noneNote: "a local AWS started for a run is gone with it" }
      : { noneNote: "the local environments need one: start it with npm start -- --keep-running", verb: `${command} against` }),
  });
  if (confirmation) {
    process.stderr.write(`error: ${confirmation}\n`);
    return 2;
  }
  const out = path.resolve(root, flags.out);
  const stacks = await synthesize(root, selected, env, { records: options.freshEndpoint ? "write" : "read", baseline: "baseline" in flags ? flags.baseline : undefined });
  const localEndpoint: LocalEndpointPlan | undefined = selected.onLocalEndpoint && {
    ...selected.onLocalEndpoint,
    stacks: stacks.filter((s) => selected.onLocalEndpoint!.environments.includes(s.environment.name)).map((s) => s.name),
  };
  // At most `limit` stacks run terraform at once: init, plan and show of a stack hold one slot,
  // and so does each apply.
  const parallelism = resolveParallelism(flags.parallelism);
  const session = new TerraformSession(log);
  const commit = deployedCommit(env, root);
  const planned = await planStacks(stacks, session, { out, destroy, baseline: "baseline" in flags ? flags.baseline : undefined, parallelism, localEndpoint, commit }, env, log);
  const reviews = planned.map((p) => p.review);
  const waves = applyWaves(
    planned.map((p) => ({ ...p, environment: p.stack.environment })),
    selected.selection.organization,
  );
  const shownOut = path.relative(root, out) || ".";

  if (destroy) {
    const envOf = (stack: string) => stacks.find((s) => s.name === stack)!.environment.name;
    // The review comes first, so a confirmation asked on the terminal is given knowing what goes.
    let refused = flags.planOnly ? [] : unconfirmed(selected.selection.environments, flags.confirm, reviews, envOf);
    const summary = destroySummaryMarkdown(reviews, refused, localEndpoint);
    fs.writeFileSync(path.join(out, "summary.md"), `${summary}\n`);
    log(`${summary}\n\nplans, their JSON and the reviews are in ${shownOut}/\n`);
    if (flags.planOnly) return 0;
    if (refused.length && (await confirmOnTerminal(refused))) refused = [];
    if (refused.length) {
      log(`nothing destroyed: confirm with --confirm ${refused.join(",")}\n`);
      return 1;
    }
    // Owners before the consumers that pull from them; a stack with nothing to destroy is skipped.
    const reversed = waves.reverse().map((w) => w.filter((p) => p.review.changes.length));
    await applyPlans(reversed, session, { destroy, parallelism }, env, log);
    log("destroyed everything reviewed above\n");
    return 0;
  }

  const decision = guard(reviews, flags.allowDestroy, flags.allowEmptyState);
  // The states no stack of the config manages (merge-records.ts); a run of named stacks leaves them to the merge.
  const orphans = flags.stacks.length ? "" : await orphansOfRun(selected, env);
  // The orphans' section (itself bounded) comes out of the summary's size limit.
  const maxChars = SUMMARY_MAX_CHARS - (orphans ? orphans.length + 2 : 0);
  const summary = `${summaryMarkdown(reviews, decision, localEndpoint, { context: runContext(env, commit), maxChars })}${orphans ? `\n\n${orphans}` : ""}`;
  fs.writeFileSync(path.join(out, "summary.md"), `${summary}\n`);
  const allowances = { flags: { allowDestroy: flags.allowDestroy, allowEmptyState: flags.allowEmptyState }, file: null };
  fs.writeFileSync(path.join(out, "summary.json"), `${JSON.stringify(summaryJson(reviews, decision, localEndpoint, allowances), null, 2)}\n`);
  // The job's page shows the review too (GitHub Actions; pull requests included).
  if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, `${summary}\n`);
  log(`${summary}\n\nplans, their JSON and the reviews are in ${shownOut}/\n`);
  if (!decision.ok) return 1;

  if (flags.apply) {
    const applied = await applyPlans(waves, session, { destroy, parallelism }, env, log);
    const outputs = await readOutputs(waves.flat(), session);
    printOutputs(outputs, log);
    await options.onDeployed?.({ waves, applied, outputs, organization: selected.selection.organization }, selected);
  }
  return 0;
}
