/**
 * The apply stage: the reviewed plans applied (or destroyed) wave by wave, each apply recorded for
 * the next review, and the outputs printed.
 */
import { runPool, secondsSince, type Parallelism } from "../shared/pool";
import { TerraformError } from "../terraform/run";
import type { TerraformSession } from "../terraform/session";
import { recordAppliedState } from "./state-record";
import { parallelismLine, type PlannedStack } from "./plan-stacks";

/** How the reviewed plans are applied. */
export interface ApplyOptions {
  readonly destroy: boolean;
  readonly parallelism: Parallelism;
}

/** What applying one stack gave. */
export interface AppliedStack {
  readonly stack: PlannedStack;
  readonly seconds: number;
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

/**
 * A failed apply against a local endpoint that answered HTTP 500 to an API call, the way an
 * endpoint answers a call it does not implement: the plain line first (which call, and that a
 * fresh local AWS is the way on), Terraform's text below it. Any other error is left as it is.
 */
export function explainUnsupportedCall(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const detail = e instanceof TerraformError ? `${e.result.stderr}\n${e.result.stdout}` : e.message;
  const call = /operation error ([\w ]+?): (\w+),[^\n]*StatusCode: 500\b/.exec(detail);
  if (!call) return e;
  return new Error(`${unsupportedCallLine(call[1], call[2])}\n${e.message}`);
}

/** The line of {@link explainUnsupportedCall}. */
export function unsupportedCallLine(service: string, operation: string): string {
  return `the local endpoint does not support ${service} ${operation} (it answered HTTP 500): apply this change to a fresh local AWS (npm start)`;
}

/**
 * Applies each stack's reviewed plan (after a review that passed) wave by wave; records what each
 * apply left in the state for the next review.
 */
export async function applyPlans(
  waves: readonly (readonly PlannedStack[])[],
  session: TerraformSession,
  opts: ApplyOptions,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<AppliedStack[]> {
  const applied: AppliedStack[] = [];
  const apply = async (p: PlannedStack & { readonly name: string }) => {
    const s = p.stack;
    const start = Date.now();
    try {
      await session.apply(s, p.planFile);
    } catch (e) {
      throw alreadyExistsHint((s.environment.local ? explainUnsupportedCall(e) : e) as Error, s.name, opts.destroy);
    }
    applied.push({ stack: p, seconds: (Date.now() - start) / 1000 });
    // What the state holds now, for the next review (backend-change, state-empty).
    if (s.known) {
      try {
        await recordAppliedState({ name: s.name, dir: s.dir, tfEnv: s.tfEnv, local: s.environment.local === true }, opts.destroy ? "destroy" : "apply", s.known.commit, env);
      } catch (e) {
        process.stderr.write(`warning: ${s.name} was applied, but its state record was not written: ${(e as Error).message.split("\n")[0]}\n`);
      }
    }
  };
  await applyInWaves(
    waves.map((w) => w.map((p) => ({ ...p, name: p.stack.name }))),
    opts.parallelism,
    apply,
    opts.destroy ? "destroy" : "apply",
    log,
  );
  return applied;
}

/** Each stack's outputs, by stack name, as strings (a sensitive one as "(sensitive)"). */
export async function readOutputs(stacks: readonly PlannedStack[], session: TerraformSession): Promise<Map<string, Record<string, string>>> {
  const all = new Map<string, Record<string, string>>();
  for (const p of stacks) {
    const out = await session.outputs(p.stack);
    all.set(p.stack.name, Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.sensitive ? "(sensitive)" : typeof v.value === "string" ? v.value : JSON.stringify(v.value)])));
  }
  return all;
}

/** Prints each stack's outputs. */
export function printOutputs(outputs: ReadonlyMap<string, Record<string, string>>, log: (s: string) => void, heading: (stack: string) => string = (s) => s): void {
  log("\nOutputs\n");
  for (const [stack, out] of outputs) {
    log(`  ${heading(stack)}\n`);
    for (const [k, v] of Object.entries(out)) log(`    ${k} = ${v}\n`);
  }
}
