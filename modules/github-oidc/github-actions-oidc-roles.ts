import { Construct } from "constructs";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { AwsContext } from "../shared/aws-context";
import { sameCopy } from "../shared/one-copy";
import { type DocumentStatement, renderPolicyDocument } from "../shared/policy-document";
import { throwPropProblems } from "../shared/validation";
import { githubOidcRolesPropProblems } from "./github-oidc-checks";
import { GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST, type GithubActionsOidcRolesProps, type GithubOidcStateAccess } from "./github-oidc-props";

export { GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST } from "./github-oidc-props";
export type { GithubActionsOidcRolesProps, GithubOidcStateAccess } from "./github-oidc-props";

const CONSTRUCT = "GithubActionsOidcRoles";
/**
 * The thumbprints of GitHub's OIDC certificate chain. IAM no longer uses them for GitHub (it
 * trusts the issuer through its own root CAs), but provider versions before 5.81 require the field.
 */
const GITHUB_THUMBPRINTS = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"];
/** What a plan reads from the state bucket; the lock file is its only write. https://developer.hashicorp.com/terraform/language/backend/s3#permissions-required */
export const STATE_READ_ACTIONS = ["s3:GetObject"] as const;
/** What a lock (`<key>.tflock`) takes: write and delete of the lock object. */
export const STATE_LOCK_ACTIONS = ["s3:PutObject", "s3:DeleteObject"] as const;
/** The DynamoDB lock table's actions (`dynamodb_table`). */
export const LOCK_TABLE_ACTIONS = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"] as const;

/**
 * GitHub Actions' OIDC provider in one account and the two roles a CI workflow assumes with it
 * (aws-actions/configure-aws-credentials, `role-to-assume`):
 *
 * - the **plan role**, trusted only for tokens whose `sub` is `repo:<owner>/<name>:pull_request`
 *   (pull-request jobs) or `repo:<owner>/<name>:ref:refs/heads/<mainBranch>` (pushes, the nightly
 *   run, manual runs of main, when the job names no GitHub environment): read-only permissions
 *   (ReadOnlyAccess by default), the state objects' read and the lock file's write;
 * - the **deploy role**, trusted only for `repo:<owner>/<name>:environment:<name>` of the given
 *   GitHub environments: the deploy policies, and read and write of the states.
 *
 * Both trust policies compare `sub` and `aud` with StringEquals (no wildcards), so a pull
 * request's token, whatever its workflow file says, matches only the plan role. What keeps a pull
 * request out of a GitHub environment is the environment's deployment-branch rule (main only):
 * set it, with required reviewers, in the repository's settings.
 *
 * Create it once per account (IAM is global): in the stack of one region.
 *
 * @example
 * new GithubActionsOidcRoles(stack, "GithubOidc", {
 *   repository: "acme/infrastructure",
 *   githubEnvironments: ["production"],
 *   deployPolicyArns: ["arn:aws:iam::111111111111:policy/terraform-deploy"],
 *   state: { bucketName: "acme-tfstate", keyPrefix: "platform" },
 * });
 */
export class GithubActionsOidcRoles extends Construct {
  /** The OIDC provider's ARN (created, or the one given). */
  public readonly oidcProviderArn: string;
  /** The created provider; undefined when an existing one was given. */
  public readonly oidcProvider?: IamOpenidConnectProvider;
  /** The read-only role of pull requests and the main branch. */
  public readonly planRole: IamRole;
  /** The role of deploy jobs in the given GitHub environments. */
  public readonly deployRole: IamRole;
  /** The `sub` values the plan role trusts. */
  public readonly planSubjects: readonly string[];
  /** The `sub` values the deploy role trusts. */
  public readonly deploySubjects: readonly string[];

  constructor(scope: Construct, id: string, props: GithubActionsOidcRolesProps) {
    super(sameCopy(scope, CONSTRUCT, id), id);
    throwPropProblems(githubOidcRolesPropProblems(id, props));
    const context = AwsContext.of(this);
    const partition = context.partition;
    if (props.oidcProviderArn === undefined) {
      this.oidcProvider = new IamOpenidConnectProvider(this, "Provider", {
        url: `https://${GITHUB_OIDC_HOST}`,
        clientIdList: [GITHUB_OIDC_AUDIENCE],
        thumbprintList: GITHUB_THUMBPRINTS,
      });
      this.oidcProviderArn = this.oidcProvider.arn;
    } else {
      this.oidcProviderArn = props.oidcProviderArn;
    }
    const repo = `repo:${props.repository}`;
    this.planSubjects = [`${repo}:pull_request`, `${repo}:ref:refs/heads/${props.mainBranch ?? "main"}`];
    this.deploySubjects = props.githubEnvironments.map((e) => `${repo}:environment:${e}`);
    const maxSessionDuration = props.maxSessionDuration ?? 3600;

    this.planRole = new IamRole(this, "PlanRole", {
      name: props.planRoleName ?? "github-terraform-plan",
      description: `Read-only plans of ${props.repository} from GitHub Actions (pull requests, ${props.mainBranch ?? "main"})`,
      assumeRolePolicy: this.trustPolicy("GithubActionsPlan", this.planSubjects),
      maxSessionDuration,
    });
    this.deployRole = new IamRole(this, "DeployRole", {
      name: props.deployRoleName ?? "github-terraform-deploy",
      description: `Deploys of ${props.repository} from GitHub Actions (environments ${props.githubEnvironments.join(", ")})`,
      assumeRolePolicy: this.trustPolicy("GithubActionsDeploy", this.deploySubjects),
      maxSessionDuration,
    });
    const planPolicies = props.planPolicyArns ?? [`arn:${partition}:iam::aws:policy/ReadOnlyAccess`];
    planPolicies.forEach((policyArn, i) => new IamRolePolicyAttachment(this, `PlanPolicy${i}`, { role: this.planRole.name, policyArn }));
    props.deployPolicyArns.forEach((policyArn, i) => new IamRolePolicyAttachment(this, `DeployPolicy${i}`, { role: this.deployRole.name, policyArn }));
    new IamRolePolicy(this, "PlanState", { role: this.planRole.id, name: "terraform-state-read", policy: renderPolicyDocument(stateStatements(partition, context, props.state, false)) });
    new IamRolePolicy(this, "DeployState", { role: this.deployRole.id, name: "terraform-state", policy: renderPolicyDocument(stateStatements(partition, context, props.state, true)) });
  }

  private trustPolicy(sid: string, subjects: readonly string[]): string {
    return renderPolicyDocument([
      {
        sid,
        actions: ["sts:AssumeRoleWithWebIdentity"],
        principals: [{ type: "Federated", identifiers: [this.oidcProviderArn] }],
        conditions: [
          { test: "StringEquals", variable: `${GITHUB_OIDC_HOST}:aud`, values: [GITHUB_OIDC_AUDIENCE] },
          { test: "StringEquals", variable: `${GITHUB_OIDC_HOST}:sub`, values: [...subjects] },
        ],
      },
    ]);
  }
}

/** The state bucket's statements: read (and lock) for the plan role, read and write for the deploy role. */
function stateStatements(partition: string, context: AwsContext, state: GithubOidcStateAccess, write: boolean): DocumentStatement[] {
  const bucket = `arn:${partition}:s3:::${state.bucketName}`;
  const keys = `${bucket}/${state.keyPrefix ? `${state.keyPrefix}/` : ""}*`;
  const statements: DocumentStatement[] = [
    { sid: "StateList", actions: ["s3:ListBucket"], resources: [bucket] },
    write
      ? { sid: "StateReadWrite", actions: [...STATE_READ_ACTIONS, ...STATE_LOCK_ACTIONS], resources: [keys] }
      : { sid: "StateRead", actions: [...STATE_READ_ACTIONS], resources: [keys] },
  ];
  if (!write) statements.push({ sid: "StateLock", actions: [...STATE_LOCK_ACTIONS], resources: [`${keys}.tflock`] });
  if (state.lockTableName !== undefined) {
    statements.push({ sid: "LockTable", actions: [...LOCK_TABLE_ACTIONS], resources: [`arn:${partition}:dynamodb:*:${context.accountId}:table/${state.lockTableName}`] });
  }
  if (state.kmsKeyArn !== undefined) {
    statements.push({ sid: "StateKey", actions: write ? ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] : ["kms:Decrypt", "kms:GenerateDataKey"], resources: [state.kmsKeyArn] });
  }
  return statements;
}
