import type { AwsProviderConfig } from "@cdktf/provider-aws/lib/provider";
import * as fs from "fs";
import * as path from "path";
import type { ISynthesisSession, S3BackendConfig, TerraformStack } from "cdktf";

/**
 * The settings of a `local` environment: one that reaches AWS through an endpoint of its own (a
 * local AWS) instead of AWS's. The environment takes that endpoint and its credentials from
 * outside (the synth is told the endpoint; the credentials are placeholders, which such an
 * endpoint accepts); real environments get none of this and deploy with the same code.
 */

/** The endpoint of a local environment when the synth is told none. */
export const DEFAULT_LOCAL_ENDPOINT = "http://127.0.0.1:5000";

/**
 * The credentials a local environment signs its calls with: placeholders (a local endpoint checks
 * no signature, but every AWS SDK needs credentials to sign); never used against real AWS.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" } as const;

/**
 * The AWS shared config file (an INI file) synthesized next to each local stack's `cdk.tf.json`;
 * its profile {@link LOCAL_AWS_PROFILE} holds the local endpoint and {@link LOCAL_CREDENTIALS}. The provider finds it relative to the stack's folder, where terraform runs.
 */
export const LOCAL_AWS_CONFIG_FILE = "aws-local.ini";

/** The profile of {@link LOCAL_AWS_CONFIG_FILE} a local stack's provider uses. */
export const LOCAL_AWS_PROFILE = "cdktf-local";

/**
 * How often the provider retries a failed call against a local endpoint. The provider's default
 * (25, with backoff) turns an API the endpoint lacks (an HTTP 500 answer) into a silent wait of
 * over 20 minutes; a local endpoint is never throttled, so a failure is final.
 */
export const LOCAL_MAX_RETRIES = 2;

/**
 * Provider settings of a local environment only: the provider takes the local endpoint and the
 * credentials from the profile {@link LOCAL_AWS_PROFILE} of the file
 * {@link LOCAL_AWS_CONFIG_FILE} synthesized beside the stack (see {@link localAwsConfig}), and
 * from no other file; S3 uses path-style addressing; the credential and region checks that need
 * real AWS are skipped (the account is still requested from the local STS, so
 * `allowed_account_ids` holds); and a small retry budget ({@link LOCAL_MAX_RETRIES}). Real
 * environments never get any of this.
 *
 * Why a profile and not the provider's `endpoints` block: the provider validates that block
 * (hundreds of service attributes) on every plan, which costs about 2.4 CPU-seconds each time
 * (`terraform validate` of a local stack: 4.95 s with the block, 2.60 s with the profile,
 * measured on the 2-core machine of BENCHMARKS.md). And with the profile named in the provider
 * block, the caller's credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws) are never used by a
 * local stack.
 */
export function localProviderSettings(): Partial<AwsProviderConfig> {
  return {
    profile: LOCAL_AWS_PROFILE,
    sharedConfigFiles: [LOCAL_AWS_CONFIG_FILE],
    // The same file, so ~/.aws/credentials is never read (its INI sections are named
    // "profile cdktf-local" in a credentials file: no credentials come from there).
    sharedCredentialsFiles: [LOCAL_AWS_CONFIG_FILE],
    s3UsePathStyle: true,
    skipCredentialsValidation: true,
    // The account is requested (from the local STS), so allowed_account_ids is enforced locally too.
    skipMetadataApiCheck: "true",
    skipRegionValidation: true,
    maxRetries: LOCAL_MAX_RETRIES,
  };
}

/** The text of {@link LOCAL_AWS_CONFIG_FILE}: every service at `endpoint`, signed with `credentials`. */
export function localAwsConfig(endpoint: string, credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } = LOCAL_CREDENTIALS): string {
  return [
    "# Written by the synth of a local stack: the local AWS this stack deploys to. Not for real AWS.",
    `[profile ${LOCAL_AWS_PROFILE}]`,
    `endpoint_url = ${endpoint}`,
    `aws_access_key_id = ${credentials.accessKeyId}`,
    `aws_secret_access_key = ${credentials.secretAccessKey}`,
    "",
  ].join("\n");
}

/** Makes `stack`'s synth write {@link localAwsConfig} into the stack's folder, beside its `cdk.tf.json`. */
export function synthLocalAwsConfig(stack: TerraformStack, endpoint: string): void {
  const synthesizer = stack.synthesizer;
  stack.synthesizer = {
    synthesize(session: ISynthesisSession): void {
      synthesizer.synthesize(session);
      const dir = path.join(session.outdir, session.manifest.forStack(stack).workingDirectory);
      fs.writeFileSync(path.join(dir, LOCAL_AWS_CONFIG_FILE), localAwsConfig(endpoint));
    },
  };
}

/** The same for the S3 state backend of a local environment. */
export function localBackendSettings(endpoint: string): Partial<S3BackendConfig> {
  return {
    endpoints: { s3: endpoint, dynamodb: endpoint, iam: endpoint, sts: endpoint },
    usePathStyle: true,
    skipCredentialsValidation: true,
    skipRequestingAccountId: true,
    skipMetadataApiCheck: true,
    skipRegionValidation: true,
  };
}
