/**
 * The plan stage: `terraform plan` of every stack (at most `parallelism` at once), each plan kept
 * with its JSON and text, and reviewed (review.ts) against what the stack's last apply left.
 */
import * as fs from "fs";
import * as path from "path";
import { doneValues, runPool, secondsSince, type Parallelism } from "../shared/pool";
import type { TerraformSession } from "../terraform/session";
import { plannedStateVersion, writeBinding } from "./binding";
import { reviewPlan, stackMarkdown, type LocalEndpointPlan, type StackReview } from "./review";
import { sameLocalAws, stackDigest } from "./state-record";
import { readJson, type SynthesizedStack } from "./synth";

/** A stack planned and reviewed: what the review and apply stages take. */
export interface PlannedStack {
  readonly stack: SynthesizedStack;
  readonly review: StackReview;
  /** The saved plan, applied as it is. */
  readonly planFile: string;
}

/** How the stacks are planned. */
export interface PlanOptions {
  /** Where the plans and reviews go. */
  readonly out: string;
  readonly destroy: boolean;
  /** A previous synth output whose backends the reviews compare with. @default - the state records */
  readonly baseline?: string;
  readonly parallelism: Parallelism;
  readonly localEndpoint?: LocalEndpointPlan;
  /** The commit planned, written into each plan's binding (binding.ts). @default null */
  readonly commit?: string | null;
}

/** "1 stack" / "5 stacks". */
export const stacksCount = (n: number) => `${n} stack${n === 1 ? "" : "s"}`;

/** The line a run prints at its start: how many stacks, how many at once, and why. */
export function parallelismLine(verb: string, stacks: number, p: Parallelism): string {
  return `${verb} ${stacksCount(stacks)}, at most ${p.limit} at once (${p.reason})`;
}

/** Plans and reviews one stack; writes its plan, JSON, text and review into `opts.out`. */
async function planStack(s: SynthesizedStack, session: TerraformSession, opts: PlanOptions, env: NodeJS.ProcessEnv): Promise<PlannedStack> {
  await session.init(s);
  const planFile = path.join(opts.out, `${s.name}.tfplan`);
  const { plan, json } = await session.plan(s, opts.destroy ? ["-destroy"] : [], planFile);
  fs.writeFileSync(path.join(opts.out, `${s.name}.txt`), plan.stdout);
  fs.writeFileSync(path.join(opts.out, `${s.name}.json`), json);
  const planJson = JSON.parse(json);
  const synthesized = readJson(path.join(s.dir, "cdk.tf.json"));
  const backendNow: Record<string, unknown> | undefined = synthesized.terraform?.backend?.s3;
  const k = s.known;
  // A local stack's record of another local AWS (stopped since, or another run's) says nothing about this one.
  const record = k?.found && sameLocalAws(k.found.record.backend, backendNow) ? k.found.record : undefined;
  const initialized = k?.initialized && sameLocalAws(k.initialized, backendNow) ? k.initialized : undefined;
  const baselineFile = !opts.destroy && opts.baseline ? path.join(opts.baseline, "stacks", s.name, "cdk.tf.json") : undefined;
  const baselineBackend = baselineFile && fs.existsSync(baselineFile) ? readJson(baselineFile).terraform?.backend?.s3 : undefined;
  const reviewed = reviewPlan(s.name, planJson, synthesized, baselineBackend ?? record?.backend ?? initialized, opts.destroy ? undefined : record, {
    account: s.environment.accountId,
    ci: env.GITHUB_ACTIONS === "true",
  });
  // The commit its state was last deployed from (the nightly report says since when a change is pending).
  const review: StackReview = record && record.after !== "init" ? { ...reviewed, deployed: { commit: record.commit, at: record.at } } : reviewed;
  // What the plan was made from, so that `npm run deploy -- --plans` applies it only while that holds.
  writeBinding(opts.out, { stack: s.name, commit: opts.commit ?? null, digest: stackDigest(s.dir), ...plannedStateVersion(planFile) });
  fs.writeFileSync(path.join(opts.out, `${s.name}.md`), `${stackMarkdown(review, opts.localEndpoint)}\n`);
  // The review as data, for a merge of per-stack jobs (the same renderer and guard).
  fs.writeFileSync(path.join(opts.out, `${s.name}.review.json`), `${JSON.stringify(review, null, 2)}\n`);
  return { stack: s, review, planFile };
}

/**
 * Plans every stack. A failed plan does not stop the others (plans change nothing, and one run
 * shows every failing stack); the run fails after all of them ended, naming each failed stack.
 */
export async function planStacks(stacks: readonly SynthesizedStack[], session: TerraformSession, opts: PlanOptions, env: NodeJS.ProcessEnv, log: (s: string) => void): Promise<PlannedStack[]> {
  fs.mkdirSync(opts.out, { recursive: true });
  log(`${parallelismLine(opts.destroy ? "planning the destruction of" : "planning", stacks.length, opts.parallelism)}\n`);
  const planned = await runPool(stacks, opts.parallelism.limit, async (s, i) => {
    const tag = `[${i + 1}/${stacks.length}] ${s.name}`;
    const start = Date.now();
    log(`${tag}: planning\n`);
    try {
      const p = await planStack(s, session, opts, env);
      log(`${tag}: planned (${secondsSince(start)})\n`);
      return p;
    } catch (e) {
      log(`${tag}: plan failed (${secondsSince(start)})\n`);
      throw e;
    }
  });
  const failed = planned.flatMap((p) => (p.status === "failed" ? [p] : []));
  if (failed.length) {
    throw new Error(
      `the plan failed for ${failed.length} of ${stacksCount(stacks.length)} (${failed.map((p) => p.item.name).join(", ")}); the others were planned, no summary was written\n` +
        failed.map((p) => `${p.item.name}: ${(p.error as Error).message}`).join("\n"),
    );
  }
  return doneValues(planned);
}
