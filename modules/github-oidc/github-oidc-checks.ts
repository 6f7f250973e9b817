/**
 * The pure prop check of a {@link GithubActionsOidcRoles}. Internal: the package exports the
 * construct, not this function.
 */
import { BUCKET_NAME_PATTERN, BUCKET_NAME_RULE, KMS_KEY_ARN_PATTERN } from "../shared/patterns";
import { PropProblems, type PropProblemDetail, recordedProblems } from "../shared/validation";
import type { GithubActionsOidcRolesProps } from "./github-oidc-props";

const CONSTRUCT = "GithubActionsOidcRoles";
/** `owner/name` as GitHub allows them. */
const REPOSITORY_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const GITHUB_ENVIRONMENT_PATTERN = /^[A-Za-z0-9 _.-]{1,255}$/;
const MANAGED_POLICY_ARN_PATTERN = /^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/(?:[\x21-\x7e]*\/)?[\w+=,.@-]{1,128}$/;
const OIDC_PROVIDER_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/;
const ROLE_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;
/** A branch name without the characters git refuses or a StringEquals subject would need to escape. */
const BRANCH_PATTERN = /^(?!\/|.*\/\/|.*\.\.|.*\/$|.*\.lock$)[A-Za-z0-9._/-]{1,200}$/;
const LOCK_TABLE_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;
const KEY_PREFIX_PATTERN = /^[^/*?](?:[^*?]*[^/*?])?$/;

/** The problems of the props, as data (prop, value, rule): what the constructor throws. */
export function githubOidcRolesPropProblems(id: string, props: GithubActionsOidcRolesProps): readonly PropProblemDetail[] {
  const p = new PropProblems(CONSTRUCT, id);
  p.check(typeof props.repository === "string" && REPOSITORY_PATTERN.test(props.repository), "repository", props.repository, "must be a GitHub repository as owner/name");
  const envs = props.githubEnvironments;
  if (!Array.isArray(envs) || envs.length === 0) {
    p.add("githubEnvironments", envs, "must name at least one GitHub environment (the deploy role trusts only deploy jobs of these environments)");
  } else {
    envs.forEach((e, i) => {
      p.check(typeof e === "string" && GITHUB_ENVIRONMENT_PATTERN.test(e), `githubEnvironments[${i}]`, e, "must be a GitHub environment name: 1-255 letters, digits, space, '-', '_' or '.'");
      p.check(envs.indexOf(e) === i, `githubEnvironments[${i}]`, e, "is a duplicate");
    });
  }
  policyArns(p, "deployPolicyArns", props.deployPolicyArns, true);
  if (props.planPolicyArns !== undefined) policyArns(p, "planPolicyArns", props.planPolicyArns, false);
  if (props.oidcProviderArn !== undefined) {
    p.check(OIDC_PROVIDER_ARN_PATTERN.test(props.oidcProviderArn), "oidcProviderArn", props.oidcProviderArn, "must be the ARN of the account's GitHub OIDC provider (arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com)");
  }
  const plan = props.planRoleName ?? "github-terraform-plan";
  const deploy = props.deployRoleName ?? "github-terraform-deploy";
  p.check(ROLE_NAME_PATTERN.test(plan), "planRoleName", plan, "must be 1-64 letters, digits or +=,.@_- (IAM role names)");
  p.check(ROLE_NAME_PATTERN.test(deploy), "deployRoleName", deploy, "must be 1-64 letters, digits or +=,.@_- (IAM role names)");
  p.check(plan !== deploy, "deployRoleName", deploy, "must differ from planRoleName (pull requests must not reach the deploy role)");
  const branch = props.mainBranch ?? "main";
  p.check(BRANCH_PATTERN.test(branch), "mainBranch", branch, "must be a branch name of letters, digits and . _ / - (no wildcards: the subject is matched exactly)");
  const duration = props.maxSessionDuration ?? 3600;
  p.check(Number.isInteger(duration) && duration >= 3600 && duration <= 43200, "maxSessionDuration", duration, "must be a whole number of seconds from 3600 to 43200 (IAM's range)");
  const state = props.state;
  if (state === undefined || state === null || typeof state !== "object") {
    p.add("state", state, "is required: the state bucket both roles read and lock");
  } else {
    p.check(typeof state.bucketName === "string" && BUCKET_NAME_PATTERN.test(state.bucketName), "state.bucketName", state.bucketName, BUCKET_NAME_RULE);
    if (state.keyPrefix !== undefined) p.check(KEY_PREFIX_PATTERN.test(state.keyPrefix), "state.keyPrefix", state.keyPrefix, "must be an S3 key prefix without a leading or trailing '/' and without '*' or '?'");
    if (state.lockTableName !== undefined) p.check(LOCK_TABLE_PATTERN.test(state.lockTableName), "state.lockTableName", state.lockTableName, "must be a DynamoDB table name (3-255 letters, digits, '_', '-', '.')");
    if (state.kmsKeyArn !== undefined) p.check(KMS_KEY_ARN_PATTERN.test(state.kmsKeyArn), "state.kmsKeyArn", state.kmsKeyArn, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)");
  }
  return recordedProblems(p);
}

function policyArns(p: PropProblems, prop: string, arns: unknown, required: boolean): void {
  if (!Array.isArray(arns) || (required && arns.length === 0)) return p.add(prop, arns, "must list at least one managed policy ARN");
  arns.forEach((a, i) => {
    p.check(typeof a === "string" && MANAGED_POLICY_ARN_PATTERN.test(a), `${prop}[${i}]`, a, "must be a managed policy ARN (arn:aws:iam::aws:policy/<name> or arn:aws:iam::<account>:policy/<name>)");
    p.check(arns.indexOf(a) === i, `${prop}[${i}]`, a, "is a duplicate");
  });
}
