import * as fs from "fs";
import * as os from "os";

/** What became of one item of a {@link runPool}. */
export type PoolSettled<T, R> =
  | { readonly item: T; readonly index: number; readonly status: "done"; readonly value: R }
  | { readonly item: T; readonly index: number; readonly status: "failed"; readonly error: unknown }
  | { readonly item: T; readonly index: number; readonly status: "not-started" };

/** Options of {@link runPool}. */
export interface PoolOptions {
  /**
   * After a failure, start no further item (the running ones finish); the rest are "not-started".
   * @default false - every item runs, failures included
   */
  readonly stopOnFailure?: boolean;
}

/**
 * Runs `work` on each item, at most `limit` at once, starting them in the order of `items` (the
 * next one as soon as a slot is free). Never rejects: resolves, once every started item has
 * ended, with what became of each item, in the order of `items`.
 */
export async function runPool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>, options: PoolOptions = {}): Promise<PoolSettled<T, R>[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`pool limit ${limit} must be an integer ≥ 1`);
  const settled: PoolSettled<T, R>[] = items.map((item, index) => ({ item, index, status: "not-started" }));
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && next < items.length) {
      const index = next++;
      const item = items[index];
      try {
        settled[index] = { item, index, status: "done", value: await work(item, index) };
      } catch (error) {
        settled[index] = { item, index, status: "failed", error };
        if (options.stopOnFailure) stopped = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return settled;
}

/** The values of a pool's items that were done, in order; throws nothing. */
export function doneValues<T, R>(settled: readonly PoolSettled<T, R>[]): R[] {
  return settled.flatMap((s) => (s.status === "done" ? [s.value] : []));
}

/** The highest `--parallelism` / `PARALLELISM` accepted. */
export const MAX_PARALLELISM = 64;

/** Memory one `terraform` with the AWS provider takes (~600 MB measured, with headroom). */
export const MIB_PER_TERRAFORM = 700;

/** The problem with a parallelism value (what, the value, the rule), or undefined when it is fine. */
export function parallelismProblem(value: string, source: string): string | undefined {
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_PARALLELISM) return undefined;
  return `${source} ${JSON.stringify(value)} must be an integer from 1 to ${MAX_PARALLELISM} (how many stacks run terraform at once)`;
}

/** What the machine offers, for the default parallelism. */
export interface MachineResources {
  /** Cores this process may use. */
  readonly cores: number;
  /** Memory available to new processes, in bytes. */
  readonly availableBytes: number;
}

/** The cores and available memory of this machine: /proc/meminfo's MemAvailable where there is one, else os.freemem(). */
export function machineResources(meminfo = "/proc/meminfo"): MachineResources {
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  let availableBytes = os.freemem();
  try {
    const kib = /^MemAvailable:\s+(\d+)\s+kB$/m.exec(fs.readFileSync(meminfo, "utf8"))?.[1];
    if (kib !== undefined) availableBytes = Number(kib) * 1024;
  } catch {
    // no /proc (macOS): os.freemem()
  }
  return { cores, availableBytes };
}

/** How many terraform processes the machine runs at once: min(cores, available memory / 700 MiB), at least 1, at most 64. */
export function defaultParallelism(m: MachineResources): number {
  const byMemory = Math.floor(m.availableBytes / (MIB_PER_TERRAFORM * 1024 * 1024));
  return Math.max(1, Math.min(m.cores, byMemory, MAX_PARALLELISM));
}

/** The parallelism of a run and where it came from. */
export interface Parallelism {
  readonly limit: number;
  /** Why this limit, for the line printed at start: `2 cores, 21.3 GiB available, ~700 MiB per terraform` or `--parallelism 3`. */
  readonly reason: string;
}

/** The parallelism given (flag, else PARALLELISM), else the machine's default. */
export function resolveParallelism(given: { value: number; source: string } | undefined, machine: () => MachineResources = machineResources): Parallelism {
  if (given) return { limit: given.value, reason: `${given.source} ${given.value}` };
  const m = machine();
  return {
    limit: defaultParallelism(m),
    reason: `${m.cores} core${m.cores === 1 ? "" : "s"}, ${(m.availableBytes / 1024 ** 3).toFixed(1)} GiB available, ~${MIB_PER_TERRAFORM} MiB per terraform`,
  };
}

/** The variable that sets the parallelism when `--parallelism` is not given. */
export const PARALLELISM_VARIABLE = "PARALLELISM";

/** A parallelism given by the user, and where. */
export interface GivenParallelism {
  readonly value: number;
  /** `--parallelism` or `PARALLELISM`. */
  readonly source: string;
}

/** Reads a parallelism value; a bad one adds one line to `problems` and gives undefined. */
export function readParallelism(value: string | undefined, source: string, problems: string[]): GivenParallelism | undefined {
  if (value === undefined) return undefined;
  const problem = parallelismProblem(value, source);
  if (problem) {
    problems.push(problem);
    return undefined;
  }
  return { value: Number(value), source };
}

/** Seconds since `start` (a Date.now()), as progress lines show them: `12.3 s`. */
export function secondsSince(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)} s`;
}
