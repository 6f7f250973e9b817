import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { CodeBuildServiceRole, CodeBuildServiceRoleProps } from "../../modules/service-role";
import { AwsContext } from "../../modules/shared/aws-context";
import { VPC_DESCRIBE_ACTIONS } from "../../modules/shared/iam";
import { messageOf, newStack, only, ref, statement, statementsOf, synthJson, synthScope } from "../support/synth";

function roleJson(props: CodeBuildServiceRoleProps = {}, grant?: (r: CodeBuildServiceRole) => void) {
  const stack = newStack();
  const role = new CodeBuildServiceRole(stack, "Role", props);
  (grant ?? ((r) => r.grantLogs("arn:aws:logs:eu-central-1:111111111111:log-group:/aws/codebuild/x")))(role);
  return { stack, role, json: synthJson(stack) };
}

function errorOf(props: CodeBuildServiceRoleProps): string {
  return messageOf(() => new CodeBuildServiceRole(newStack(), "Role", props));
}

function grantError(grant: (r: CodeBuildServiceRole) => void): string {
  const role = new CodeBuildServiceRole(newStack(), "Role");
  return messageOf(() => grant(role));
}

const LOG_GROUP = "arn:aws:logs:eu-central-1:111111111111:log-group:/aws/codebuild/x";

describe("CodeBuildServiceRole", () => {
  describe("defaults", () => {
    test("the trust policy admits only codebuild.amazonaws.com, conditioned on aws:SourceAccount", () => {
      const { stack, json } = roleJson();
      const [trust] = statementsOf(json, "Role/TrustPolicy");
      expect(trust.principals).toEqual([{ type: "Service", identifiers: ["codebuild.amazonaws.com"] }]);
      expect(trust.actions).toEqual(["sts:AssumeRole"]);
      expect(trust.condition).toEqual([
        { test: "StringEquals", variable: "aws:SourceAccount", values: [ref(stack, AwsContext.of(stack).accountId)] },
      ]);
    });

    test("the role name is generated from a cb-codebuild- prefix", () => {
      const r = only(roleJson().json, "aws_iam_role");
      expect(r.name_prefix).toBe("cb-codebuild-");
      expect(r.name).toBeUndefined();
    });

    test("path, description and session duration have their defaults", () => {
      expect(synthScope((s) => new CodeBuildServiceRole(s, "Role").grantLogs(LOG_GROUP))).toHaveResourceWithProperties(IamRole, {
        path: "/",
        description: "CodeBuild service role (least privilege, managed by cdktf)",
        max_session_duration: 3600,
      });
    });

    test("there is no permissions boundary", () => {
      expect(only(roleJson().json, "aws_iam_role").permissions_boundary).toBeUndefined();
    });

    test("the permissions are one inline policy on the role", () => {
      const { stack, role, json } = roleJson();
      expect(only(json, "aws_iam_role_policy")).toMatchObject({ name: "least-privilege", role: ref(stack, role.resource.id) });
      expect(json.resource.aws_iam_role_policy_attachment).toBeUndefined();
    });

    test("a role with no permission fails synth", () => {
      const stack = newStack();
      new CodeBuildServiceRole(stack, "Role");
      expect(() => synthJson(stack)).toThrow(
        "CodeBuildServiceRole 'Role': policy has no statements (a role with no permission cannot run a build; grant logs and ECR access, e.g. repo.grantPullPush(role))",
      );
    });
  });

  describe("props", () => {
    test("projectName adds an aws:SourceArn condition on that project", () => {
      const { stack, json } = roleJson({ projectName: "build-app" });
      const ctx = AwsContext.of(stack);
      const [trust] = statementsOf(json, "Role/TrustPolicy");
      expect(trust.condition[1]).toEqual({
        test: "ArnLike",
        variable: "aws:SourceArn",
        values: [`arn:${ref(stack, ctx.partition)}:codebuild:${ref(stack, ctx.region)}:${ref(stack, ctx.accountId)}:project/build-app`],
      });
    });

    test("projectName sets the name prefix", () => {
      expect(only(roleJson({ projectName: "build-app" }).json, "aws_iam_role").name_prefix).toBe("cb-build-app-");
    });

    test("a long projectName is cut to Terraform's 38-character prefix limit", () => {
      const prefix = only(roleJson({ projectName: "p".repeat(100) }).json, "aws_iam_role").name_prefix;
      expect(prefix).toHaveLength(38);
    });

    test("roleName sets a fixed name and no prefix", () => {
      const r = only(roleJson({ roleName: "ci-builder" }).json, "aws_iam_role");
      expect(r.name).toBe("ci-builder");
      expect(r.name_prefix).toBeUndefined();
    });

    test("accountId replaces the provider's account in the trust condition", () => {
      const [trust] = statementsOf(roleJson({ accountId: "111111111111" }).json, "Role/TrustPolicy");
      expect(trust.condition[0].values).toEqual(["111111111111"]);
    });

    test("path, description and permissionsBoundaryArn are passed through", () => {
      const boundary = "arn:aws:iam::111111111111:policy/boundary";
      expect(
        synthScope((s) =>
          new CodeBuildServiceRole(s, "Role", { path: "/ci/", description: "d", permissionsBoundaryArn: boundary }).grantLogs(LOG_GROUP),
        ),
      ).toHaveResourceWithProperties(IamRole, { path: "/ci/", description: "d", permissions_boundary: boundary });
    });

    test("tags are passed to the role", () => {
      expect(synthScope((s) => new CodeBuildServiceRole(s, "Role", { tags: { A: "b" } }).grantLogs(LOG_GROUP))).toHaveResourceWithProperties(
        IamRole,
        { tags: { A: "b" } },
      );
    });

    test("ssmParameterArns, secretArns and kmsKeyArns each become a read statement on exactly those ARNs", () => {
      const ssm = "arn:aws:ssm:eu-central-1:111111111111:parameter/app/url";
      const secret = "arn:aws:secretsmanager:eu-central-1:111111111111:secret:app-AbCdEf";
      const key = "arn:aws:kms:eu-central-1:111111111111:key/1234";
      const { json } = roleJson({ ssmParameterArns: [ssm], secretArns: [secret], kmsKeyArns: [key] });
      expect(statement(json, "Role/PolicyDocument", "SsmParameters")).toMatchObject({ actions: ["ssm:GetParameters"], resources: [ssm] });
      expect(statement(json, "Role/PolicyDocument", "Secrets")).toMatchObject({ actions: ["secretsmanager:GetSecretValue"], resources: [secret] });
      expect(statement(json, "Role/PolicyDocument", "KmsDecrypt")).toMatchObject({ actions: ["kms:Decrypt"], resources: [key] });
    });
  });

  describe("grants", () => {
    test("grantLogs allows creating streams and putting events in one log group only", () => {
      expect(statement(roleJson().json, "Role/PolicyDocument", "BuildLogs")).toEqual({
        sid: "BuildLogs",
        effect: "Allow",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [LOG_GROUP, `${LOG_GROUP}:log-stream:*`],
      });
    });

    test("grantS3Read and grantS3Write scope objects to the key pattern and bucket calls to the bucket", () => {
      const { stack, json } = roleJson({}, (r) => {
        r.grantS3Read("cache-bucket", "app/*");
        r.grantS3Write("cache-bucket", "app/*");
      });
      const p = ref(stack, AwsContext.of(stack).partition);
      expect(statement(json, "Role/PolicyDocument", "S3Read")).toMatchObject({
        actions: ["s3:GetObject", "s3:GetObjectVersion"],
        resources: [`arn:${p}:s3:::cache-bucket/app/*`],
      });
      expect(statement(json, "Role/PolicyDocument", "S3Write")).toMatchObject({ actions: ["s3:PutObject"], resources: [`arn:${p}:s3:::cache-bucket/app/*`] });
      expect(statement(json, "Role/PolicyDocument", "S3Bucket")).toMatchObject({
        actions: ["s3:GetBucketAcl", "s3:GetBucketLocation"],
        resources: [`arn:${p}:s3:::cache-bucket`],
      });
    });

    test("grantCodeCommitPull allows git pull on one repository", () => {
      const arn = "arn:aws:codecommit:eu-central-1:111111111111:app";
      expect(statement(roleJson({}, (r) => r.grantCodeCommitPull(arn)).json, "Role/PolicyDocument", "CodeCommitPull")).toMatchObject({
        actions: ["codecommit:GitPull"],
        resources: [arn],
      });
    });

    test("grantVpcAccess limits ENI creation to the subnets and groups, and ENI permission to CodeBuild", () => {
      const subnet = "arn:aws:ec2:eu-central-1:111111111111:subnet/subnet-12345678";
      const sg = "arn:aws:ec2:eu-central-1:111111111111:security-group/sg-12345678";
      const { stack, json } = roleJson({}, (r) => r.grantVpcAccess({ subnetArns: [subnet], securityGroupArns: [sg] }));
      const eni = AwsContext.of(stack).arn("ec2", "network-interface/*");
      expect(statement(json, "Role/PolicyDocument", "VpcEni").resources).toEqual([ref(stack, eni), subnet, sg]);
      expect(statement(json, "Role/PolicyDocument", "VpcEniPermission").condition).toEqual([
        { test: "StringEquals", variable: "ec2:AuthorizedService", values: ["codebuild.amazonaws.com"] },
        { test: "ArnEquals", variable: "ec2:Subnet", values: [subnet] },
      ]);
      const describe = statement(json, "Role/PolicyDocument", "VpcDescribe");
      expect(describe.actions).toEqual([...VPC_DESCRIBE_ACTIONS]);
      expect(describe.resources).toEqual(["*"]);
      expect(describe.condition).toEqual([
        { test: "StringEquals", variable: "aws:RequestedRegion", values: [ref(stack, AwsContext.of(stack).region)] },
      ]);
    });

    test("statements with the same sid merge their resources", () => {
      const { json } = roleJson({}, (r) => {
        r.grantSecretsRead(["arn:aws:secretsmanager:eu-central-1:111111111111:secret:a-AbCdEf"]);
        r.grantSecretsRead(["arn:aws:secretsmanager:eu-central-1:111111111111:secret:b-AbCdEf"]);
      });
      expect(statement(json, "Role/PolicyDocument", "Secrets").resources).toHaveLength(2);
    });

    test("a policy resource is rendered once however many grants are added", () => {
      expect(synthScope((s) => {
        const r = new CodeBuildServiceRole(s, "Role");
        r.grantLogs(LOG_GROUP);
        r.grantKmsDecrypt(["arn:aws:kms:eu-central-1:111111111111:key/1"]);
      })).toHaveResource(IamRolePolicy);
    });
  });

  describe("least privilege guards", () => {
    test("a wildcard action is refused", () => {
      expect(grantError((r) => r.addToPrincipalPolicy({ sid: "X", actions: ["s3:*"], resources: ["arn:aws:s3:::b/*"] }))).toBe(
        `CodeBuildServiceRole 'Role': statement "X" action "s3:*" must not contain a wildcard (name exact actions)`,
      );
    });

    test('"*" as the resource of an action that has ARNs is refused', () => {
      expect(grantError((r) => r.addToPrincipalPolicy({ sid: "X", actions: ["s3:GetObject"], resources: ["*"] }))).toBe(
        `CodeBuildServiceRole 'Role': statement "X" resource "*" for actions ["s3:GetObject"] is not allowed (only ecr:GetAuthorizationToken, ec2:DescribeDhcpOptions, ec2:DescribeNetworkInterfaces, ec2:DescribeSecurityGroups, ec2:DescribeSubnets, ec2:DescribeVpcs may use "*"; name exact ARNs)`,
      );
    });

    test("a statement without resources is refused", () => {
      expect(grantError((r) => r.addToPrincipalPolicy({ sid: "X", actions: ["s3:GetObject"], resources: [] }))).toBe(
        `CodeBuildServiceRole 'Role': statement "X" resources [] must name at least one ARN`,
      );
    });
  });

  describe("validation", () => {
    test("a role name with spaces is refused", () => {
      expect(errorOf({ roleName: "my role" })).toBe(
        `CodeBuildServiceRole 'Role': roleName "my role" must be 1-64 characters of letters, digits and +=,.@_- (IAM naming rules)`,
      );
    });

    test("a path without slashes is refused", () => {
      expect(errorOf({ path: "ci" })).toBe(`CodeBuildServiceRole 'Role': path "ci" must start and end with "/" (IAM path rules)`);
    });

    test("an account ID that is not 12 digits is refused", () => {
      expect(errorOf({ accountId: "1234" })).toBe(`CodeBuildServiceRole 'Role': accountId "1234" must be exactly 12 digits`);
    });

    test("a permissions boundary that is not a managed policy ARN is refused", () => {
      expect(errorOf({ permissionsBoundaryArn: "boundary" })).toBe(
        `CodeBuildServiceRole 'Role': permissionsBoundaryArn "boundary" must be an IAM managed policy ARN (arn:aws:iam::<account>:policy/<name>)`,
      );
    });

    test("a wildcard parameter ARN is refused", () => {
      expect(errorOf({ ssmParameterArns: ["*"] })).toBe(`CodeBuildServiceRole 'Role': ssmParameterArns[0] "*" must be an exact ssm ARN (no wildcards)`);
    });

    test("a secret ARN of another service is refused", () => {
      expect(errorOf({ secretArns: ["arn:aws:ssm:eu-central-1:111111111111:parameter/x"] })).toBe(
        `CodeBuildServiceRole 'Role': secretArns[0] "arn:aws:ssm:eu-central-1:111111111111:parameter/x" must be an exact secretsmanager ARN (no wildcards)`,
      );
    });

    test("a KMS key ARN ending in :* is refused", () => {
      expect(errorOf({ kmsKeyArns: ["arn:aws:kms:eu-central-1:111111111111:*"] })).toBe(
        `CodeBuildServiceRole 'Role': kmsKeyArns[0] "arn:aws:kms:eu-central-1:111111111111:*" must be an exact kms ARN (no wildcards)`,
      );
    });
  });
});
