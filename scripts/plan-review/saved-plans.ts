/**
 * `npm run deploy -- --plans DIR`: applies the saved plans a review passed (the plans folder of
 * `npm run plan -- --out DIR`, or of `merge-reviews`, e.g. the CI artifact), never a new plan.
 * Before any apply it decides over every selected stack: the reviewed decision (DIR/summary.json,
 * with the allowances it recorded) must be ok, and each stack's plan must still match what it was
 * planned from (its binding: the commit, the synthesized Terraform, the state's lineage and
 * serial). One mismatch and nothing is applied in any account.
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../../config/environments";
import { applyWaves } from "../../stacks/topology";
import { doneValues, resolveParallelism, runPool } from "../shared/pool";
import { TerraformSession } from "../terraform/session";
import { applyPlans, printOutputs, readOutputs } from "./apply";
import { deployedCommit, stackDigest } from "./state-record";
import { BINDING_SUFFIX, bindingProblem, stateMismatch, stateVersion, type PlanBinding, type StateVersion } from "./binding";
import type { PlanFlags } from "./flags";
import type { PipelineOptions } from "./pipeline";
import type { PlannedStack } from "./plan-stacks";
import { guard, type Allowances, type StackReview } from "./review";
import { selectStacks } from "../stacks/list";
import { select } from "./select";
import { synthesize } from "./synth";

/** The allowances a review decided with, as summary.json records them. */
export interface RecordedAllowances {
  /** Given as flags or variables (`--allow-destroy`, `ALLOW_DESTROY`, …). */
  readonly flags: Allowances;
  /** The reviewed allowances file, if one was read. */
  readonly file: (Allowances & { readonly file: string; readonly reason: string }) | null;
}

/** What `npm run deploy -- --plans` reads of DIR/summary.json. */
export interface SavedSummary {
  readonly ok: boolean;
  readonly stacks: StackReview[];
  readonly missing: string[];
  readonly allowances: RecordedAllowances;
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");
const isAllowances = (v: any): boolean => v !== null && typeof v === "object" && isStrings(v.allowDestroy) && isStrings(v.allowEmptyState);

/** Reads DIR/summary.json; throws one line when it is missing or not a summary this version writes. */
export function readSavedSummary(dir: string, shown: string): SavedSummary {
  const file = path.join(dir, "summary.json");
  if (!fs.existsSync(file)) throw new Error(`${shown}/summary.json: no such file (--plans takes the folder npm run plan -- --out DIR or merge-reviews wrote)`);
  let v: any;
  try {
    v = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${shown}/summary.json is not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (v === null || typeof v !== "object" || typeof v.ok !== "boolean" || !Array.isArray(v.stacks)) throw new Error(`${shown}/summary.json is not a review summary (no "ok" and "stacks")`);
  const a = v.allowances;
  if (a === undefined || a === null || !isAllowances(a.flags) || (a.file !== null && !isAllowances(a.file))) {
    throw new Error(`${shown}/summary.json records no "allowances" (written by an older version): plan again`);
  }
  return { ok: v.ok, stacks: v.stacks, missing: isStrings(v.missing) ? v.missing : [], allowances: a };
}

/**
 * Why the reviewed decision lets nothing be applied, or undefined: summary.json says it was not
 * ok, a planned stack had no review, or the guard over its reviews with the allowances it
 * recorded does not pass.
 */
export function decisionRefusal(summary: SavedSummary, shown: string): string | undefined {
  const again = guard(summary.stacks, summary.allowances.flags.allowDestroy, summary.allowances.flags.allowEmptyState, summary.allowances.file ?? undefined);
  if (summary.ok && again.ok && summary.missing.length === 0) return undefined;
  const why = [
    ...(again.blocked.length ? [`blocked: ${again.blocked.join(", ")}`] : []),
    ...(again.emptyState.length ? [`empty state: ${again.emptyState.join(", ")}`] : []),
    ...(again.unusedAllowances.length || again.unusedEmptyStateAllowances.length ? [`allowances that match nothing: ${[...again.unusedAllowances, ...again.unusedEmptyStateAllowances].join(", ")}`] : []),
    ...(summary.missing.length ? [`no review: ${summary.missing.join(", ")}`] : []),
  ];
  return `${shown}/summary.json: the reviewed decision was not ok (${why.join("; ") || "ok is false"}): nothing applied; fix the change or allow it in deploy-allowances.json, then plan again`;
}

/** What the checkout holds now for one stack. */
export interface Checkout {
  readonly commit: string | null;
  readonly digest: string;
}

/** Why a stack's saved plan may not be applied to this checkout, or undefined (the state is compared separately). */
export function checkoutMismatch(stack: string, binding: PlanBinding, now: Checkout): string | undefined {
  if (binding.commit !== now.commit) return `${stack}: the reviewed plan was made at commit ${binding.commit ?? "(unknown)"}, this checkout is ${now.commit ?? "(unknown)"}: plan again`;
  if (binding.digest !== now.digest) {
    return `${stack}: the reviewed plan was made from other Terraform (synth digest ${binding.digest.slice(0, 12)} when planned, ${now.digest.slice(0, 12)} now): plan again`;
  }
  return undefined;
}

/** Reads a stack's binding from DIR; a missing or damaged one is a problem line. */
function readBinding(dir: string, shown: string, stack: string): PlanBinding | string {
  const file = path.join(dir, `${stack}${BINDING_SUFFIX}`);
  if (!fs.existsSync(path.join(dir, `${stack}.tfplan`))) return `${stack}: ${shown}/${stack}.tfplan is missing: plan it (npm run plan -- --stack ${stack})`;
  if (!fs.existsSync(file)) return `${stack}: ${shown}/${stack}${BINDING_SUFFIX} is missing (plans written without a binding cannot be checked): plan again`;
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return `${stack}: ${shown}/${stack}${BINDING_SUFFIX} is not valid JSON (${(e as Error).message.split("\n")[0]})`;
  }
  const problem = bindingProblem(v, stack);
  return problem ? `${stack}: ${shown}/${stack}${BINDING_SUFFIX}: ${problem}` : (v as PlanBinding);
}

/** Writes each line as `error: …` and says that nothing was applied; returns the exit code. */
function refuse(lines: readonly string[]): number {
  for (const l of lines) process.stderr.write(`error: ${l}\n`);
  return 1;
}

/** Runs `npm run deploy -- --plans DIR [--check-only]`; returns the exit code. */
export async function deploySavedPlans(flags: PlanFlags & { readonly plans: string }, env: NodeJS.ProcessEnv, log: (s: string) => void, options: PipelineOptions = {}): Promise<number> {
  const root = projectRoot();
  const dir = path.resolve(flags.plans);
  const shown = flags.plans.replace(/\/+$/, "");
  const summary = readSavedSummary(dir, shown);
  const refusal = decisionRefusal(summary, shown);
  if (refusal) return refuse([refusal]);
  const reviewed = summary.stacks.map((r) => r.stack);
  const names = flags.stacks.length ? flags.stacks : reviewed;
  if (!names.length) {
    log(`${shown}/summary.json reviews no stack: nothing to apply\n`);
    return 0;
  }
  const selection = options.selection ?? selectStacks({ env });
  const outside = reviewed.filter((n) => !selection.stacks.some((s) => s.name === n));
  if (!flags.stacks.length && outside.length) {
    return refuse([
      `${shown}/summary.json reviews ${outside.join(", ")}, outside the selected environments (ENVIRONMENTS=${selection.environments.map((e) => e.name).join(",")}): ` +
        "select the environments that were planned, or name the stacks to apply with --stack; nothing applied",
    ]);
  }
  const selected = select(env, log, {
    selection,
    stacks: names,
    allowLocalEndpoint: flags.allowLocalEndpoint,
    command: "deploy",
    doing: "deploying",
    noneNote: "the local environments need one: start it with npm start -- --keep-running",
    verb: "deploy against",
  });
  const problems: string[] = [];
  const bindings = new Map<string, PlanBinding>();
  for (const s of selected.stacks) {
    if (!reviewed.includes(s.name)) {
      problems.push(`${s.name}: ${shown}/summary.json does not review it: plan it (npm run plan -- --stack ${s.name})`);
      continue;
    }
    const b = readBinding(dir, shown, s.name);
    if (typeof b === "string") problems.push(b);
    else bindings.set(s.name, b);
  }
  if (problems.length) return refuse([...problems, `nothing applied: ${problems.length} of ${selected.stacks.length} stacks cannot be checked against their reviewed plans`]);

  const stacks = await synthesize(root, selected, env, { records: options.freshEndpoint ? "write" : "read" });
  const commit = deployedCommit(env, root);
  const parallelism = resolveParallelism(flags.parallelism);
  const session = new TerraformSession(log);
  log(`checking ${stacks.length} saved plan${stacks.length === 1 ? "" : "s"} of ${shown} against this checkout (commit ${commit ?? "unknown"}) and their states\n`);
  // Every stack is checked before any applies; the states are read at most `limit` at once.
  const checked = await runPool(stacks, parallelism.limit, async (s) => {
    const binding = bindings.get(s.name)!;
    const mismatch = checkoutMismatch(s.name, binding, { commit, digest: stackDigest(s.dir) });
    if (mismatch) return mismatch;
    await session.init(s);
    const now: StateVersion = stateVersion((await session.run(s, ["state", "pull"])).stdout);
    const stale = stateMismatch(binding, now);
    return stale && `${s.name}: ${stale}`;
  });
  const failed = checked.flatMap((c) => (c.status === "failed" ? [`${c.item.name}: its state could not be read: ${(c.error as Error).message.split("\n")[0]}`] : []));
  const mismatches = [...doneValues(checked).filter((m): m is string => typeof m === "string"), ...failed];
  if (mismatches.length) return refuse([...mismatches, `nothing applied: ${mismatches.length} of ${stacks.length} stacks no longer match their reviewed plans`]);
  if (flags.checkOnly) {
    log(`every saved plan matches this checkout and its state (${stacks.map((s) => s.name).join(", ")}); nothing applied (--check-only)\n`);
    return 0;
  }

  const planned: PlannedStack[] = stacks.map((s) => ({ stack: s, review: summary.stacks.find((r) => r.stack === s.name)!, planFile: path.join(dir, `${s.name}.tfplan`) }));
  const waves = applyWaves(
    planned.map((p) => ({ ...p, environment: p.stack.environment })),
    selected.selection.organization,
  );
  const applied = await applyPlans(waves, session, { destroy: false, parallelism }, env, log);
  const outputs = await readOutputs(waves.flat(), session);
  printOutputs(outputs, log);
  await options.onDeployed?.({ waves, applied, outputs, organization: selected.selection.organization }, selected);
  return 0;
}
