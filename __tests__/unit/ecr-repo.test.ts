import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { EcrRepositoryPolicy } from "@cdktf/provider-aws/lib/ecr-repository-policy";
import { EcrLifecycleRules, EcrRepo, EcrRepoProps, TagMutability } from "../../modules/ecr-repo";
import { CodeBuildServiceRole } from "../../modules/service-role";
import { AwsContext } from "../../modules/shared/aws-context";
import { ECR_PULL_ACTIONS, ECR_PUSH_ACTIONS } from "../../modules/shared/iam";
import { messageOf, newStack, only, ref, resources, statement, synthJson, synthScope } from "../support/synth";

function repo(props: Partial<EcrRepoProps> = {}): string {
  return synthScope((scope) => new EcrRepo(scope, "Repo", { repositoryName: "team/app", ...props }));
}

function lifecycleRules(props: Partial<EcrRepoProps> = {}): any[] {
  const stack = newStack();
  new EcrRepo(stack, "Repo", { repositoryName: "team/app", ...props });
  return JSON.parse(only(synthJson(stack), "aws_ecr_lifecycle_policy").policy).rules;
}

function errorOf(props: Partial<EcrRepoProps>): string {
  return messageOf(() => new EcrRepo(newStack(), "app", { repositoryName: "team/app", ...props }));
}

describe("EcrRepo", () => {
  describe("defaults", () => {
    test("tags are immutable", () => {
      expect(repo()).toHaveResourceWithProperties(EcrRepository, { image_tag_mutability: "IMMUTABLE" });
    });

    test("images are scanned on push", () => {
      expect(repo()).toHaveResourceWithProperties(EcrRepository, { image_scanning_configuration: { scan_on_push: true } });
    });

    test("images are encrypted with KMS and the AWS managed key", () => {
      const stack = newStack();
      new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      const r = only(synthJson(stack), "aws_ecr_repository");
      expect(r.encryption_configuration).toEqual([{ encryption_type: "KMS" }]);
    });

    test("force delete is off", () => {
      expect(repo()).toHaveResourceWithProperties(EcrRepository, { force_delete: false });
    });

    test("the lifecycle policy expires untagged images after 7 days, then keeps the last 30 tagged images", () => {
      expect(lifecycleRules()).toEqual([
        {
          rulePriority: 1,
          description: "Expire untagged images 7 days after push",
          selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 7 },
          action: { type: "expire" },
        },
        {
          rulePriority: 2,
          description: "Keep the last 30 tagged images",
          selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: 30 },
          action: { type: "expire" },
        },
      ]);
    });

    test("no repository policy is created (no cross-account access)", () => {
      expect(repo()).not.toHaveResource(EcrRepositoryPolicy);
    });
  });

  describe("props", () => {
    test("repositoryName becomes the repository name", () => {
      expect(repo({ repositoryName: "a/b/c" })).toHaveResourceWithProperties(EcrRepository, { name: "a/b/c" });
    });

    test("tagMutability MUTABLE is passed through", () => {
      expect(repo({ tagMutability: TagMutability.MUTABLE })).toHaveResourceWithProperties(EcrRepository, {
        image_tag_mutability: "MUTABLE",
      });
    });

    test("scanOnPush false turns the scan off", () => {
      expect(repo({ scanOnPush: false })).toHaveResourceWithProperties(EcrRepository, {
        image_scanning_configuration: { scan_on_push: false },
      });
    });

    test("kmsKeyArn selects a customer managed key", () => {
      const arn = "arn:aws:kms:eu-central-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
      expect(repo({ kmsKeyArn: arn })).toHaveResourceWithProperties(EcrRepository, {
        encryption_configuration: [{ encryption_type: "KMS", kms_key: arn }],
      });
    });

    test("forceDelete true is passed through", () => {
      expect(repo({ forceDelete: true })).toHaveResourceWithProperties(EcrRepository, { force_delete: true });
    });

    test("keepTaggedImages and untaggedImageExpiryDays set the two default rules", () => {
      const rules = lifecycleRules({ keepTaggedImages: 5, untaggedImageExpiryDays: 1 });
      expect(rules.map((r) => r.selection.countNumber)).toEqual([1, 5]);
    });

    test("lifecycleRules replace the default rules", () => {
      const rules = lifecycleRules({ lifecycleRules: [EcrLifecycleRules.keepLastTagged(3, 1)] });
      expect(rules).toEqual([EcrLifecycleRules.keepLastTagged(3, 1)]);
    });

    test("an empty lifecycleRules list creates no lifecycle policy", () => {
      expect(repo({ lifecycleRules: [] })).not.toHaveResource(EcrLifecyclePolicy);
    });

    test("pullAccountIds grant pull to those accounts' root principals", () => {
      const stack = newStack();
      new EcrRepo(stack, "Repo", { repositoryName: "team/app", pullAccountIds: ["111111111111", "222222222222"] });
      const json = synthJson(stack);
      expect(resources(json, "aws_ecr_repository_policy")).toHaveLength(1);
      const s = statement(json, "Repo/PullPolicyDocument", "CrossAccountPull");
      expect(s.actions).toEqual([...ECR_PULL_ACTIONS]);
      const partition = ref(stack, AwsContext.of(stack).partition);
      expect(s.principals[0].identifiers).toEqual([
        `arn:${partition}:iam::111111111111:root`,
        `arn:${partition}:iam::222222222222:root`,
      ]);
    });

    test("pullOrganizationId grants pull under an aws:PrincipalOrgID condition", () => {
      const stack = newStack();
      new EcrRepo(stack, "Repo", { repositoryName: "team/app", pullOrganizationId: "o-abcdefghij" });
      const s = statement(synthJson(stack), "Repo/PullPolicyDocument", "OrganizationPull");
      expect(s.condition).toEqual([{ test: "StringEquals", variable: "aws:PrincipalOrgID", values: ["o-abcdefghij"] }]);
      expect(s.actions).toEqual([...ECR_PULL_ACTIONS]);
    });

    test("tags are passed to the repository", () => {
      expect(repo({ tags: { Team: "platform" } })).toHaveResourceWithProperties(EcrRepository, { tags: { Team: "platform" } });
    });
  });

  describe("attributes and grants", () => {
    test("attributes come from the Resource child", () => {
      const stack = newStack();
      const r = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      expect(r.resource.node.id).toBe("Resource");
      const id = stack.getLogicalId(r.resource);
      expect(ref(stack, r.repositoryUrl)).toBe(`\${aws_ecr_repository.${id}.repository_url}`);
      expect(ref(stack, r.repositoryArn)).toBe(`\${aws_ecr_repository.${id}.arn}`);
      expect(ref(stack, r.registryId)).toBe(`\${aws_ecr_repository.${id}.registry_id}`);
      expect(ref(stack, r.repositoryName)).toBe(`\${aws_ecr_repository.${id}.name}`);
    });

    test("grantPush gives push actions on the repository and GetAuthorizationToken on *", () => {
      const stack = newStack();
      const r = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      const role = new CodeBuildServiceRole(stack, "Role");
      r.grantPush(role);
      const json = synthJson(stack);
      expect(statement(json, "Role/PolicyDocument", "EcrPush")).toMatchObject({
        actions: [...ECR_PUSH_ACTIONS].sort(),
        resources: [ref(stack, r.repositoryArn)],
      });
      expect(statement(json, "Role/PolicyDocument", "EcrAuthToken")).toMatchObject({
        actions: ["ecr:GetAuthorizationToken"],
        resources: ["*"],
      });
    });

    test("grantPull gives only the pull actions on the repository", () => {
      const stack = newStack();
      const r = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      const role = new CodeBuildServiceRole(stack, "Role");
      r.grantPull(role);
      expect(statement(synthJson(stack), "Role/PolicyDocument", "EcrPull")).toMatchObject({
        actions: [...ECR_PULL_ACTIONS].sort(),
        resources: [ref(stack, r.repositoryArn)],
      });
    });

    test("granting push on two repositories merges them into one statement", () => {
      const stack = newStack();
      const role = new CodeBuildServiceRole(stack, "Role");
      new EcrRepo(stack, "A", { repositoryName: "team/a" }).grantPush(role);
      new EcrRepo(stack, "B", { repositoryName: "team/b" }).grantPush(role);
      expect(statement(synthJson(stack), "Role/PolicyDocument", "EcrPush").resources).toHaveLength(2);
    });
  });

  describe("validation", () => {
    test("an uppercase name is refused", () => {
      expect(errorOf({ repositoryName: "My_Repo" })).toBe(
        `EcrRepo 'app': repositoryName "My_Repo" must be lowercase (ECR naming rules)`,
      );
    });

    test("a one-character name is refused", () => {
      expect(errorOf({ repositoryName: "a" })).toBe(`EcrRepo 'app': repositoryName "a" must be 2-256 characters long (ECR naming rules)`);
    });

    test("a name with an empty namespace part is refused", () => {
      expect(errorOf({ repositoryName: "team//app" })).toBe(
        `EcrRepo 'app': repositoryName "team//app" must be parts of letters and digits separated by single '.', '_' or '-', with optional 'namespace/' prefixes (ECR naming rules)`,
      );
    });

    test("a KMS key that is not an ARN is refused", () => {
      expect(errorOf({ kmsKeyArn: "alias/ecr" })).toBe(
        `EcrRepo 'app': kmsKeyArn "alias/ecr" must be a KMS key or alias ARN (arn:aws:kms:<region>:<account>:key/<id>)`,
      );
    });

    test("keepTaggedImages below 1 is refused", () => {
      expect(errorOf({ keepTaggedImages: 0 })).toBe(`EcrRepo 'app': keepTaggedImages 0 must be a whole number from 1 to 10000 images`);
    });

    test("untaggedImageExpiryDays that is not whole is refused", () => {
      expect(errorOf({ untaggedImageExpiryDays: 1.5 })).toBe(
        `EcrRepo 'app': untaggedImageExpiryDays 1.5 must be a whole number from 1 to 3650 days`,
      );
    });

    test("an account ID that is not 12 digits is refused", () => {
      expect(errorOf({ pullAccountIds: ["12345"] })).toBe(
        `EcrRepo 'app': pullAccountIds[0] "12345" must be an AWS account ID of exactly 12 digits`,
      );
    });

    test("a malformed organization ID is refused", () => {
      expect(errorOf({ pullOrganizationId: "org-1" })).toBe(
        `EcrRepo 'app': pullOrganizationId "org-1" must be an AWS Organization ID ("o-" and 10-32 lowercase letters or digits)`,
      );
    });

    test("tagMutability outside the enum is refused", () => {
      expect(errorOf({ tagMutability: "SOMETIMES" as TagMutability })).toBe(
        `EcrRepo 'app': tagMutability "SOMETIMES" must be IMMUTABLE or MUTABLE`,
      );
    });

    test("duplicate lifecycle rule priorities are refused", () => {
      expect(
        errorOf({ lifecycleRules: [EcrLifecycleRules.keepLastTagged(3, 1), EcrLifecycleRules.expireUntaggedAfterDays(3, 1)] }),
      ).toBe(`EcrRepo 'app': lifecycleRules rulePriority [1,1] must be unique`);
    });

    test('a tagStatus "any" rule that is not last is refused', () => {
      const anyRule = {
        rulePriority: 1,
        description: "x",
        selection: { tagStatus: "any" as const, countType: "imageCountMoreThan" as const, countNumber: 100 },
        action: { type: "expire" as const },
      };
      expect(errorOf({ lifecycleRules: [anyRule, EcrLifecycleRules.keepLastTagged(3, 2)] })).toBe(
        `EcrRepo 'app': lifecycleRules rulePriority 1 of the tagStatus "any" rule must be the highest (ECR lifecycle rules)`,
      );
    });

    test("all problems are reported at once, one line each", () => {
      expect(errorOf({ repositoryName: "A", keepTaggedImages: 0 }).split("\n")).toEqual([
        `EcrRepo 'app': repositoryName "A" must be 2-256 characters long (ECR naming rules)`,
        `EcrRepo 'app': repositoryName "A" must be lowercase (ECR naming rules)`,
        `EcrRepo 'app': keepTaggedImages 0 must be a whole number from 1 to 10000 images`,
      ]);
    });

    test("unresolved tokens are not checked", () => {
      const stack = newStack();
      const other = new EcrRepo(stack, "Other", { repositoryName: "team/other" });
      expect(() => new EcrRepo(stack, "Repo", { repositoryName: other.repositoryName })).not.toThrow();
    });
  });
});
