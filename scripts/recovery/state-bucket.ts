import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  type BucketLocationConstraint,
} from "@aws-sdk/client-s3";
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";

/**
 * The standard every Terraform state bucket of this project meets: every
 * version of every state kept (an overwritten or corrupted state can be restored), encrypted at
 * rest (SSE-KMS with the configured key, else SSE-S3), public access blocked, objects owned by the
 * bucket owner (no ACLs), and a bucket policy that denies every request not made over TLS (not
 * for local environments: the local AWS is plain http).
 * `npm start` applies it to the local state buckets, `npm run bootstrap-state` to real ones.
 */
export interface StateBucket {
  readonly bucket: string;
  readonly region: string;
  /** The KMS key of `state.kmsKeyArn`; unset: SSE-S3 (AES256). */
  readonly kmsKeyArn?: string;
  /**
   * Deny every request made without TLS. Off only for the buckets of local environments: the
   * local AWS speaks plain http and enforces the statement (Terraform's reads would get 403).
   * @default true
   */
  readonly tlsOnly?: boolean;
}

/** The Sid of the statement that denies requests without TLS; other statements of the policy are kept. */
export const TLS_ONLY_SID = "DenyInsecureTransport";

const PUBLIC_ACCESS_BLOCKED = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true } as const;

/** The statement that denies any request to the bucket or its objects made without TLS. */
export function tlsOnlyStatement(bucket: string): Record<string, unknown> {
  return {
    Sid: TLS_ONLY_SID,
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

/** The bucket's policy with the TLS-only statement added or replaced; every other statement is kept. */
export function withTlsOnly(bucket: string, policy: string | undefined): string {
  const doc = policy ? (JSON.parse(policy) as { Version?: string; Statement?: unknown }) : {};
  const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
  const others = statements.filter((s) => (s as { Sid?: string }).Sid !== TLS_ONLY_SID);
  return JSON.stringify({ ...doc, Version: doc.Version ?? "2012-10-17", Statement: [...others, tlsOnlyStatement(bucket)] });
}

function errorName(e: unknown): string {
  return (e as { name?: string }).name ?? "";
}

/** The result of a read, or undefined when S3 answers that the setting is absent (`absent`, the error's name). */
async function unlessAbsent<T>(read: Promise<T>, absent: string): Promise<T | undefined> {
  try {
    return await read;
  } catch (e) {
    if (errorName(e) === absent) return undefined;
    throw e;
  }
}

async function currentPolicy(s3: S3Client, bucket: string): Promise<string | undefined> {
  return (await unlessAbsent(s3.send(new GetBucketPolicyCommand({ Bucket: bucket })), "NoSuchBucketPolicy"))?.Policy;
}

/**
 * Creates a bucket in `region`; returns false when this account already has it. A name another
 * account holds is an error.
 */
export async function createBucket(s3: S3Client, bucket: string, region: string): Promise<boolean> {
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: region === "us-east-1" ? undefined : { LocationConstraint: region as BucketLocationConstraint },
      }),
    );
    return true;
  } catch (e) {
    if (errorName(e) === "BucketAlreadyExists") throw new Error(`bucket ${bucket}: the name is taken by another AWS account; choose another name`);
    if (errorName(e) !== "BucketAlreadyOwnedByYou") throw e;
    return false;
  }
}

/** Whether the TLS-only statement is in the policy, as this project writes it. */
function hasTlsOnly(bucket: string, policy: string | undefined): boolean {
  if (!policy) return false;
  const statements = ([] as unknown[]).concat((JSON.parse(policy) as { Statement?: unknown }).Statement ?? []);
  const want = JSON.stringify(tlsOnlyStatement(bucket));
  return statements.some((s) => JSON.stringify(s) === want);
}

/** What differs from the standard, one phrase each (empty: the bucket meets it). */
export async function stateBucketProblems(s3: S3Client, b: StateBucket): Promise<string[]> {
  const problems: string[] = [];
  try {
    await s3.send(new HeadBucketCommand({ Bucket: b.bucket }));
  } catch (e) {
    if (errorName(e) === "NotFound" || errorName(e) === "NoSuchBucket") return ["the bucket does not exist"];
    throw e;
  }
  const versioning = (await s3.send(new GetBucketVersioningCommand({ Bucket: b.bucket }))).Status;
  if (versioning !== "Enabled") problems.push(`versioning is ${versioning ?? "off"} (must be Enabled)`);
  const rule = (
    await unlessAbsent(s3.send(new GetBucketEncryptionCommand({ Bucket: b.bucket })), "ServerSideEncryptionConfigurationNotFoundError")
  )?.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
  const wantAlgorithm = b.kmsKeyArn ? "aws:kms" : "AES256";
  if (rule?.SSEAlgorithm !== wantAlgorithm || (b.kmsKeyArn && rule.KMSMasterKeyID !== b.kmsKeyArn)) {
    problems.push(`default encryption is ${rule?.SSEAlgorithm ?? "none"}${rule?.KMSMasterKeyID ? ` with ${rule.KMSMasterKeyID}` : ""} (must be ${wantAlgorithm}${b.kmsKeyArn ? ` with ${b.kmsKeyArn}` : ""})`);
  }
  const block = (await unlessAbsent(s3.send(new GetPublicAccessBlockCommand({ Bucket: b.bucket })), "NoSuchPublicAccessBlockConfiguration"))?.PublicAccessBlockConfiguration;
  const open = Object.keys(PUBLIC_ACCESS_BLOCKED).filter((k) => block?.[k as keyof typeof PUBLIC_ACCESS_BLOCKED] !== true);
  if (open.length) problems.push(`public access is not blocked (${open.join(", ")} not true)`);
  const ownership = (await unlessAbsent(s3.send(new GetBucketOwnershipControlsCommand({ Bucket: b.bucket })), "OwnershipControlsNotFoundError"))?.OwnershipControls?.Rules?.[0]
    ?.ObjectOwnership;
  if (ownership !== "BucketOwnerEnforced") problems.push(`object ownership is ${ownership ?? "unset"} (must be BucketOwnerEnforced: no ACLs)`);
  if (b.tlsOnly !== false && !hasTlsOnly(b.bucket, await currentPolicy(s3, b.bucket))) problems.push(`the bucket policy lacks the ${TLS_ONLY_SID} statement (deny s3:* without TLS)`);
  return problems;
}

/**
 * Creates the bucket when missing and brings it to the standard; idempotent. A bucket that exists
 * but belongs to another account is an error. Returns whether the bucket was created.
 */
export async function ensureStateBucket(s3: S3Client, b: StateBucket): Promise<boolean> {
  const created = await createBucket(s3, b.bucket, b.region);
  await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: b.bucket, OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] } }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: b.bucket, VersioningConfiguration: { Status: "Enabled" } }));
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: b.bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [
          {
            ApplyServerSideEncryptionByDefault: b.kmsKeyArn ? { SSEAlgorithm: "aws:kms", KMSMasterKeyID: b.kmsKeyArn } : { SSEAlgorithm: "AES256" },
            BucketKeyEnabled: true,
          },
        ],
      },
    }),
  );
  await s3.send(new PutPublicAccessBlockCommand({ Bucket: b.bucket, PublicAccessBlockConfiguration: { ...PUBLIC_ACCESS_BLOCKED } }));
  if (b.tlsOnly !== false) await s3.send(new PutBucketPolicyCommand({ Bucket: b.bucket, Policy: withTlsOnly(b.bucket, await currentPolicy(s3, b.bucket)) }));
  return created;
}

/** What differs from the standard lock table (LockID key, encrypted, point-in-time recovery on). */
export async function lockTableProblems(ddb: DynamoDBClient, table: string): Promise<string[]> {
  try {
    const t = (await ddb.send(new DescribeTableCommand({ TableName: table }))).Table;
    const key = t?.KeySchema?.map((k) => `${k.AttributeName}:${k.KeyType}`).join(",");
    const problems = key === "LockID:HASH" ? [] : [`its key is ${key} (must be LockID:HASH)`];
    const pitr = (await ddb.send(new DescribeContinuousBackupsCommand({ TableName: table }))).ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus;
    if (pitr !== "ENABLED") problems.push(`point-in-time recovery is ${pitr ?? "off"} (must be ENABLED)`);
    return problems;
  } catch (e) {
    if (errorName(e) === "ResourceNotFoundException") return ["the table does not exist"];
    throw e;
  }
}

/** Creates the lock table when missing (on-demand, encrypted) and turns point-in-time recovery on; returns whether it was created. */
export async function ensureLockTable(ddb: DynamoDBClient, table: string): Promise<boolean> {
  let created = true;
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: "LockID", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "LockID", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
        SSESpecification: { Enabled: true },
      }),
    );
    await waitUntilTableExists({ client: ddb, maxWaitTime: 120 }, { TableName: table });
  } catch (e) {
    if (errorName(e) !== "ResourceInUseException") throw e;
    created = false;
  }
  await ddb.send(new UpdateContinuousBackupsCommand({ TableName: table, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }));
  return created;
}
