import * as fs from "fs";
import * as path from "path";
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { DescribeContinuousBackupsCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { clientConfig } from "../../../scripts/local-aws/clients";
import { bootstrap, selectLocalEnvironments } from "../../../scripts/local-aws/deploy";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { createBucket, stateBucketProblems, TLS_ONLY_SID } from "../../../scripts/recovery/state-bucket";
import { ROOT, tempDir } from "../../support/app";
import { runScript } from "../../support/e2e-run";
import { prodEnvironment } from "../../support/environments";

/**
 * Every state bucket the project creates: versioned, so an overwritten or
 * corrupted state can be restored; encrypted; public access blocked; owner-enforced; TLS-only.
 * npm start makes the local ones so; npm run bootstrap-state makes real ones so (run here against
 * the local AWS on purpose, --allow-local-endpoint, with a real environment's config: its state
 * bucket in a central state account reached through state.roleArn, a KMS key and a lock table).
 */
let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

test("bootstrap creates each local state bucket versioned, encrypted, public access blocked (not TLS-only: the local AWS is http)", async () => {
  const envs = selectLocalEnvironments({ root: ROOT });
  await bootstrap({ endpoint: aws.endpoint, root: ROOT, outdir: tempDir("state-bucket") }, envs);
  const buckets = [...new Set(envs.map((e) => JSON.stringify([e.state.bucket, e.state.region ?? e.regions[0]])))].map((b) => JSON.parse(b) as [string, string]);
  expect(buckets.length).toBeGreaterThan(0);
  for (const [bucket, region] of buckets) {
    const s3 = new S3Client(clientConfig({ region, endpoint: aws.endpoint }));
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    const block = await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }));
    const policy = await s3.send(new GetBucketPolicyCommand({ Bucket: bucket })).catch((e: Error) => e.name);
    expect({
      bucket,
      versioning: versioning.Status,
      sse: encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
      block: block.PublicAccessBlockConfiguration,
      policy,
    }).toEqual({
      bucket,
      versioning: "Enabled",
      sse: "AES256",
      block: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      policy: "NoSuchBucketPolicy",
    });
    expect(await stateBucketProblems(s3, { bucket, region, tlsOnly: false })).toEqual([]);
    expect(await stateBucketProblems(s3, { bucket, region })).toEqual([`the bucket policy lacks the ${TLS_ONLY_SID} statement (deny s3:* without TLS)`]);
  }
});

describe("npm run bootstrap-state, for a real environment", () => {
  const prod = prodEnvironment();
  const { name: _name, ...raw } = prod;
  const state = prod.state;
  let configFile: string;
  let s3: S3Client;
  let ddb: DynamoDBClient;

  beforeAll(async () => {
    const dir = tempDir("bootstrap-state");
    configFile = path.join(dir, "environments.json");
    fs.writeFileSync(configFile, JSON.stringify({ environments: { prod: raw } }, null, 2));
    // The state account, as the backend reaches it: through state.roleArn.
    const assumed = await new STSClient(clientConfig({ region: state.region!, endpoint: aws.endpoint })).send(
      new AssumeRoleCommand({ RoleArn: state.roleArn, RoleSessionName: "test" }),
    );
    const c = assumed.Credentials!;
    const config = { ...clientConfig({ region: state.region!, endpoint: aws.endpoint }), credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } };
    s3 = new S3Client(config);
    ddb = new DynamoDBClient(config);
    // A bucket someone made by hand: versioning suspended, a policy of its own.
    await s3.send(new CreateBucketCommand({ Bucket: state.bucket, CreateBucketConfiguration: { LocationConstraint: "eu-central-1" } }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: state.bucket, VersioningConfiguration: { Status: "Suspended" } }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: state.bucket,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Sid: "AuditRead", Effect: "Allow", Principal: { AWS: "arn:aws:iam::999999999999:role/audit" }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${state.bucket}/*` }],
        }),
      }),
    );
  });

  const run = (args: string[], extra: Record<string, string | undefined> = {}) =>
    runScript("recovery/bootstrap-state", args, { CONFIG_FILE: configFile, ENVIRONMENTS: "prod", AWS_ENDPOINT_URL: aws.endpoint, ...extra });

  test("is refused while an endpoint variable is set, unless on purpose", async () => {
    const r = await run([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: environment "prod" is not local \("local": true\), but AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+ is set: .* pass --allow-local-endpoint/m);
  });

  test("--check reports each difference of a hand-made bucket and changes nothing", async () => {
    const r = await run(["--check", "--allow-local-endpoint"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`checking s3://${state.bucket} (eu-central-1; environment prod; at ${aws.endpoint})`);
    expect(r.stdout).toContain("differs: bucket acme-tfstate: versioning is Suspended (must be Enabled)");
    expect(r.stdout).toContain(`differs: bucket acme-tfstate: default encryption is none (must be aws:kms with ${state.kmsKeyArn})`);
    expect(r.stdout).toContain("differs: bucket acme-tfstate: public access is not blocked");
    expect(r.stdout).toContain(`differs: bucket acme-tfstate: the bucket policy lacks the ${TLS_ONLY_SID} statement`);
    expect(r.stdout).toContain("differs: lock table tf-locks: the table does not exist");
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: state.bucket }))).Status).toBe("Suspended");
  });

  test("brings the bucket to the standard, keeps its own policy statements, creates the lock table", async () => {
    const r = await run(["--allow-local-endpoint"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("bucket exists; versioning, SSE-KMS encryption, public access block, BucketOwnerEnforced and the TLS-only policy are set");
    expect(r.stdout).toContain("lock table tf-locks created; point-in-time recovery on");
    expect(r.stdout).toContain("meets the standard");
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: state.bucket }))).Status).toBe("Enabled");
    const rule = (await s3.send(new GetBucketEncryptionCommand({ Bucket: state.bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
    expect(rule).toEqual({ SSEAlgorithm: "aws:kms", KMSMasterKeyID: state.kmsKeyArn });
    const sids = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: state.bucket }))).Policy!).Statement.map((s: { Sid: string }) => s.Sid);
    expect(sids).toEqual(["AuditRead", TLS_ONLY_SID]);
    const pitr = await ddb.send(new DescribeContinuousBackupsCommand({ TableName: state.dynamodbTable }));
    expect(pitr.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus).toBe("ENABLED");

    const again = await run(["--allow-local-endpoint"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("bucket exists;");
    expect(again.stdout).toContain("lock table tf-locks exists");
    const check = await run(["--check", "--allow-local-endpoint"]);
    expect(check.stdout).not.toContain("differs");
    expect(check.code).toBe(0);
  });

  test("the TLS-only statement is enforced: the local AWS (plain http) may no longer read or write the state", async () => {
    const denied = await s3.send(new PutObjectCommand({ Bucket: state.bucket, Key: "platform/prod/eu-west-1/terraform.tfstate", Body: "{}" })).then(
      () => "written",
      (e: { $metadata?: { httpStatusCode?: number }; message?: string }) => e.$metadata?.httpStatusCode,
    );
    expect(denied).toBe(403);
  });

  test("a bucket name another account holds is one clear error", async () => {
    const other = new S3Client(clientConfig({ region: "eu-central-1", endpoint: aws.endpoint }));
    await expect(createBucket(other, state.bucket, "eu-central-1")).rejects.toThrow(`bucket ${state.bucket}: the name is taken by another AWS account; choose another name`);
  });

  test("an unknown flag is one line, exit 2", async () => {
    const r = await run(["--chek"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: unknown flag "--chek" (known: --check, --allow-local-endpoint, --help)\n');
  });
});

test("local environments without a local AWS to bootstrap: one line, exit 1", async () => {
  const r = await runScript("recovery/bootstrap-state", [], { AWS_ENDPOINT_URL: undefined, CONFIG_FILE: undefined, ENVIRONMENTS: undefined, LOCAL_AWS_STATE_DIR: tempDir("no-kept") });
  expect(r.stderr).toBe(
    "error: nothing to bootstrap: no local AWS is running (AWS_ENDPOINT_URL is unset and npm run status shows none); start one with npm start -- --keep-running\n",
  );
  expect(r.code).toBe(1);
});
