import { App, TerraformStack, Testing } from "cdktf";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { EcrRepo, RepositoryEncryption, TagMutability } from "../../modules/ecr-repo";
import { CodeBuildServiceRole, ImportedRole } from "../../modules/service-role";
import { PolicyPack } from "../../modules/policy-pack";
import { LibraryCopyError, sameCopy } from "../../modules/shared/one-copy";
import { AwsContext } from "../../modules/shared/aws-context";
import { ECR_PULL_ACTIONS, ECR_PUSH_ACTIONS } from "../../modules/shared/iam";
import { messageOf, newStack, only, ref, resources, statement, statementsOf, synthJson } from "../support/synth";

const TOOLS = "111111111111";
const WORKLOAD = "222222222222";
const TASK_ROLE_ARN = `arn:aws:iam::${WORKLOAD}:role/app-task`;
const TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

/** A stack whose provider pins its account (allowed_account_ids), so the account is known at synth. */
function accountStack(app: App, id: string, account: string, region = "eu-central-1"): TerraformStack {
  const stack = new TerraformStack(app, id);
  new AwsProvider(stack, "aws", { region, allowedAccountIds: [account] });
  return stack;
}

function infos(scope: Construct): string[] {
  return scope.node
    .findAll()
    .flatMap((c) => c.node.metadata)
    .filter((m) => m.type === "@cdktf/info")
    .map((m) => String(m.data));
}

describe("EcrRepo grants", () => {
  test("grantPullPush gives the pull and the push statements, and GetAuthorizationToken on *", () => {
    // GIVEN
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    const role = new CodeBuildServiceRole(stack, "Role");
    // WHEN
    repo.grantPullPush(role);
    // THEN
    const json = synthJson(stack);
    expect(statementsOf(json, "Role/PolicyDocument").map((s) => s.sid)).toEqual(["EcrAuthToken", "EcrPull", "EcrPush"]);
    expect(statement(json, "Role/PolicyDocument", "EcrPull").actions).toEqual([...ECR_PULL_ACTIONS].sort());
    expect(statement(json, "Role/PolicyDocument", "EcrPush").actions).toEqual([...ECR_PUSH_ACTIONS].sort());
  });

  test("push actions do not include the pull actions", () => {
    expect(ECR_PUSH_ACTIONS.filter((a) => (ECR_PULL_ACTIONS as readonly string[]).includes(a) && a !== "ecr:BatchCheckLayerAvailability")).toEqual([]);
  });

  test("a grant to a role of the same stack adds no repository policy", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    repo.grantPull(new CodeBuildServiceRole(stack, "Role"));
    expect(resources(synthJson(stack), "aws_ecr_repository_policy")).toEqual([]);
  });

  test("a grant to a role of another account names that role (not :root) in the repository policy and changes nothing on the role", () => {
    // GIVEN a repository in the tools account, a task role of the workload account
    const stack = accountStack(Testing.app(), "tools", TOOLS);
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    const taskRole = ImportedRole.fromRoleArn(stack, "TaskRole", TASK_ROLE_ARN);
    // WHEN
    repo.grantPull(taskRole);
    // THEN
    const json = synthJson(stack);
    expect(statement(json, "Repo/PullPolicyDocument", "CrossAccountEcrPull")).toEqual({
      sid: "CrossAccountEcrPull",
      effect: "Allow",
      actions: [...ECR_PULL_ACTIONS].sort(),
      principals: [{ type: "AWS", identifiers: [TASK_ROLE_ARN] }],
    });
    expect(resources(json, "aws_iam_role_policy")).toEqual([]);
    expect(taskRole.mutable).toBe(false);
    expect(infos(stack).join("\n")).toContain(`ImportedRole 'TaskRole' is not changed here (mutable: false): its owner must allow ecr:BatchCheckLayerAvailability`);
  });

  test("grants to two principals of other accounts share one statement per access level", () => {
    const stack = accountStack(Testing.app(), "tools", TOOLS);
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app", pullAccountIds: ["333333333333"] });
    repo.grantPull(ImportedRole.fromRoleArn(stack, "A", TASK_ROLE_ARN));
    repo.grantPull(ImportedRole.fromRoleArn(stack, "B", `arn:aws:iam::${WORKLOAD}:role/eks/app-pods`));
    repo.grantPush(ImportedRole.fromRoleArn(stack, "C", "arn:aws:iam::444444444444:role/ci"));
    const json = synthJson(stack);
    expect(statementsOf(json, "Repo/PullPolicyDocument").map((s) => [s.sid, s.principals[0].identifiers])).toEqual([
      ["CrossAccountPull", [`arn:${ref(stack, AwsContext.of(stack).partition)}:iam::333333333333:root`]],
      ["CrossAccountEcrPull", [TASK_ROLE_ARN, `arn:aws:iam::${WORKLOAD}:role/eks/app-pods`]],
      ["CrossAccountEcrPush", ["arn:aws:iam::444444444444:role/ci"]],
    ]);
    expect(only(json, "aws_ecr_repository_policy")).toBeDefined();
  });

  test("a grant to a role of the same, known account adds no repository policy", () => {
    const stack = accountStack(Testing.app(), "tools", TOOLS);
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    repo.grantPull(ImportedRole.fromRoleArn(stack, "Ci", `arn:aws:iam::${TOOLS}:role/ci`));
    const json = synthJson(stack);
    expect(resources(json, "aws_ecr_repository_policy")).toEqual([]);
    expect(only(json, "aws_iam_role_policy").role).toBe("ci");
  });

  test("one grant across stacks and accounts adds both sides with literal ARNs (no cross-stack reference)", () => {
    // GIVEN the repository in the tools stack, the workload's role imported by ARN in its own stack
    const app = Testing.app();
    const tools = accountStack(app, "tools", TOOLS);
    const workload = accountStack(app, "workload", WORKLOAD);
    const repo = new EcrRepo(tools, "Repo", { repositoryName: "team/app" });
    const taskRole = ImportedRole.fromRoleArn(workload, "TaskRole", TASK_ROLE_ARN);
    // WHEN
    repo.grantPull(taskRole);
    // THEN the workload stack's inline policy names the repository by its literal ARN
    const w = synthJson(workload);
    expect(statement(w, "TaskRole/PolicyDocument", "EcrPull").resources).toEqual([`arn:aws:ecr:eu-central-1:${TOOLS}:repository/team/app`]);
    expect(only(w, "aws_iam_role_policy").role).toBe("app-task");
    expect(JSON.stringify(w)).not.toContain("terraform_remote_state");
    // AND the tools stack's repository policy names the role
    const t = synthJson(tools);
    expect(statement(t, "Repo/PullPolicyDocument", "CrossAccountEcrPull").principals).toEqual([{ type: "AWS", identifiers: [TASK_ROLE_ARN] }]);
  });

  test("a cross-stack grant whose principal ARN is only known at apply fails with one line that says how to fix it", () => {
    const app = Testing.app();
    const tools = accountStack(app, "tools", TOOLS);
    const workload = accountStack(app, "workload", WORKLOAD);
    const repo = new EcrRepo(tools, "Repo", { repositoryName: "team/app" });
    const role = new IamRole(workload, "TaskRole", { name: "app-task", assumeRolePolicy: TRUST });
    expect(messageOf(() => repo.grantPull(ImportedRole.fromIamRole(workload, "Grants", role)))).toBe(
      "EcrRepo 'Repo': grantPull to workload/Grants crosses accounts (or stacks whose accounts are unknown at synth), so the repository policy must name the principal, " +
        "but its ARN is only known at apply: import the role by its literal ARN in the repository's stack (ImportedRole.fromRoleArn), or give both stacks' providers allowed_account_ids",
    );
  });

  test("a grant on a repository imported by ARN gives the grantee the literal ARN and notes what the owner must allow", () => {
    // GIVEN the workload stack, which imports the tools account's repository
    const workload = accountStack(Testing.app(), "workload", WORKLOAD);
    const repo = EcrRepo.fromRepositoryArn(workload, "Repo", `arn:aws:ecr:eu-central-1:${TOOLS}:repository/team/app`);
    const role = new IamRole(workload, "TaskRole", { name: "app-task", assumeRolePolicy: TRUST });
    // WHEN
    repo.grantPull(ImportedRole.fromIamRole(workload, "Grants", role));
    // THEN
    const json = synthJson(workload);
    expect(statement(json, "Grants/PolicyDocument", "EcrPull").resources).toEqual([`arn:aws:ecr:eu-central-1:${TOOLS}:repository/team/app`]);
    expect(resources(json, "aws_ecr_repository_policy")).toEqual([]);
    expect(resources(json, "aws_ecr_repository")).toEqual([]);
  });
});

describe("a grant either takes effect or fails synth: never a silent no-op", () => {
  const REPO_ARN = `arn:aws:ecr:eu-central-1:${TOOLS}:repository/team/app`;

  test("in a profile-based stack (no allowedAccountIds, no assumeRole), an imported repository's grantPull to an imported role of another account fails with the line naming allowedAccountIds and assumeRole", () => {
    // GIVEN a stack whose provider says nothing of its account (credentials from a profile)
    const stack = newStack();
    const repo = EcrRepo.fromRepositoryArn(stack, "Repo", REPO_ARN);
    // WHEN / THEN
    expect(messageOf(() => repo.grantPull(ImportedRole.fromRoleArn(stack, "TaskRole", TASK_ROLE_ARN)))).toBe(
      "EcrRepo import 'Repo': grantPull to test/TaskRole would change nothing: the repository is imported (its policy is not managed here), and " +
        `ImportedRole 'TaskRole' (account ${WORKLOAD}) is left unchanged because its stack's account is unknown at synth: ` +
        "set allowedAccountIds (or an assumeRole whose role ARN names the account) on the stack's AwsProvider, or import the role with { mutable: false } if its owner grants the access by hand",
    );
  });

  test("the same grant with the stack's account pinned takes effect: the role (of the stack's account) gets the pull statements", () => {
    const stack = accountStack(Testing.app(), "workload", WORKLOAD);
    EcrRepo.fromRepositoryArn(stack, "Repo", REPO_ARN).grantPull(ImportedRole.fromRoleArn(stack, "TaskRole", TASK_ROLE_ARN));
    expect(statement(synthJson(stack), "TaskRole/PolicyDocument", "EcrPull").resources).toEqual([REPO_ARN]);
  });

  test("mutable: false is the explicit opt-out (the owner grants by hand): no error, and synth says what each side must allow", () => {
    const stack = newStack();
    const repo = EcrRepo.fromRepositoryArn(stack, "Repo", REPO_ARN);
    repo.grantPull(ImportedRole.fromRoleArn(stack, "TaskRole", TASK_ROLE_ARN, { mutable: false }));
    expect(resources(synthJson(stack), "aws_iam_role_policy")).toEqual([]);
    expect(infos(stack).join("\n")).toContain("ImportedRole 'TaskRole' is not changed here (mutable: false): its owner must allow ecr:GetAuthorizationToken");
  });

  test("a managed repository in a profile-based stack still takes effect on its side: its policy names the role", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    repo.grantPull(ImportedRole.fromRoleArn(stack, "TaskRole", TASK_ROLE_ARN));
    expect(resources(synthJson(stack), "aws_ecr_repository_policy")).toHaveLength(1);
  });
});

describe("grantRead and grant with exact actions", () => {
  test("grantRead gives DescribeImages and DescribeRepositories on the repository, and no pull", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    repo.grantRead(new CodeBuildServiceRole(stack, "Role"));
    const json = synthJson(stack);
    expect(statement(json, "Role/PolicyDocument", "EcrRead").actions).toEqual(["ecr:DescribeImages", "ecr:DescribeRepositories"]);
    expect(statementsOf(json, "Role/PolicyDocument").map((s) => s.sid)).not.toContain("EcrPull");
  });

  test("grant(grantee, ...actions) grants exactly those actions, on both sides across accounts", () => {
    const app = Testing.app();
    const tools = accountStack(app, "tools", TOOLS);
    const repo = new EcrRepo(tools, "Repo", { repositoryName: "team/app" });
    repo.grant(ImportedRole.fromRoleArn(tools, "Scanner", TASK_ROLE_ARN), "ecr:DescribeImageScanFindings", "ecr:DescribeImages");
    const json = synthJson(tools);
    const policy = JSON.parse(only(json, "aws_ecr_repository_policy").policy);
    expect(policy.Statement).toEqual([{ Sid: "CrossAccountEcrActions", Effect: "Allow", Principal: { AWS: TASK_ROLE_ARN }, Action: ["ecr:DescribeImageScanFindings", "ecr:DescribeImages"] }]);
  });

  test("grant refuses wildcards, other services and no actions, in one line", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    const role = new CodeBuildServiceRole(stack, "Role");
    expect(messageOf(() => repo.grant(role, "ecr:*", "s3:GetObject"))).toBe(
      `EcrRepo 'Repo': grant actions ["ecr:*","s3:GetObject"] must be one or more exact ECR actions (ecr:<Action>, no wildcards); not: ecr:*, s3:GetObject`,
    );
    expect(messageOf(() => repo.grant(role))).toBe("EcrRepo 'Repo': grant actions [] must be one or more exact ECR actions (ecr:<Action>, no wildcards)");
  });
});

describe("EcrRepo imports", () => {
  test("fromRepositoryArn reads the name, registry, region and URL of a literal ARN of another account", () => {
    const stack = accountStack(Testing.app(), "workload", WORKLOAD);
    const repo = EcrRepo.fromRepositoryArn(stack, "Repo", `arn:aws:ecr:us-east-1:${TOOLS}:repository/team/app`);
    expect(repo.repositoryName).toBe("team/app");
    expect(repo.registryId).toBe(TOOLS);
    expect(repo.repositoryUrl).toBe(`${TOOLS}.dkr.ecr.us-east-1.amazonaws.com/team/app`);
    expect(repo.repositoryUriForTag("v1.2.3")).toBe(`${TOOLS}.dkr.ecr.us-east-1.amazonaws.com/team/app:v1.2.3`);
    expect(repo.repositoryUriForDigest(`sha256:${"a".repeat(64)}`)).toBe(`${TOOLS}.dkr.ecr.us-east-1.amazonaws.com/team/app@sha256:${"a".repeat(64)}`);
    expect(repo.tagMutability).toBeUndefined();
  });

  test("fromRepositoryArn of an ARN in the China partition uses its DNS suffix", () => {
    const repo = EcrRepo.fromRepositoryArn(newStack(), "Repo", `arn:aws-cn:ecr:cn-north-1:${TOOLS}:repository/app`);
    expect(repo.repositoryUrl).toBe(`${TOOLS}.dkr.ecr.cn-north-1.amazonaws.com.cn/app`);
  });

  test("fromRepositoryArn of a token ARN builds the name, registry and URL as Terraform expressions", () => {
    const stack = newStack();
    const real = new EcrRepo(stack, "Real", { repositoryName: "team/app" });
    const repo = EcrRepo.fromRepositoryArn(stack, "Repo", real.repositoryArn);
    const id = stack.getLogicalId(real.resource);
    expect(ref(stack, repo.registryId)).toBe(`\${element(split(":", aws_ecr_repository.${id}.arn), 4)}`);
    expect(ref(stack, repo.repositoryName)).toBe(`\${trimprefix(element(split(":", aws_ecr_repository.${id}.arn), 5), "repository/")}`);
  });

  test("fromRepositoryArn refuses a string that is not an ECR repository ARN", () => {
    expect(messageOf(() => EcrRepo.fromRepositoryArn(newStack(), "Repo", "arn:aws:s3:::bucket"))).toBe(
      `EcrRepo.fromRepositoryArn 'Repo': repositoryArn "arn:aws:s3:::bucket" must be an ECR repository ARN (arn:aws:ecr:<region>:<account>:repository/<name>)`,
    );
  });

  test("fromRepositoryName builds a literal ARN and URL when the stack's account and region are known", () => {
    const stack = accountStack(Testing.app(), "tools", TOOLS);
    const repo = EcrRepo.fromRepositoryName(stack, "Repo", "team/app");
    const context = AwsContext.of(stack);
    expect(ref(stack, repo.repositoryArn)).toBe(`arn:${ref(stack, context.partition)}:ecr:eu-central-1:${TOOLS}:repository/team/app`);
    expect(ref(stack, repo.repositoryUrl)).toBe(`${TOOLS}.dkr.ecr.eu-central-1.${ref(stack, context.dnsSuffix)}/team/app`);
    expect(resources(synthJson(stack), "aws_ecr_repository")).toEqual([]);
  });

  test("fromRepositoryName uses the provider's account and region at apply when they are not pinned", () => {
    const stack = newStack();
    const repo = EcrRepo.fromRepositoryName(stack, "Repo", "team/app");
    expect(ref(stack, repo.registryId)).toBe(ref(stack, AwsContext.of(stack).accountId));
    expect(ref(stack, repo.registryId)).toMatch(/^\$\{data\.aws_caller_identity\./);
  });

  test("fromRepositoryName refuses an invalid name", () => {
    expect(messageOf(() => EcrRepo.fromRepositoryName(newStack(), "Repo", "Team/App"))).toBe(
      `EcrRepo.fromRepositoryName 'Repo': repositoryName "Team/App" must be lowercase (ECR naming rules)`,
    );
  });

  test("fromRepositoryAttributes keeps the given URL, registry and tag mutability", () => {
    const repo = EcrRepo.fromRepositoryAttributes(newStack(), "Repo", {
      repositoryName: "team/app",
      repositoryArn: `arn:aws:ecr:eu-west-1:${TOOLS}:repository/team/app`,
      repositoryUrl: "mirror.example.com/team/app",
      tagMutability: TagMutability.IMMUTABLE,
    });
    expect(repo.repositoryUrl).toBe("mirror.example.com/team/app");
    expect(repo.registryId).toBe(TOOLS);
    expect(repo.tagMutability).toBe(TagMutability.IMMUTABLE);
  });

  test("fromRepositoryAttributes refuses a registry ID that is not 12 digits", () => {
    expect(
      messageOf(() =>
        EcrRepo.fromRepositoryAttributes(newStack(), "Repo", { repositoryName: "team/app", repositoryArn: `arn:aws:ecr:eu-west-1:${TOOLS}:repository/team/app`, registryId: "123" }),
      ),
    ).toBe(`EcrRepo.fromRepositoryAttributes 'Repo': registryId "123" must be an AWS account ID of exactly 12 digits`);
  });

  test("repositoryUriForTag refuses an invalid tag and repositoryUriForDigest an invalid digest", () => {
    const repo = EcrRepo.fromRepositoryArn(newStack(), "Repo", `arn:aws:ecr:eu-west-1:${TOOLS}:repository/team/app`);
    expect(messageOf(() => repo.repositoryUriForTag("-bad"))).toBe(
      `EcrRepo import 'Repo': repositoryUriForTag tag "-bad" must be 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'`,
    );
    expect(messageOf(() => repo.repositoryUriForDigest("sha256:abc"))).toBe(
      `EcrRepo import 'Repo': repositoryUriForDigest digest "sha256:abc" must be sha256: and 64 lowercase hex digits`,
    );
  });

  test("EcrRepo's URIs use its repository URL", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    expect(ref(stack, repo.repositoryUriForTag("v1"))).toBe(`\${aws_ecr_repository.${stack.getLogicalId(repo.resource)}.repository_url}:v1`);
  });
});

describe("EcrRepo encryption", () => {
  test("AES256 is written as the encryption type, without a key", () => {
    const stack = newStack();
    new EcrRepo(stack, "Repo", { repositoryName: "team/app", encryption: RepositoryEncryption.AES256 });
    expect(only(synthJson(stack), "aws_ecr_repository").encryption_configuration).toEqual([{ encryption_type: "AES256" }]);
  });

  test("KMS with a customer key passes the key", () => {
    const key = "arn:aws:kms:eu-central-1:111111111111:key/abcd";
    expect(Testing.synthScope((s) => new EcrRepo(s, "Repo", { repositoryName: "team/app", encryption: RepositoryEncryption.KMS, kmsKeyArn: key }))).toHaveResourceWithProperties(
      EcrRepository,
      { encryption_configuration: [{ encryption_type: "KMS", kms_key: key }] },
    );
  });

  test("a KMS key with AES256 is refused", () => {
    expect(
      messageOf(() => new EcrRepo(newStack(), "app", { repositoryName: "team/app", encryption: RepositoryEncryption.AES256, kmsKeyArn: "arn:aws:kms:eu-central-1:111111111111:key/abcd" })),
    ).toBe(`EcrRepo 'app': kmsKeyArn "arn:aws:kms:eu-central-1:111111111111:key/abcd" needs encryption KMS (AES256 uses keys ECR manages)`);
  });

  test("an unknown encryption is refused", () => {
    expect(messageOf(() => new EcrRepo(newStack(), "app", { repositoryName: "team/app", encryption: "DSSE" as RepositoryEncryption }))).toBe(
      `EcrRepo 'app': encryption "DSSE" must be KMS or AES256`,
    );
  });

  test("the policy pack fails synth on AES256 unless it is suppressed with a reason", () => {
    const aes = (suppress: boolean) => {
      const stack = newStack();
      PolicyPack.applyTo(stack);
      const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app", encryption: RepositoryEncryption.AES256 });
      if (suppress) PolicyPack.suppress(repo, "CKV_AWS_136", "adopted repository, created with AES256 before this module");
      return () => synthJson(stack);
    };
    expect(aes(false)).toThrow(/CKV_AWS_136 violated at test\/Repo\/Resource/);
    expect(aes(true)).not.toThrow();
  });
});

describe("one copy of cdktf and constructs", () => {
  test("a scope from another copy of constructs fails with one line that names the fix", () => {
    // GIVEN an app built with a second, separately loaded copy of cdktf and constructs
    let foreign: any;
    jest.isolateModules(() => {
      const cdktf = require("cdktf");
      foreign = new cdktf.TerraformStack(new cdktf.App(), "other");
    });
    // WHEN / THEN
    const message = messageOf(() => new EcrRepo(foreign, "Repo", { repositoryName: "team/app" }));
    expect(message.split("\n")).toHaveLength(1);
    expect(message).toMatch(/^EcrRepo 'Repo': the scope "other" comes from another copy of "constructs" than the one codebuild-docker-modules loads \(.*node_modules\/constructs\)/);
    expect(message).toContain('npm install --install-links <path>');
  });

  test("PolicyPack.applyTo refuses a stack of another copy instead of silently not running", () => {
    let foreign: any;
    jest.isolateModules(() => {
      const cdktf = require("cdktf");
      foreign = new cdktf.TerraformStack(new cdktf.App(), "other");
    });
    expect(() => PolicyPack.applyTo(foreign)).toThrow(LibraryCopyError);
  });

  test("a stack of another copy of cdktf (sharing constructs) is named as such", () => {
    const fakeStack = new Construct(new App(), "fake");
    Object.defineProperty(fakeStack, Symbol.for("cdktf/TerraformStack"), { value: true });
    expect(messageOf(() => sameCopy(fakeStack, "EcrRepo", "Repo"))).toMatch(/^EcrRepo 'Repo': the stack "fake" comes from another copy of "cdktf"/);
  });
});

describe("EcrRepo.fromRepositoryAttributes defaults", () => {
  test("without repositoryUrl, the URL is the ARN's registry host with the given name", () => {
    const repo = EcrRepo.fromRepositoryAttributes(newStack(), "Repo", {
      repositoryName: "team/app",
      repositoryArn: `arn:aws:ecr:eu-west-1:${TOOLS}:repository/team/app`,
    });
    expect(repo.repositoryUrl).toBe(`${TOOLS}.dkr.ecr.eu-west-1.amazonaws.com/team/app`);
    expect(repo.registryId).toBe(TOOLS);
    expect(repo.tagMutability).toBeUndefined();
  });
});
