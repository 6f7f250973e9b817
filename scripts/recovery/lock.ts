/**
 * The state lock of a stack, read where the S3 backend keeps it: the lock object `<key>.tflock`
 * in the state bucket (`use_lockfile`) and, when a table is configured, the DynamoDB item
 * `LockID = <bucket>/<key>`. Both hold Terraform's lock info (ID, Operation, Who, Version,
 * Created, Path).
 */
import * as fs from "fs";
import * as os from "os";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { since } from "../shared/durations";
import { awsConfig } from "./account";

/** Terraform's lock info, as written into the lock object or item. */
export interface LockInfo {
  readonly ID: string;
  readonly Operation?: string;
  readonly Info?: string;
  /** `user@host` */
  readonly Who?: string;
  readonly Version?: string;
  /** RFC 3339 */
  readonly Created?: string;
  readonly Path?: string;
}

/** A lock found, and where. */
export interface HeldLock {
  readonly info: LockInfo;
  /** `s3://bucket/key.tflock` or `dynamodb://table/<LockID>` */
  readonly where: string[];
}

/** The S3 backend settings of a synthesized stack (`terraform.backend.s3` of cdk.tf.json). */
export interface S3Backend {
  readonly bucket: string;
  readonly key: string;
  readonly region: string;
  readonly dynamodb_table?: string;
  readonly use_lockfile?: boolean;
  readonly assume_role?: { role_arn?: string };
  readonly workspace_key_prefix?: string;
}

/** The backend of a stack's cdk.tf.json; throws when it has no S3 backend. */
export function s3Backend(synthesized: any, stack: string): S3Backend {
  const b = synthesized?.terraform?.backend?.s3;
  if (!b?.bucket || !b?.key) throw new Error(`${stack} has no S3 backend in its cdk.tf.json: nothing to recover`);
  return b;
}

/** Where the backend keeps the lock: the object key and the DynamoDB LockID (default workspace). */
export function lockLocations(b: S3Backend): { object?: string; lockId?: string } {
  return { object: b.use_lockfile ? `${b.key}.tflock` : undefined, lockId: b.dynamodb_table ? `${b.bucket}/${b.key}` : undefined };
}

/** Parses lock info JSON; undefined when it is not Terraform's. */
export function parseLockInfo(text: string | undefined): LockInfo | undefined {
  if (!text) return undefined;
  try {
    const info = JSON.parse(text);
    return typeof info?.ID === "string" && info.ID ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the lock of a backend: undefined when nobody holds it. */
export async function readLock(b: S3Backend, endpoint: string | undefined): Promise<HeldLock | undefined> {
  const cfg = await awsConfig({ region: b.region, endpoint, roleArn: b.assume_role?.role_arn, session: "recover-state" });
  const { object, lockId } = lockLocations(b);
  const found: { info: LockInfo; where: string }[] = [];
  if (object) {
    try {
      const got = await new S3Client(cfg).send(new GetObjectCommand({ Bucket: b.bucket, Key: object }));
      const info = parseLockInfo(await got.Body?.transformToString());
      if (info) found.push({ info, where: `s3://${b.bucket}/${object}` });
    } catch (e) {
      if ((e as Error).name !== "NoSuchKey" && (e as Error).name !== "NotFound") throw e;
    }
  }
  if (lockId && b.dynamodb_table) {
    const got = await new DynamoDBClient(cfg).send(new GetItemCommand({ TableName: b.dynamodb_table, Key: { LockID: { S: lockId } }, ConsistentRead: true }));
    const info = parseLockInfo(got.Item?.Info?.S);
    if (info) found.push({ info, where: `dynamodb://${b.dynamodb_table}/${lockId}` });
  }
  if (!found.length) return undefined;
  return { info: found[0].info, where: found.map((f) => f.where) };
}

/** `user@host` split; host undefined when Who has none. */
export function whoParts(who: string | undefined): { user?: string; host?: string } {
  if (!who) return {};
  const at = who.lastIndexOf("@");
  return at < 0 ? { user: who } : { user: who.slice(0, at), host: who.slice(at + 1) };
}

/** Terraform processes of this host whose working folder is `dir` (read from /proc; empty where there is none). */
export function terraformProcessesIn(dir: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return pids;
  }
  for (const pid of entries) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
      if (!/(^|\/)terraform$/.test(cmd)) continue;
      if (fs.realpathSync(`/proc/${pid}/cwd`) === fs.realpathSync(dir)) pids.push(Number(pid));
    } catch {
      // gone, or someone else's
    }
  }
  return pids;
}

/** The lines that explain a held lock: who, when, how long ago, what, where, and whether it still runs here. */
export function describeLock(stack: string, lock: HeldLock, dir: string, now = Date.now()): string[] {
  const { info } = lock;
  const { user, host } = whoParts(info.Who);
  const here = host !== undefined && host === os.hostname();
  const running = here ? terraformProcessesIn(dir) : [];
  return [
    `${stack}: the state is locked`,
    `  lock ID:   ${info.ID}`,
    `  operation: ${info.Operation ?? "(not recorded)"}`,
    `  who:       ${info.Who ?? "(not recorded)"}${user && host ? ` (user ${user} on host ${host}${here ? ", this host" : ""})` : ""}`,
    `  created:   ${info.Created ?? "(not recorded)"}${info.Created ? ` (${since(info.Created, now)} ago)` : ""}`,
    `  terraform: ${info.Version ?? "(not recorded)"}`,
    `  path:      ${info.Path ?? "(not recorded)"}`,
    `  held in:   ${lock.where.join(", ")}`,
    here
      ? running.length
        ? `  a terraform process still runs in this stack's folder on this host: pid ${running.join(", ")} — the lock is not stale; wait for it`
        : `  no terraform process runs in this stack's folder on this host (Terraform records no pid; the lock names this host)`
      : `  the lock was taken on ${host ? `host ${host}` : "another host"}, not this one (${os.hostname()}): Terraform records no pid, check there that nothing runs`,
  ];
}
