/**
 * The local AWS's clients: the generic settings of a local endpoint (scripts/shared/aws-clients.ts)
 * under the names the local AWS's commands and tests use.
 */
import { endpointEnv } from "../shared/aws-clients";

export { clientConfig, type AwsTarget } from "../shared/aws-clients";
export { LOCAL_CREDENTIALS } from "../../stacks/custom-endpoint";

/** The environment variables that point the AWS CLI, Terraform and SDKs at the local AWS. */
export const localAwsEnv = endpointEnv;
