/**
 * AWS SDK v3 client settings and Terraform's AWS variables for either kind of environment: a
 * local one (an endpoint of its own, placeholder credentials, path-style S3) or a real one (AWS,
 * the default credential chain).
 */
import { LOCAL_CREDENTIALS } from "../../stacks/custom-endpoint";

// The SDK warns on every run that releases after January 2027 will need Node 22. This project
// pins its SDK versions exactly and supports Node 20 (see README), so the warning is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** Where an SDK call goes. */
export interface AwsTarget {
  /** The region of the call. */
  readonly region: string;
  /** The endpoint of a local environment; undefined for real AWS. */
  readonly endpoint?: string;
}

/** Client config for an SDK v3 client. */
export function clientConfig(target: AwsTarget): {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  forcePathStyle?: boolean;
} {
  if (target.endpoint === undefined) return { region: target.region };
  return { region: target.region, endpoint: target.endpoint, credentials: { ...LOCAL_CREDENTIALS }, forcePathStyle: true };
}

/** The environment variables that point the AWS CLI, Terraform and the SDKs at a local endpoint. */
export function endpointEnv(endpoint: string, region: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_DEFAULT_REGION: region,
    AWS_REGION: region,
  };
}
