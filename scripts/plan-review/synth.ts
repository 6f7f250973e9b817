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
import { terraformEnv } from "../terraform/env";
import type { TerraformStack } from "../terraform/session";
import { readStateRecord, type StateRecord } from "./state-record";
import type { Selected } from "./select";

/** A stack as synthesized, ready for terraform. */
export interface SynthesizedStack extends Stack, TerraformStack {
  /** What its state held after its last apply here (undefined: a real environment rehearsed on a local endpoint). */
  readonly known?: { readonly record?: StateRecord; readonly initialized?: Record<string, unknown> };
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
}

/**
 * Synthesizes the selected environments (the app validates everything first) and returns the
 * run's stacks where the manifest put them. Throws with the app's own lines when the synth fails;
 * prints the constructs' warnings.
 */
export async function synthesize(root: string, selected: Selected, env: NodeJS.ProcessEnv, options: SynthOptions = {}): Promise<SynthesizedStack[]> {
  const { selection, endpoint, onLocalEndpoint } = selected;
  const records = options.records ?? "read";
  // A real environment rehearsed on a local endpoint neither reads nor writes the records of its account.
  const known = (s: Stack) =>
    records === "none" || onLocalEndpoint?.environments.includes(s.environment.name)
      ? undefined
      : records === "write" ? {} : { record: readStateRecord(s.name, env), initialized: initializedBackend(s.dir) };
  const before = selected.stacks.map((s) => ({ ...s, known: known(s) }));
  if (endpoint !== undefined) await ensureLocalState([...new Set(before.map((s) => s.environment))], endpoint);
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
  return synthesizedStacks(before, selection.outdir).map((s) => ({
    ...s,
    tfEnv: s.environment.local && endpoint ? { ...tfBase, ...endpointEnv(endpoint, s.region) } : tfBase,
  }));
}
