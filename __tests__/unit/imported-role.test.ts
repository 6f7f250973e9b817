import { TerraformStack, Testing } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { EcrRepo } from "../../modules/ecr-repo";
import { CodeBuildServiceRole, ImportedRole } from "../../modules/service-role";
import { CodeBuildPrivilegedProject } from "../../modules/codebuild-privileged-project";
import { messageOf, newStack, only, ref, resources, statement, synthJson } from "../support/synth";

const ACCOUNT = "111111111111";
const TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

function pinnedStack(account = ACCOUNT): TerraformStack {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-central-1", allowedAccountIds: [account] });
  return stack;
}

describe("ImportedRole", () => {
  describe("fromRoleArn", () => {
    test("a role of the stack's account is mutable by default: the first grant attaches one inline policy to it", () => {
      // GIVEN
      const stack = pinnedStack();
      const role = CodeBuildServiceRole.fromRoleArn(stack, "Existing", `arn:aws:iam::${ACCOUNT}:role/platform/builder`);
      expect(resources(synthJson(stack), "aws_iam_role_policy")).toEqual([]);
      // WHEN
      role.grantLogs(`arn:aws:logs:eu-central-1:${ACCOUNT}:log-group:/aws/codebuild/x`);
      // THEN
      const json = synthJson(stack);
      const policy = only(json, "aws_iam_role_policy");
      expect(policy.role).toBe("builder");
      expect(policy.name).toMatch(/^cdktf-Existing-[0-9a-f]{8}$/);
      expect(statement(json, "Existing/PolicyDocument", "BuildLogs").actions).toEqual(["logs:CreateLogStream", "logs:PutLogEvents"]);
      expect(role.roleName).toBe("builder");
      expect(role.principalAccount).toBe(ACCOUNT);
      expect(resources(json, "aws_iam_role")).toEqual([]);
    });

    test("mutable false changes nothing on the role and grants return false", () => {
      const stack = pinnedStack();
      const role = CodeBuildServiceRole.fromRoleArn(stack, "Existing", `arn:aws:iam::${ACCOUNT}:role/builder`, { mutable: false });
      expect(role.grantLogs(`arn:aws:logs:eu-central-1:${ACCOUNT}:log-group:x`)).toBe(false);
      expect(resources(synthJson(stack), "aws_iam_role_policy")).toEqual([]);
    });

    test("a role of another account is immutable by default, and importing it adds no data source", () => {
      const stack = pinnedStack();
      const role = ImportedRole.fromRoleArn(stack, "Other", "arn:aws:iam::222222222222:role/app");
      expect(role.mutable).toBe(false);
      expect(synthJson(stack).data).toBeUndefined();
    });

    test("mutable true for a role of another account is refused", () => {
      expect(messageOf(() => ImportedRole.fromRoleArn(pinnedStack(), "Other", "arn:aws:iam::222222222222:role/app", { mutable: true }))).toBe(
        `ImportedRole 'Other': mutable true cannot be true for a role of account 222222222222: this stack deploys to account ${ACCOUNT}, whose provider cannot change it`,
      );
    });

    test("a string that is not a role ARN is refused", () => {
      expect(messageOf(() => ImportedRole.fromRoleArn(newStack(), "Bad", "arn:aws:iam::111111111111:user/alice"))).toBe(
        `ImportedRole 'Bad': roleArn "arn:aws:iam::111111111111:user/alice" must be an IAM role ARN (arn:aws:iam::<account>:role/[<path>/]<name>)`,
      );
    });

    test("a token ARN gets its role name from a Terraform expression", () => {
      const stack = newStack();
      const real = new IamRole(stack, "Real", { name: "x", assumeRolePolicy: TRUST });
      const role = ImportedRole.fromRoleArn(stack, "Existing", real.arn);
      expect(ref(stack, role.roleName)).toBe(`\${element(regex("[^/]+$", aws_iam_role.${stack.getLogicalId(real)}.arn), 0)}`);
    });

    test("an invalid policy name is refused", () => {
      expect(messageOf(() => ImportedRole.fromRoleArn(newStack(), "R", `arn:aws:iam::${ACCOUNT}:role/x`, { policyName: "a b" }))).toBe(
        `ImportedRole 'R': policyName "a b" must be 1-128 characters of letters, digits and +=,.@_- (IAM naming rules)`,
      );
    });
  });

  describe("fromRoleName", () => {
    test("reads the role's ARN (with its path) with an aws_iam_role data source", () => {
      const stack = newStack();
      const role = CodeBuildServiceRole.fromRoleName(stack, "Existing", "builder");
      const json = synthJson(stack);
      expect(Object.values(json.data.aws_iam_role)).toEqual([{ name: "builder" }]);
      expect(ref(stack, role.roleArn)).toMatch(/^\$\{data\.aws_iam_role\.Existing_Lookup_[0-9A-F]{8}\.arn\}$/);
    });

    test("an invalid name is refused", () => {
      expect(messageOf(() => ImportedRole.fromRoleName(newStack(), "R", "a b"))).toBe(
        `ImportedRole 'R': roleName "a b" must be 1-64 characters of letters, digits and +=,.@_- (IAM naming rules)`,
      );
    });
  });

  describe("fromIamRole", () => {
    test("makes any role of the app (an ECS task role) a grantee: pull lands in an inline policy of that role", () => {
      const stack = newStack();
      const taskRole = new IamRole(stack, "TaskRole", { name: "app-task", assumeRolePolicy: TRUST });
      const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      repo.grantPull(ImportedRole.fromIamRole(stack, "TaskRoleGrants", taskRole));
      const json = synthJson(stack);
      expect(only(json, "aws_iam_role_policy").role).toBe(`\${aws_iam_role.${stack.getLogicalId(taskRole)}.name}`);
      expect(statement(json, "TaskRoleGrants/PolicyDocument", "EcrPull").resources).toEqual([ref(stack, repo.repositoryArn)]);
    });
  });

  describe("as a project's role", () => {
    test("the project runs as the imported role, creates no role, and attaches its grants to it", () => {
      const stack = pinnedStack();
      const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      const role = CodeBuildServiceRole.fromRoleArn(stack, "Builder", `arn:aws:iam::${ACCOUNT}:role/builder`);
      new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo, role });
      const json = synthJson(stack);
      expect(only(json, "aws_codebuild_project").service_role).toBe(`arn:aws:iam::${ACCOUNT}:role/builder`);
      expect(resources(json, "aws_iam_role")).toEqual([]);
      expect(
        ["BuildLogs", "EcrAuthToken", "EcrPull", "EcrPush"].map((sid) => statement(json, "Builder/PolicyDocument", sid).sid),
      ).toEqual(["BuildLogs", "EcrAuthToken", "EcrPull", "EcrPush"]);
    });

    test("an immutable imported role gets nothing, and synth lists what its owner must grant", () => {
      const stack = pinnedStack();
      const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      const role = CodeBuildServiceRole.fromRoleArn(stack, "Builder", `arn:aws:iam::${ACCOUNT}:role/builder`, { mutable: false });
      new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo, role });
      expect(resources(synthJson(stack), "aws_iam_role_policy")).toEqual([]);
      const infos = role.node.metadata.filter((m) => m.type === "@cdktf/info").map((m) => String(m.data));
      expect(infos.some((i) => i.includes("its owner must allow logs:CreateLogStream, logs:PutLogEvents"))).toBe(true);
      expect(infos.some((i) => i.includes("ecr:PutImage"))).toBe(true);
      // The repository's account, region and name are known at synth: the line names its literal ARN, never a token.
      expect(infos.some((i) => new RegExp(`ecr:PutImage.* on arn:aws:ecr:eu-central-1:${ACCOUNT}:repository/team/app$`).test(i))).toBe(true);
      expect(infos.join("\n")).not.toContain("TfToken");
    });
  });
});

describe("ImportedRole in a stack whose account is unknown at synth", () => {
  test("a role named by a literal ARN is not changed unless mutable is set (its account cannot be confirmed)", () => {
    const stack = newStack();
    const role = ImportedRole.fromRoleArn(stack, "Existing", `arn:aws:iam::${ACCOUNT}:role/builder`);
    expect(role.mutable).toBe(false);
    expect(ImportedRole.fromRoleArn(stack, "Mine", `arn:aws:iam::${ACCOUNT}:role/builder`, { mutable: true }).mutable).toBe(true);
  });

  test("a role imported by name is of the stack's account, so it is mutable", () => {
    expect(ImportedRole.fromRoleName(newStack(), "Existing", "builder").mutable).toBe(true);
  });
});
