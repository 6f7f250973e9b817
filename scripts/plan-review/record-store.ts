/**
 * Where the state records live: in each stack's S3 backend, beside its state (same bucket, key
 * `<state key>.record.json`), reached with the backend's own settings: its region, its endpoint
 * (`endpoints.s3`, else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS), and credentials from
 * the default chain (a local environment's placeholder credentials), through the backend's
 * `assume_role` when it has one. No call waits longer than {@link RECORD_TIMEOUT_MS}.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { LOCAL_CREDENTIALS } from "../../stacks/custom-endpoint";

/** The longest one record call (credentials included) may take before it counts as unreadable. */
export const RECORD_TIMEOUT_MS = 15_000;

/** What a record key ends with, after the state key. */
export const RECORD_SUFFIX = ".record.json";

/** Where one record is, and how to reach it. */
export interface RecordLocation {
  readonly bucket: string;
  readonly key: string;
  readonly region: string;
  /** The S3 endpoint; undefined: AWS. */
  readonly endpoint?: string;
  /** The STS endpoint for `assume_role` (the backend's `endpoints.sts`). */
  readonly stsEndpoint?: string;
  /** The backend's `assume_role.role_arn`, if any. */
  readonly roleArn?: string;
  /** A local environment: the local AWS's placeholder credentials. */
  readonly local: boolean;
}

const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * The location of the record of the state a backend block names: its bucket, `<key>.record.json`,
 * its region and endpoint (the block's `endpoints.s3`, else the variables Terraform reads), and
 * its `assume_role`. Undefined for a block without bucket, key or region.
 */
export function recordLocation(backend: Record<string, unknown>, env: NodeJS.ProcessEnv, local: boolean): RecordLocation | undefined {
  const bucket = text(backend.bucket);
  const key = text(backend.key);
  const region = text(backend.region);
  if (!bucket || !key || !region) return undefined;
  const endpoints = (backend.endpoints ?? {}) as Record<string, unknown>;
  const role = (Array.isArray(backend.assume_role) ? backend.assume_role[0] : backend.assume_role) as Record<string, unknown> | undefined;
  return {
    bucket,
    key: `${key}${RECORD_SUFFIX}`,
    region,
    endpoint: text(endpoints.s3) ?? text(env.AWS_ENDPOINT_URL_S3) ?? text(env.AWS_ENDPOINT_URL),
    stsEndpoint: text(endpoints.sts) ?? text(env.AWS_ENDPOINT_URL_STS) ?? text(env.AWS_ENDPOINT_URL),
    roleArn: text(role?.role_arn),
    local,
  };
}

/** A short name of a location for messages: s3://bucket/key. */
export const shownLocation = (l: Pick<RecordLocation, "bucket" | "key">) => `s3://${l.bucket}/${l.key}`;

const clients = new Map<string, S3Client>();

/** The S3 client of a location (one per bucket, region, endpoint and role). */
function s3For(l: RecordLocation): S3Client {
  const id = JSON.stringify([l.region, l.endpoint, l.stsEndpoint, l.roleArn, l.local]);
  const known = clients.get(id);
  if (known) return known;
  const base: S3ClientConfig = {
    region: l.region,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
    ...(l.endpoint ? { endpoint: l.endpoint, forcePathStyle: true } : {}),
    ...(l.local ? { credentials: { ...LOCAL_CREDENTIALS } } : {}),
  };
  if (l.roleArn) {
    const sts = new STSClient({ region: l.region, maxAttempts: 2, ...(l.stsEndpoint ? { endpoint: l.stsEndpoint } : {}), ...(l.local ? { credentials: { ...LOCAL_CREDENTIALS } } : {}) });
    base.credentials = async () => {
      const r = await sts.send(new AssumeRoleCommand({ RoleArn: l.roleArn, RoleSessionName: "state-record" }));
      const c = r.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`assuming ${l.roleArn} gave no credentials`);
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    };
  }
  const client = new S3Client(base);
  clients.set(id, client);
  return client;
}

/** Runs `call` with {@link RECORD_TIMEOUT_MS} as its limit. */
async function limited<T>(what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Error(`${what}: no answer within ${RECORD_TIMEOUT_MS / 1000} s`));
    }, RECORD_TIMEOUT_MS);
  });
  try {
    return await Promise.race([call(abort.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The first line of an SDK error, with its name. */
export function errorLine(e: unknown): string {
  const err = e as Error & { name?: string };
  const msg = (err?.message ?? String(e)).split("\n")[0];
  return err?.name && err.name !== "Error" && !msg.includes(err.name) ? `${err.name}: ${msg}` : msg;
}

/** The JSON object at a location; undefined when there is none (NoSuchKey). Throws one line when unreadable. */
export async function getJson(l: RecordLocation): Promise<unknown | undefined> {
  try {
    return await limited(shownLocation(l), async (abortSignal) => {
      const r = await s3For(l).send(new GetObjectCommand({ Bucket: l.bucket, Key: l.key }), { abortSignal });
      const body = await r.Body!.transformToString();
      return JSON.parse(body);
    });
  } catch (e) {
    const name = (e as { name?: string }).name;
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (name === "NoSuchKey" || (status === 404 && name !== "NoSuchBucket")) return undefined;
    throw new Error(`${shownLocation(l)} cannot be read (${errorLine(e)})`);
  }
}

/** Writes a JSON object at a location. Throws one line when it cannot. */
export async function putJson(l: RecordLocation, value: unknown): Promise<void> {
  try {
    await limited(shownLocation(l), (abortSignal) =>
      s3For(l).send(
        new PutObjectCommand({ Bucket: l.bucket, Key: l.key, Body: `${JSON.stringify(value, null, 2)}\n`, ContentType: "application/json", ServerSideEncryption: l.endpoint ? undefined : "AES256" }),
        { abortSignal },
      ),
    );
  } catch (e) {
    throw new Error(`${shownLocation(l)} cannot be written (${errorLine(e)})`);
  }
}

/** The most record keys one bucket listing reads (20 pages). */
const MAX_LISTED = 20_000;

/** Every record key of a bucket (keys ending in {@link RECORD_SUFFIX}). Throws one line when the bucket cannot be listed. */
export async function listRecordKeys(l: Omit<RecordLocation, "key">): Promise<string[]> {
  const keys: string[] = [];
  const at = { ...l, key: "" };
  try {
    let token: string | undefined;
    do {
      const page = await limited(`s3://${l.bucket}`, (abortSignal) => s3For(at).send(new ListObjectsV2Command({ Bucket: l.bucket, ContinuationToken: token }), { abortSignal }));
      for (const o of page.Contents ?? []) if (o.Key?.endsWith(RECORD_SUFFIX)) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token && keys.length < MAX_LISTED);
  } catch (e) {
    throw new Error(`s3://${l.bucket} cannot be listed (${errorLine(e)})`);
  }
  return keys.sort();
}
