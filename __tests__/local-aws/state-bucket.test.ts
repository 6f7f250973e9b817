import { GetBucketEncryptionCommand, GetBucketVersioningCommand, GetPublicAccessBlockCommand, S3Client } from "@aws-sdk/client-s3";
import { clientConfig } from "../../scripts/local-aws/clients";
import { bootstrap, selectLocalEnvironments } from "../../scripts/local-aws/deploy";
import { LocalAws, startLocalAws } from "../../scripts/local-aws/server";
import { ROOT, tempDir } from "../support/app";

/**
 * The state bucket npm start creates (issue 13, item 7): versioned, so an overwritten or corrupted
 * state can be restored; encrypted; public access blocked.
 */
let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

test("bootstrap creates each local state bucket versioned, encrypted and with public access blocked", async () => {
  const envs = selectLocalEnvironments({ root: ROOT });
  await bootstrap({ endpoint: aws.endpoint, root: ROOT, outdir: tempDir("state-bucket") }, envs);
  const buckets = [...new Set(envs.map((e) => JSON.stringify([e.state.bucket, e.state.region ?? e.regions[0]])))].map((b) => JSON.parse(b) as [string, string]);
  expect(buckets.length).toBeGreaterThan(0);
  for (const [bucket, region] of buckets) {
    const s3 = new S3Client(clientConfig({ region, endpoint: aws.endpoint }));
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    const block = await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }));
    expect({
      bucket,
      versioning: versioning.Status,
      sse: encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
      block: block.PublicAccessBlockConfiguration,
    }).toEqual({
      bucket,
      versioning: "Enabled",
      sse: "AES256",
      block: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    });
  }
});
