/**
 * What each stack's state held after its last successful apply (or destroy, or, while no such
 * record exists, its first init): the S3 backend it was applied with, its outputs' names and how
 * many managed resources it held. Kept per stack under `.tmp/state-records/` of the project
 * (`STATE_RECORD_DIR` elsewhere): outside `.terraform` and outside the synth output, which every
 * synth replaces. `npm run plan` compares with it: a moved backend (`backend-change`) and a state
 * that is suddenly empty (`state-empty`).
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../../config/environments";
import { writeFileAtomic } from "../shared/files";
import { terraformOk } from "../terraform/run";

/** The variable that moves the records elsewhere (tests use it). */
export const STATE_RECORD_DIR_VARIABLE = "STATE_RECORD_DIR";

/** What is known of a stack's state. */
export interface StateRecord {
  /** The `terraform.backend.s3` block of the stack's cdk.tf.json it was applied with. */
  readonly backend: Record<string, unknown>;
  /** The names of the outputs in the state. */
  readonly outputs: string[];
  /** How many managed resource instances the state held. */
  readonly resources: number;
  /** What wrote the record: an apply, a destroy, or the first init of a stack without a record. */
  readonly after: "apply" | "destroy" | "init";
  /** ISO time of the record. */
  readonly at: string;
}

/** The folder of the records: `STATE_RECORD_DIR`, else `.tmp/state-records` of the project. */
export function stateRecordDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env[STATE_RECORD_DIR_VARIABLE];
  return dir !== undefined && dir !== "" ? path.resolve(dir) : path.join(projectRoot(), ".tmp", "state-records");
}

const recordFile = (stack: string, env: NodeJS.ProcessEnv) => path.join(stateRecordDir(env), `${stack}.json`);

/** The record of a stack, or undefined when there is none (an unreadable one is reported on stderr and ignored). */
export function readStateRecord(stack: string, env: NodeJS.ProcessEnv = process.env): StateRecord | undefined {
  const file = recordFile(stack, env);
  if (!fs.existsSync(file)) return undefined;
  try {
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    if (typeof r?.backend !== "object" || r.backend === null || !Array.isArray(r.outputs) || typeof r.resources !== "number") throw new Error("not a state record");
    return r as StateRecord;
  } catch (e) {
    process.stderr.write(`warning: ignoring the state record ${file} (${(e as Error).message}); the next apply writes it again\n`);
    return undefined;
  }
}

/** Writes the record of a stack (whole or not at all). */
export function writeStateRecord(stack: string, record: StateRecord, env: NodeJS.ProcessEnv = process.env): void {
  const file = recordFile(stack, env);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
}

/** The S3 backend block a synthesized stack folder holds, if any. */
export function synthesizedBackend(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, "cdk.tf.json");
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, "utf8")).terraform?.backend?.s3;
}

/** Outputs and managed resource instances of a state (`terraform state pull`). */
export function stateContents(state: any): Pick<StateRecord, "outputs" | "resources"> {
  const resources = (state?.resources ?? [])
    .filter((r: any) => r.mode === "managed")
    .reduce((n: number, r: any) => n + (Array.isArray(r.instances) ? r.instances.length : 1), 0);
  return { outputs: Object.keys(state?.outputs ?? {}), resources };
}

/** Outputs and managed resources of the state a plan started from (`terraform show -json <plan>`'s prior_state). */
export function priorStateContents(plan: any): Pick<StateRecord, "outputs" | "resources"> {
  const values = plan?.prior_state?.values;
  const count = (m: any): number =>
    (m?.resources ?? []).filter((r: any) => r.mode === "managed").length + (m?.child_modules ?? []).reduce((n: number, c: any) => n + count(c), 0);
  const resources = count(values?.root_module);
  // A plan shows the outputs known at plan time in its prior state even when the state is empty:
  // only a state that holds resources holds outputs worth keeping.
  return { outputs: resources > 0 ? Object.keys(values?.outputs ?? {}) : [], resources };
}

/**
 * True when a record may be compared with a stack synthesized with `backendNow`: a local stack's
 * backend names its local AWS (`endpoints`), and a record of another local AWS (one stopped since,
 * or another run's) says nothing about this one.
 */
export function sameLocalAws(recorded: Record<string, unknown>, backendNow: Record<string, unknown> | undefined): boolean {
  return JSON.stringify(endpointsOf(recorded)) === JSON.stringify(endpointsOf(backendNow));
}

/** The endpoints a backend block sets, sorted, without unset ones (`terraform init` records nulls). */
function endpointsOf(backend: Record<string, unknown> | undefined): [string, unknown][] {
  const e = backend?.endpoints;
  if (e === null || typeof e !== "object") return [];
  return Object.entries(e as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .sort(([a], [b]) => a.localeCompare(b));
}

/**
 * After a successful apply or destroy in `dir`: reads the state (`terraform state pull`) and
 * records its outputs, resources and the backend of the stack's cdk.tf.json.
 */
export async function recordAppliedState(stack: string, dir: string, tfEnv: NodeJS.ProcessEnv, after: "apply" | "destroy", env: NodeJS.ProcessEnv = process.env): Promise<StateRecord | undefined> {
  const backend = synthesizedBackend(dir);
  if (!backend) return undefined;
  const pulled = await terraformOk(["state", "pull"], dir, tfEnv);
  const record: StateRecord = { backend, ...stateContents(pulled.stdout.trim() ? JSON.parse(pulled.stdout) : {}), after, at: new Date().toISOString() };
  writeStateRecord(stack, record, env);
  return record;
}
