/** The props of a {@link GithubActionsOidcRoles}, and the GitHub OIDC constants they build on. */

/** The issuer of GitHub Actions' OIDC tokens. */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
/** The audience aws-actions/configure-aws-credentials asks GitHub for. */
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";

/** Where the Terraform state of the account's stacks lives: the roles read it, and take its locks. */
export interface GithubOidcStateAccess {
  /** The S3 bucket of the Terraform state. */
  readonly bucketName: string;
  /**
   * The key prefix of the states (and of the records kept beside them), without a trailing `/`.
   * @default - every key of the bucket
   */
  readonly keyPrefix?: string;
  /**
   * A DynamoDB lock table the backend also uses (`dynamodb_table`).
   * @default - S3 lock files only (`use_lockfile`)
   */
  readonly lockTableName?: string;
  /**
   * The customer managed KMS key that encrypts the state objects.
   * @default - SSE-S3: no KMS permissions
   */
  readonly kmsKeyArn?: string;
}

/** Properties of a {@link GithubActionsOidcRoles}. */
export interface GithubActionsOidcRolesProps {
  /** The GitHub repository whose workflow assumes the roles, `owner/name` (the `repo:` part of the token's `sub`). */
  readonly repository: string;
  /**
   * The GitHub environments whose deploy jobs may assume the deploy role: each becomes the subject
   * `repo:<owner>/<name>:environment:<environment>`. Give them required reviewers and limit their
   * deployment branches to main in the repository's settings.
   */
  readonly githubEnvironments: string[];
  /** Managed policy ARNs attached to the deploy role: what the stacks create and change. */
  readonly deployPolicyArns: string[];
  /** The state bucket (and lock table, key) both roles need. */
  readonly state: GithubOidcStateAccess;
  /**
   * An existing GitHub OIDC provider of the account (an account has at most one per URL).
   * @default - the provider is created (url https://token.actions.githubusercontent.com, audience sts.amazonaws.com)
   */
  readonly oidcProviderArn?: string;
  /**
   * The plan role's name (IAM names are global in an account: create the construct once per account).
   * @default "github-terraform-plan"
   */
  readonly planRoleName?: string;
  /**
   * The deploy role's name.
   * @default "github-terraform-deploy"
   */
  readonly deployRoleName?: string;
  /**
   * The branch whose runs (pushes, the nightly schedule, manual runs) plan with the plan role: the subject `repo:<owner>/<name>:ref:refs/heads/<branch>`.
   * @default "main"
   */
  readonly mainBranch?: string;
  /**
   * Managed policy ARNs attached to the plan role: what a plan reads.
   * @default - the AWS managed ReadOnlyAccess of the stack's partition
   */
  readonly planPolicyArns?: string[];
  /**
   * How long a session of either role lasts, in seconds (3600 to 43200).
   * @default 3600
   */
  readonly maxSessionDuration?: number;
}
