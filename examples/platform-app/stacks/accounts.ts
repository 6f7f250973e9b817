import { TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";

/** The accounts of this example organization (replace with yours). */
export const ACCOUNTS = {
  /** Builds and owns the images. */
  tools: process.env.TOOLS_ACCOUNT_ID ?? "111111111111",
  /** Runs the application; pulls the image from the tools account. */
  workload: process.env.WORKLOAD_ACCOUNT_ID ?? "222222222222",
} as const;

export const REGION = process.env.AWS_REGION_OVERRIDE ?? "eu-central-1";

/** The role each stack's provider assumes in its account. */
export const DEPLOY_ROLE_NAME = "platform-deploy";

/**
 * The AWS provider of one account: assumes the deploy role there and refuses any other account
 * (allowed_account_ids, which is also how the modules know the account at synth and tell
 * same-account from cross-account grants). With LOCAL_AWS_ENDPOINT set (the embedded local AWS
 * of the module collection's tests), every service this app calls goes to that endpoint.
 */
export function accountProvider(stack: TerraformStack, accountId: string): AwsProvider {
  const local = process.env.LOCAL_AWS_ENDPOINT;
  if (local !== undefined && !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(local)) {
    throw new Error(`LOCAL_AWS_ENDPOINT ${JSON.stringify(local)} must be http://127.0.0.1:<port> (a local AWS on this machine)`);
  }
  return new AwsProvider(stack, "aws", {
    region: REGION,
    allowedAccountIds: [accountId],
    assumeRole: [{ roleArn: `arn:aws:iam::${accountId}:role/${DEPLOY_ROLE_NAME}`, sessionName: "platform-app" }],
    defaultTags: [{ tags: { ManagedBy: "cdktf", App: "platform-app" } }],
    ...(local === undefined
      ? {}
      : {
          endpoints: [Object.fromEntries(["codebuild", "ecr", "iam", "logs", "ssm", "sts"].map((s) => [s, local]))],
          skipMetadataApiCheck: "true",
          skipRegionValidation: true,
        }),
  });
}
