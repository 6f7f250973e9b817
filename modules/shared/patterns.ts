/**
 * The naming and ARN rules of AWS that both the constructs and the environments file check,
 * written once. ARN patterns accept every partition (`aws`, `aws-cn`, `aws-us-gov`, …).
 */

/** The partition part of an ARN: `aws` and `aws-<name>`. */
const PARTITION = "aws[a-z-]*";

/** An IAM role ARN, `arn:<partition>:iam::<account>:role/[<path>/]<name>`; group 1 is the account. */
export const ROLE_ARN_PATTERN = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}):role\\/(?:[\\x21-\\x7e]*\\/)?([\\w+=,.@-]{1,64})$`);
/** The rule {@link ROLE_ARN_PATTERN} states. */
export const ROLE_ARN_RULE = "must be an IAM role ARN (arn:aws:iam::<account>:role/[<path>/]<name>)";

/** A KMS key or alias ARN. */
export const KMS_KEY_OR_ALIAS_ARN_PATTERN = new RegExp(`^arn:${PARTITION}:kms:[a-z0-9-]+:\\d{12}:(key|alias)\\/.+$`);
/** The rule {@link KMS_KEY_OR_ALIAS_ARN_PATTERN} states. */
export const KMS_KEY_OR_ALIAS_ARN_RULE = "must be a KMS key or alias ARN (arn:aws:kms:<region>:<account>:key/<id>)";

/** A KMS key ARN (no alias). */
export const KMS_KEY_ARN_PATTERN = new RegExp(`^arn:${PARTITION}:kms:[a-z0-9-]+:\\d{12}:key\\/.+$`);

/** A Secrets Manager secret ARN. */
export const SECRET_ARN_PATTERN = new RegExp(`^arn:${PARTITION}:secretsmanager:[a-z0-9-]+:\\d{12}:secret:.+$`);
/** The rule {@link SECRET_ARN_PATTERN} states. */
export const SECRET_ARN_RULE = "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)";

/** A CodeConnections connection ARN. */
export const CONNECTION_ARN_PATTERN = new RegExp(`^arn:${PARTITION}:codeconnections:[a-z0-9-]+:\\d{12}:connection\\/[0-9a-f-]{36}$`);
/** The rule {@link CONNECTION_ARN_PATTERN} states. */
export const CONNECTION_ARN_RULE = "must be a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)";

/** A Docker image tag: 1-128 characters. */
export const IMAGE_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** The rule {@link IMAGE_TAG_PATTERN} states. */
export const IMAGE_TAG_RULE = "must be a Docker tag: 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'";

/** A CodeBuild project name. */
export const PROJECT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/;
/** The rule {@link PROJECT_NAME_PATTERN} states. */
export const PROJECT_NAME_RULE = "must be 2-255 letters, digits, '-' or '_', starting with a letter or digit (CodeBuild naming rules)";

/**
 * An ECR repository name without its length rule: lowercase, optional `namespace/` parts, each
 * part letters and digits separated by single `.`, `_` or `-`.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
 */
export const REPOSITORY_NAME_PARTS_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** An ECR repository name with its length (2-256 characters). */
export const REPOSITORY_NAME_PATTERN = new RegExp(`^(?=.{2,256}$)${REPOSITORY_NAME_PARTS_PATTERN.source.slice(1)}`);
/** The rule {@link REPOSITORY_NAME_PATTERN} states. */
export const REPOSITORY_NAME_RULE =
  "must be 2-256 lowercase characters: parts of letters and digits separated by '.', '_' or '-', with optional 'namespace/' prefixes (ECR naming rules)";

/** An Azure Container Registry name (`<name>.azurecr.io`). */
export const AZURE_REGISTRY_NAME_PATTERN = /^[a-z0-9]{5,50}$/i;
/** The rule {@link AZURE_REGISTRY_NAME_PATTERN} states. */
export const AZURE_REGISTRY_NAME_RULE = "must be the Azure registry name: 5-50 letters and digits (<name>.azurecr.io)";

/** An environment variable name. */
export const VARIABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An S3 bucket name. */
export const BUCKET_NAME_PATTERN = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** The rule {@link BUCKET_NAME_PATTERN} states. */
export const BUCKET_NAME_RULE = "must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')";

/** The partition a region belongs to, for ARNs built from literal names: `aws-cn`, `aws-us-gov` or `aws`. */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}
