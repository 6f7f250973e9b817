import { Testing } from "cdktf";
import { GITHUB_OIDC_AUDIENCE, GithubActionsOidcRoles, GithubActionsOidcRolesProps, PolicyPack, PropValidationError } from "../../modules";
import { githubClaims, trustAllows } from "../support/trust-policy";
import { newStack, resources, synthJson } from "../support/synth";

const PROPS: GithubActionsOidcRolesProps = {
  repository: "o/r",
  githubEnvironments: ["production"],
  deployPolicyArns: ["arn:aws:iam::111111111111:policy/terraform-deploy"],
  state: { bucketName: "acme-tfstate", keyPrefix: "platform" },
};
const PROVIDER_REF = "${aws_iam_openid_connect_provider.Oidc_Provider_51C4A818.arn}";

/** The synthesized JSON of a stack holding one GithubActionsOidcRoles. */
function synth(props: Partial<GithubActionsOidcRolesProps> = {}) {
  const stack = newStack();
  const roles = new GithubActionsOidcRoles(stack, "Oidc", { ...PROPS, ...props });
  const json = synthJson(stack);
  const role = (name: string) => resources(json, "aws_iam_role").find((r) => r.name === name);
  return { roles, json, plan: role(props.planRoleName ?? "github-terraform-plan"), deploy: role(props.deployRoleName ?? "github-terraform-deploy") };
}

function problemsOf(props: Partial<GithubActionsOidcRolesProps>): readonly string[] {
  try {
    new GithubActionsOidcRoles(newStack(), "oidc", { ...PROPS, ...props } as GithubActionsOidcRolesProps);
  } catch (e) {
    if (e instanceof PropValidationError) return e.problems;
    throw e;
  }
  throw new Error("expected a PropValidationError");
}

/** The managed policy ARNs attached to the role whose construct id is `role`. */
const attachedTo = (json: any, role: string): string[] =>
  resources(json, "aws_iam_role_policy_attachment")
    .filter((a) => String(a.role).includes(`.Oidc_${role}_`))
    .map((a) => a.policy_arn);
const providerOf = (json: any): string => JSON.parse(resources(json, "aws_iam_role")[0].assume_role_policy).Statement[0].Principal.Federated;

describe("GithubActionsOidcRoles", () => {
  test("creates GitHub's OIDC provider with the sts.amazonaws.com audience", () => {
    const { json } = synth();
    expect(resources(json, "aws_iam_openid_connect_provider")).toEqual([
      expect.objectContaining({ url: "https://token.actions.githubusercontent.com", client_id_list: [GITHUB_OIDC_AUDIENCE] }),
    ]);
    expect(providerOf(json)).toBe(PROVIDER_REF);
  });

  test("reuses an existing provider by ARN: none is created and both roles trust it", () => {
    const arn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";
    const { json, plan, deploy } = synth({ oidcProviderArn: arn });
    expect(resources(json, "aws_iam_openid_connect_provider")).toEqual([]);
    for (const role of [plan, deploy]) expect(JSON.parse(role.assume_role_policy).Statement[0].Principal.Federated).toBe(arn);
  });

  test("the plan role trusts exactly pull requests and main, the deploy role exactly its GitHub environments, both with StringEquals on sub and aud", () => {
    const { plan, deploy, roles } = synth({ githubEnvironments: ["production", "staging"] });
    expect(JSON.parse(plan.assume_role_policy).Statement).toEqual([
      {
        Sid: "GithubActionsPlan",
        Effect: "Allow",
        Principal: { Federated: PROVIDER_REF },
        Action: ["sts:AssumeRoleWithWebIdentity"],
        Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": ["sts.amazonaws.com"], "token.actions.githubusercontent.com:sub": ["repo:o/r:pull_request", "repo:o/r:ref:refs/heads/main"] } },
      },
    ]);
    expect(JSON.parse(deploy.assume_role_policy).Statement[0].Condition).toEqual({
      StringEquals: { "token.actions.githubusercontent.com:aud": ["sts.amazonaws.com"], "token.actions.githubusercontent.com:sub": ["repo:o/r:environment:production", "repo:o/r:environment:staging"] },
    });
    expect(roles.planSubjects).toEqual(["repo:o/r:pull_request", "repo:o/r:ref:refs/heads/main"]);
    expect(roles.deploySubjects).toEqual(["repo:o/r:environment:production", "repo:o/r:environment:staging"]);
  });

  test("a pull request's token satisfies the plan role's trust policy and not the deploy role's", () => {
    // GIVEN the token of a pull-request job, and of a job that names an environment
    const { plan, deploy } = synth();
    const pr = { provider: PROVIDER_REF, claims: githubClaims("o/r", { event: "pull_request", ref: "refs/pull/7/merge" }) };
    const deployJob = { provider: PROVIDER_REF, claims: githubClaims("o/r", { event: "push", ref: "refs/heads/main", environment: "production" }) };
    const nightly = { provider: PROVIDER_REF, claims: githubClaims("o/r", { event: "schedule", ref: "refs/heads/main" }) };

    // THEN
    expect(pr.claims.sub).toBe("repo:o/r:pull_request");
    expect(trustAllows(plan.assume_role_policy, pr)).toBe(true);
    expect(trustAllows(deploy.assume_role_policy, pr)).toBe(false);
    expect(trustAllows(plan.assume_role_policy, nightly)).toBe(true);
    expect(trustAllows(deploy.assume_role_policy, nightly)).toBe(false);
    expect(trustAllows(deploy.assume_role_policy, deployJob)).toBe(true);
    expect(trustAllows(plan.assume_role_policy, deployJob)).toBe(false);
  });

  test("no other repository, branch, audience or provider gets in", () => {
    const { plan, deploy } = synth();
    const token = (claims: Record<string, string>, provider = PROVIDER_REF) => ({ provider, claims: { aud: "sts.amazonaws.com", ...claims } });
    expect(trustAllows(plan.assume_role_policy, token({ sub: "repo:o/other:pull_request" }))).toBe(false);
    expect(trustAllows(plan.assume_role_policy, token({ sub: "repo:o/r:ref:refs/heads/feature" }))).toBe(false);
    expect(trustAllows(plan.assume_role_policy, token({ sub: "repo:o/r:pull_request", aud: "https://github.com/o" }))).toBe(false);
    expect(trustAllows(plan.assume_role_policy, token({ sub: "repo:o/r:pull_request" }, "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"))).toBe(false);
    expect(trustAllows(deploy.assume_role_policy, token({ sub: "repo:o/r:environment:staging" }))).toBe(false);
  });

  test("defaults: role names, ReadOnlyAccess for the plan role, main, one-hour sessions", () => {
    const { json, plan, deploy } = synth();
    expect(plan).toMatchObject({ name: "github-terraform-plan", max_session_duration: 3600 });
    expect(deploy).toMatchObject({ name: "github-terraform-deploy", max_session_duration: 3600 });
    expect(attachedTo(json, "PlanRole")).toEqual(["arn:${data.aws_partition.AwsContext_Partition_821FC74B.partition}:iam::aws:policy/ReadOnlyAccess"]);
    expect(attachedTo(json, "DeployRole")).toEqual(["arn:aws:iam::111111111111:policy/terraform-deploy"]);
  });

  test("maps names, branch, session length and plan policies", () => {
    const { json, plan, deploy } = synth({ planRoleName: "p", deployRoleName: "d", mainBranch: "trunk", maxSessionDuration: 7200, planPolicyArns: ["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"] });
    expect(JSON.parse(plan.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"]).toContain("repo:o/r:ref:refs/heads/trunk");
    expect([plan.max_session_duration, deploy.max_session_duration]).toEqual([7200, 7200]);
    expect(attachedTo(json, "PlanRole")).toEqual(["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]);
  });

  test("the plan role reads the states and writes only lock files; the deploy role reads and writes the states; lock table and key when given", () => {
    const { json } = synth({ state: { bucketName: "acme-tfstate", keyPrefix: "platform", lockTableName: "tf-locks", kmsKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/abc" } });
    const policies = Object.fromEntries(resources(json, "aws_iam_role_policy").map((p) => [p.name, JSON.parse(p.policy).Statement]));
    const bySid = (name: string) => Object.fromEntries(policies[name].map((s: any) => [s.Sid, { Action: s.Action, Resource: s.Resource }]));
    const s3 = "arn:${data.aws_partition.AwsContext_Partition_821FC74B.partition}:s3:::acme-tfstate";
    expect(bySid("terraform-state-read")).toEqual({
      StateList: { Action: ["s3:ListBucket"], Resource: [s3] },
      StateRead: { Action: ["s3:GetObject"], Resource: [`${s3}/platform/*`] },
      StateLock: { Action: ["s3:PutObject", "s3:DeleteObject"], Resource: [`${s3}/platform/*.tflock`] },
      LockTable: { Action: ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], Resource: [expect.stringMatching(/:dynamodb:\*:\$\{data\.aws_caller_identity\..*\}:table\/tf-locks$/)] },
      StateKey: { Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: ["arn:aws:kms:eu-west-1:111111111111:key/abc"] },
    });
    expect(bySid("terraform-state").StateReadWrite).toEqual({ Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: [`${s3}/platform/*`] });
  });

  test("passes the policy pack", () => {
    const stack = newStack();
    PolicyPack.applyTo(stack);
    new GithubActionsOidcRoles(stack, "Oidc", PROPS);
    expect(() => Testing.synth(stack, true)).not.toThrow();
  });

  test.each<[string, Partial<GithubActionsOidcRolesProps>, string]>([
    ["a repository without owner", { repository: "r" }, `repository "r" must be a GitHub repository as owner/name`],
    ["no GitHub environment", { githubEnvironments: [] }, `githubEnvironments [] must name at least one GitHub environment (the deploy role trusts only deploy jobs of these environments)`],
    ["a bad GitHub environment", { githubEnvironments: ["prod/eu"] }, `githubEnvironments[0] "prod/eu" must be a GitHub environment name: 1-255 letters, digits, space, '-', '_' or '.'`],
    ["no deploy policy", { deployPolicyArns: [] }, `deployPolicyArns [] must list at least one managed policy ARN`],
    ["a deploy policy that is no ARN", { deployPolicyArns: ["AdministratorAccess"] }, `deployPolicyArns[0] "AdministratorAccess" must be a managed policy ARN (arn:aws:iam::aws:policy/<name> or arn:aws:iam::<account>:policy/<name>)`],
    ["another provider's ARN", { oidcProviderArn: "arn:aws:iam::111111111111:oidc-provider/gitlab.com" }, `oidcProviderArn "arn:aws:iam::111111111111:oidc-provider/gitlab.com" must be the ARN of the account's GitHub OIDC provider (arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com)`],
    ["one name for both roles", { planRoleName: "ci", deployRoleName: "ci" }, `deployRoleName "ci" must differ from planRoleName (pull requests must not reach the deploy role)`],
    ["a wildcard branch", { mainBranch: "release/*" }, `mainBranch "release/*" must be a branch name of letters, digits and . _ / - (no wildcards: the subject is matched exactly)`],
    ["a short session", { maxSessionDuration: 60 }, `maxSessionDuration 60 must be a whole number of seconds from 3600 to 43200 (IAM's range)`],
    ["a bad bucket", { state: { bucketName: "Acme" } }, `state.bucketName "Acme" must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')`],
    ["a key prefix with a trailing slash", { state: { bucketName: "acme-tfstate", keyPrefix: "platform/" } }, `state.keyPrefix "platform/" must be an S3 key prefix without a leading or trailing '/' and without '*' or '?'`],
  ])("refuses %s in one line", (_what, props, rule) => {
    expect(problemsOf(props)).toEqual([`GithubActionsOidcRoles 'oidc': ${rule}`]);
  });

  test("collects every problem in one error", () => {
    expect(problemsOf({ repository: "r", githubEnvironments: [] })).toHaveLength(2);
  });
});
