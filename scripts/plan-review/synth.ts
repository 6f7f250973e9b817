/**
 * The synth stage: what each stack's state held after its last apply (read before the synth
 * replaces the stack folders), the state buckets of the local environments, the synth itself
 * (the app, `dist/main.js`), and the stacks as the synthesized manifest names them, each with
 * the environment terraform runs it with.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ALLOW_LOCAL_ENDPOINT } from "../../config/local-endpoint-guard";
import type { EnvironmentConfig } from "../../config/environments";
import { clientConfig, endpointEnv } from "../shared/aws-clients";
import { ensureLockTable, ensureStateBucket } from "../recovery/state-bucket";
import { synthesizedStacks, type Stack } from "../stacks/list";
import { stateKey } from "../../stacks/regional-stack";
import { terraformEnv } from "../terraform/env";
import type { TerraformStack } from "../terraform/session";
import { deployedCommit, findRecord, stateBuckets, synthesizedBackend, type FoundRecord } from "./state-record";
import type { Selected } from "./select";

/** What is known of a stack's state before its plan (see state-record.ts). */
export interface KnownState {
  /** The record of its last apply, and where it was found (at a previous backend when it moved). */
  readonly found?: FoundRecord;
  /** The backend its folder was last initialized with on this machine. */
  readonly initialized?: Record<string, unknown>;
  /** The commit an apply of this run records. */
  readonly commit: string | null;
}

/** A stack as synthesized, ready for terraform. */
export interface SynthesizedStack extends Stack, TerraformStack {
  /** What is known of its state (undefined: a real environment rehearsed on a local endpoint, which neither reads nor writes records). */
  readonly known?: KnownState;
}

export function readJson(file: string): any {
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

/**
 * Creates what the S3 backend of each local environment needs before terraform runs there: the
 * state bucket (and the lock table, if configured), to the standard of `npm run bootstrap-state`
 * (a bucket policy that denies plain http only on an https endpoint). Idempotent.
 */
export async function ensureLocalState(envs: readonly EnvironmentConfig[], endpoint: string): Promise<void> {
  for (const env of envs.filter((e) => e.local)) {
    const region = env.state.region ?? env.regions[0];
    const s3 = new S3Client(clientConfig({ region, endpoint }));
    await ensureStateBucket(s3, { bucket: env.state.bucket, region, kmsKeyArn: env.state.kmsKeyArn, tlsOnly: endpoint.startsWith("https:") });
    if (env.state.dynamodbTable) await ensureLockTable(new DynamoDBClient(clientConfig({ region, endpoint })), env.state.dynamodbTable);
  }
}

/** How the synth stage treats the state records. */
export interface SynthOptions {
  /**
   * `read`: the reviews compare with the records of the stacks' last applies, and the applies
   * write new ones; `write`: the endpoint was just started (it holds nothing a record describes),
   * so only write; `none`: neither. @default "read"
   */
  readonly records?: "read" | "write" | "none";
  /** Create the local environments' state buckets first (a command that only reads, such as `stacks --pending`, does not). @default true */
  readonly ensureState?: boolean;
  /** A previous synth output (`--baseline`): a stack's backend there is where its record is looked for when its backend moved. */
  readonly baseline?: string;
}

/**
 * Synthesizes the selected environments (the app validates everything first) and returns the
 * run's stacks where the manifest put them. Throws with the app's own lines when the synth fails;
 * prints the constructs' warnings.
 */
export async function synthesize(root: string, selected: Selected, env: NodeJS.ProcessEnv, options: SynthOptions = {}): Promise<SynthesizedStack[]> {
  const { selection, endpoint, onLocalEndpoint } = selected;
  const records = options.records ?? "read";
  // Checked before anything runs: the commit the applies record.
  const commit = records === "none" ? null : deployedCommit(env, root);
  // A real environment rehearsed on a local endpoint neither reads nor writes the records of its account.
  const rehearsed = (s: Stack) => records === "none" || onLocalEndpoint?.environments.includes(s.environment.name) === true;
  // Read before the synth replaces the folders (.terraform included).
  const initialized = new Map(selected.stacks.map((s) => [s.name, initializedBackend(s.dir)]));
  if (endpoint !== undefined && options.ensureState !== false) await ensureLocalState([...new Set(selected.stacks.map((s) => s.environment))], endpoint);
  const synth = spawnSync(process.execPath, [path.join(root, "dist", "main.js")], {
    cwd: root,
    // The guard of the selection has decided for the terraform runs; in the synth the endpoint
    // only configures local stacks, so the app's own check, meant for cdktf deploy, is told so.
    env: {
      ...env,
      CDKTF_OUTDIR: selection.outdir,
      ENVIRONMENTS: selection.environments.map((e) => e.name).join(","),
      [ALLOW_LOCAL_ENDPOINT]: "1",
      ...(endpoint ? { AWS_ENDPOINT_URL: endpoint } : {}),
    },
    encoding: "utf8",
  });
  if (synth.status !== 0) throw new Error(`synth failed:\n${synth.stderr.trim()}`);
  // The constructs' warnings (one line each): shown by every command that synthesizes.
  if (synth.stderr) process.stderr.write(synth.stderr);
  const tfBase = terraformEnv(path.join(root, ".tmp", "terraform"), env);
  const synthesized = synthesizedStacks(selected.stacks, selection.outdir);
  const stacks: SynthesizedStack[] = [];
  for (const s of synthesized) {
    const tfEnv = s.environment.local && endpoint ? { ...tfBase, ...endpointEnv(endpoint, s.region) } : tfBase;
    let known: KnownState | undefined;
    if (!rehearsed(s)) {
      const found = records === "read" ? await recordOf(s, selection.organization, endpoint, env, options.baseline) : undefined;
      known = { found, initialized: records === "read" ? initialized.get(s.name) : undefined, commit };
    }
    stacks.push({ ...s, tfEnv, known });
  }
  return stacks;
}

/** The record of a synthesized stack: at its backend, else at its baseline's, else elsewhere in the state buckets of its kind. */
async function recordOf(s: Stack, organization: readonly EnvironmentConfig[], endpoint: string | undefined, env: NodeJS.ProcessEnv, baseline?: string): Promise<FoundRecord | undefined> {
  const backendNow = synthesizedBackend(s.dir);
  if (!backendNow) return undefined;
  const local = s.environment.local === true;
  const baselineBackend = baseline ? synthesizedBackend(path.join(baseline, "stacks", s.name)) : undefined;
  return findRecord(s.name, backendNow, {
    env,
    local,
    keyTail: stateKey({ ...s.environment, state: { ...s.environment.state, keyPrefix: undefined } }, s.region),
    buckets: stateBuckets(organization.filter((e) => (e.local === true) === local), endpoint, env),
    previous: baselineBackend ? [baselineBackend] : [],
  });
}
