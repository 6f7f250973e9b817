/**
 * What each stack's state held after its last successful apply (or destroy): the S3 backend it
 * was applied with, its outputs' names, how many managed resources it held, the commit deployed
 * and the digest of the synthesized stack. Kept in the stack's own S3 backend, beside its state
 * (`<state key>.record.json`, record-store.ts), so every runner and machine sees the same records.
 * `npm run plan` compares with it (a moved backend: `backend-change`; a state that is suddenly
 * empty: `state-empty`), `npm run stacks -- --pending` compares its digest with the synth, and
 * `--orphans` finds records of stacks the config no longer has.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { EnvironmentConfig } from "../../config/environments";
import { normalizeTerraformJson } from "../stacks/changed";
import { terraformOk } from "../terraform/run";
import { getJson, listRecordKeys, putJson, recordLocation, RECORD_SUFFIX, shownLocation, type RecordLocation } from "./record-store";

/** The provider configuration a state was applied with: enough to plan its destruction without the config. */
export interface RecordedProviders {
  readonly required_providers: unknown;
  readonly provider: unknown;
  /** Files the provider block names (a local stack's AWS profile), by name. */
  readonly files?: Record<string, string>;
}

/** What is known of a stack's state. */
export interface StateRecord {
  /** The stack (`<environment>-<region>`). */
  readonly stack: string;
  /** The `terraform.backend.s3` block of the stack's cdk.tf.json it was applied with. */
  readonly backend: Record<string, unknown>;
  /** The names of the outputs in the state. */
  readonly outputs: string[];
  /** How many managed resource instances the state held. */
  readonly resources: number;
  /** What wrote the record: an apply or a destroy (`init`: a record of an earlier version). */
  readonly after: "apply" | "destroy" | "init";
  /** ISO time of the record. */
  readonly at: string;
  /** The commit deployed (GITHUB_SHA, else the checkout's HEAD), null when unknown. */
  readonly commit: string | null;
  /** sha256 of the synthesized cdk.tf.json applied (without cdktf's `//` comments, keys sorted), null when unknown. */
  readonly digest: string | null;
  /** Whether the stack belongs to a local environment. */
  readonly local: boolean;
  /** The provider configuration applied with (for the destroy of an orphan). */
  readonly providers?: RecordedProviders;
}

/** A record and where it was found. */
export interface FoundRecord {
  readonly record: StateRecord;
  readonly location: RecordLocation;
  /** True when it was found at another backend than the stack's current one (the backend moved). */
  readonly moved: boolean;
}

const HEX40 = /^[0-9a-f]{40}$/i;

/** Checks a record read from a bucket; throws one line naming what is wrong. */
export function parseRecord(v: any, stack?: string): StateRecord {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
  if (typeof v.backend !== "object" || v.backend === null) throw new Error('"backend" must be the S3 backend block');
  if (!Array.isArray(v.outputs) || !v.outputs.every((o: unknown) => typeof o === "string")) throw new Error('"outputs" must be an array of names');
  if (!Number.isInteger(v.resources) || v.resources < 0) throw new Error('"resources" must be a whole number');
  if (!["apply", "destroy", "init"].includes(v.after)) throw new Error('"after" must be apply, destroy or init');
  const name = v.stack ?? stack;
  if (typeof name !== "string" || name === "") throw new Error('"stack" must name the stack');
  return {
    stack: name,
    backend: v.backend,
    outputs: v.outputs,
    resources: v.resources,
    after: v.after,
    at: typeof v.at === "string" ? v.at : "",
    commit: typeof v.commit === "string" ? v.commit : null,
    digest: typeof v.digest === "string" ? v.digest : null,
    local: v.local === true,
    ...(v.providers && typeof v.providers === "object" ? { providers: v.providers } : {}),
  };
}

/**
 * The commit a deploy records: GITHUB_SHA (40 hex digits, else an Error with one line), else
 * `git rev-parse HEAD` in `root`, else null.
 */
export function deployedCommit(env: NodeJS.ProcessEnv, root: string): string | null {
  const sha = env.GITHUB_SHA;
  if (sha !== undefined && sha !== "") {
    if (!HEX40.test(sha)) throw new Error(`GITHUB_SHA ${JSON.stringify(sha)} is not a commit: it must be 40 hexadecimal digits (the commit a runner checked out)`);
    return sha.toLowerCase();
  }
  const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" });
  return head.status === 0 && HEX40.test(head.stdout.trim()) ? head.stdout.trim() : null;
}

/** sha256 of a synthesized stack's Terraform JSON without what Terraform ignores (cdktf's `//` comments, key order). */
export function terraformDigest(synthesized: unknown): string {
  return createHash("sha256").update(JSON.stringify(normalizeTerraformJson(synthesized))).digest("hex");
}

/** The digest of the cdk.tf.json in a stack folder. */
export function stackDigest(dir: string): string {
  return terraformDigest(JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8")));
}

/** The S3 backend block a synthesized stack folder holds, if any. */
export function synthesizedBackend(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, "cdk.tf.json");
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, "utf8")).terraform?.backend?.s3;
}

/** The provider configuration of a synthesized stack folder (and the files its provider block names). */
export function synthesizedProviders(dir: string): RecordedProviders {
  const j = JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8"));
  const files: Record<string, string> = {};
  for (const p of [].concat(j.provider?.aws ?? [])) {
    for (const f of [...((p as any).shared_config_files ?? []), ...((p as any).shared_credentials_files ?? [])]) {
      if (typeof f === "string" && !path.isAbsolute(f) && !f.includes("..") && fs.existsSync(path.join(dir, f))) files[f] = fs.readFileSync(path.join(dir, f), "utf8");
    }
  }
  return { required_providers: j.terraform?.required_providers ?? {}, provider: j.provider ?? {}, ...(Object.keys(files).length ? { files } : {}) };
}

/** Outputs and managed resource instances of a state (`terraform state pull`). */
export function stateContents(state: any): Pick<StateRecord, "outputs" | "resources"> {
  const resources = (state?.resources ?? [])
    .filter((r: any) => r.mode === "managed")
    .reduce((n: number, r: any) => n + (Array.isArray(r.instances) ? r.instances.length : 1), 0);
  return { outputs: Object.keys(state?.outputs ?? {}), resources };
}

/**
 * True when a record may be compared with a stack synthesized with `backendNow`: a local stack's
 * backend names its local AWS (`endpoints`), and a record of another local AWS says nothing about this one.
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

/** A state bucket to search: where records of moved backends and removed stacks are found. */
export type RecordBucket = Omit<RecordLocation, "key">;

/**
 * The state buckets of `environments` (each once): their region, role, and endpoint (`endpoint`
 * for local environments, else the variables Terraform reads).
 */
export function stateBuckets(environments: readonly EnvironmentConfig[], endpoint: string | undefined, env: NodeJS.ProcessEnv): RecordBucket[] {
  const out = new Map<string, RecordBucket>();
  for (const e of environments) {
    const local = e.local === true;
    const backend = { bucket: e.state.bucket, key: "-", region: e.state.region ?? e.regions[0], endpoints: local && endpoint ? { s3: endpoint, sts: endpoint } : {}, assume_role: e.state.roleArn ? { role_arn: e.state.roleArn } : undefined };
    const { key: _key, ...bucket } = recordLocation(backend, env, local)!;
    out.set(JSON.stringify(bucket), bucket);
  }
  return [...out.values()];
}

/** Reads every record of a bucket; a record that cannot be read or parsed is a warning line, skipped. */
export async function recordsIn(bucket: RecordBucket, filter: (key: string) => boolean = () => true, warn = stderrWarning): Promise<FoundRecord[]> {
  const keys = (await listRecordKeys(bucket)).filter(filter);
  const found: FoundRecord[] = [];
  for (const key of keys) {
    const location = { ...bucket, key };
    try {
      const v = await getJson(location);
      if (v !== undefined) found.push({ record: parseRecord(v), location, moved: false });
    } catch (e) {
      warn(`the state record ${shownLocation(location)} is ignored (${(e as Error).message})`);
    }
  }
  return found;
}

function stderrWarning(line: string): void {
  process.stderr.write(`warning: ${line}\n`);
}

/** Where the records of a stack are looked for. */
export interface RecordSearch {
  readonly env: NodeJS.ProcessEnv;
  readonly local: boolean;
  /** The stack's state key without its prefix (`<environment>/<region>/terraform.tfstate`): a moved prefix keeps it. */
  readonly keyTail: string;
  /** Further buckets to search when the record is not at the current backend (the configured state buckets). */
  readonly buckets: readonly RecordBucket[];
  /** Backends the stack had before, e.g. the baseline's (`--baseline`). */
  readonly previous?: readonly Record<string, unknown>[];
  readonly warn?: (line: string) => void;
}

/**
 * The record of a stack: at its current backend, else (the backend moved) at a previous backend
 * given, else the newest record of the same stack under any prefix of the searched buckets.
 * Never throws: a bucket that cannot be read is one warning line, and the search goes on.
 */
export async function findRecord(stack: string, backendNow: Record<string, unknown>, search: RecordSearch): Promise<FoundRecord | undefined> {
  const warn = search.warn ?? stderrWarning;
  const here = recordLocation(backendNow, search.env, search.local);
  const read = async (l: RecordLocation): Promise<StateRecord | undefined | "unreadable"> => {
    try {
      const v = await getJson(l);
      return v === undefined ? undefined : parseRecord(v, stack);
    } catch (e) {
      warn(`${stack}: the state record ${(e as Error).message.startsWith("s3://") ? (e as Error).message : `${shownLocation(l)} is ignored (${(e as Error).message})`}; the empty-state and backend-change checks of this stack compare with nothing`);
      return "unreadable";
    }
  };
  if (!here) return undefined;
  const current = await read(here);
  if (current === "unreadable") return undefined;
  if (current) return { record: current, location: here, moved: false };
  for (const b of search.previous ?? []) {
    const l = recordLocation(b, search.env, search.local);
    if (!l || (l.bucket === here.bucket && l.key === here.key)) continue;
    const r = await read(l);
    if (r && r !== "unreadable" && r.stack === stack) return { record: r, location: l, moved: true };
  }
  const tail = `${search.keyTail}${RECORD_SUFFIX}`;
  const candidates: FoundRecord[] = [];
  for (const bucket of search.buckets) {
    try {
      const found = await recordsIn(bucket, (k) => (k === tail || k.endsWith(`/${tail}`)) && !(bucket.bucket === here.bucket && k === here.key), warn);
      candidates.push(...found.filter((f) => f.record.stack === stack).map((f) => ({ ...f, moved: true })));
    } catch (e) {
      warn(`${stack}: ${(e as Error).message}; records of a moved backend there are not found`);
    }
  }
  return candidates.sort((a, b) => (a.record.at < b.record.at ? 1 : a.record.at > b.record.at ? -1 : 0))[0];
}

/** Writes the record of a stack beside its state. Throws one line when it cannot. */
export async function writeRecord(record: StateRecord, env: NodeJS.ProcessEnv): Promise<RecordLocation> {
  const l = recordLocation(record.backend, env, record.local);
  if (!l) throw new Error(`${record.stack}: its backend names no bucket, key and region, so its state record has nowhere to go`);
  await putJson(l, record);
  return l;
}

/** A stack as the apply stage records it. */
export interface RecordedStack {
  readonly name: string;
  readonly dir: string;
  readonly tfEnv: NodeJS.ProcessEnv;
  readonly local: boolean;
}

/**
 * After a successful apply or destroy in `s.dir`: reads the state (`terraform state pull`) and
 * records its outputs, resources, the backend, providers and digest of the stack's cdk.tf.json,
 * and `commit`, beside the state.
 */
export async function recordAppliedState(s: RecordedStack, after: "apply" | "destroy", commit: string | null, env: NodeJS.ProcessEnv = process.env): Promise<StateRecord | undefined> {
  const backend = synthesizedBackend(s.dir);
  if (!backend) return undefined;
  const pulled = await terraformOk(["state", "pull"], s.dir, s.tfEnv);
  const record: StateRecord = {
    stack: s.name,
    backend,
    ...stateContents(pulled.stdout.trim() ? JSON.parse(pulled.stdout) : {}),
    after,
    at: new Date().toISOString(),
    commit,
    digest: stackDigest(s.dir),
    local: s.local,
    providers: synthesizedProviders(s.dir),
  };
  await writeRecord(record, env);
  return record;
}
