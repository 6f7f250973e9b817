import type { AwsProviderConfig } from "@cdktf/provider-aws/lib/provider";
import type { S3BackendConfig } from "cdktf";

/** Where the embedded local AWS (moto) listens when nothing else is said. */
export const DEFAULT_LOCAL_ENDPOINT = "http://127.0.0.1:5000";

/** Every AWS service the stacks (and their data sources) call. */
export const LOCAL_SERVICES = ["codebuild", "dynamodb", "ecr", "iam", "kms", "logs", "s3", "secretsmanager", "ssm", "sts"] as const;

/**
 * How often the provider retries a failed call against the local AWS. The provider's default (25,
 * with backoff) turns an API moto lacks (its CodeBuild has no UpdateProject: HTTP 500) into a
 * silent wait of over 20 minutes; the local AWS is never throttled, so a failure is final.
 */
export const LOCAL_MAX_RETRIES = 2;

/**
 * Provider settings of a local environment only: every service used points at the local
 * endpoint, S3 uses path-style addressing, and the credential and region checks that need real
 * AWS are skipped (the account is still requested from the local STS, so `allowed_account_ids`
 * holds), and a small retry budget ({@link LOCAL_MAX_RETRIES}). Real environments never get any
 * of this.
 */
export function localProviderSettings(endpoint: string): Partial<AwsProviderConfig> {
  return {
    endpoints: [Object.fromEntries(LOCAL_SERVICES.map((s) => [s, endpoint]))],
    s3UsePathStyle: true,
    skipCredentialsValidation: true,
    // The account is requested (from the local STS), so allowed_account_ids is enforced locally too.
    skipMetadataApiCheck: "true",
    skipRegionValidation: true,
    maxRetries: LOCAL_MAX_RETRIES,
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
