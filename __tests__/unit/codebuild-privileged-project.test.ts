import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CodebuildProject } from "@cdktf/provider-aws/lib/codebuild-project";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { Lazy, TerraformStack } from "cdktf";
import {
  BuildSpec,
  CodeBuildPrivilegedProject,
  CodeBuildPrivilegedProjectProps,
  CodeBuildServiceRole,
  EcrRepo,
  EnvironmentVariableType,
  TagMutability,
} from "../../modules";
import { AwsContext } from "../../modules/shared/aws-context";
import { ECR_PULL_ACTIONS, ECR_PUSH_ACTIONS } from "../../modules/shared/iam";
import { messageOf, newStack, only, ref, resources, statement, statementsOf, synthJson, Synthesized } from "../support/synth";
import { expectedInlined, terraformEscaped as escaped, terraformUnescaped } from "../support/buildspecs";
import { parseBuildspec } from "../../scripts/build-runner/runner";

/** docker-push-ecr.yml with scripts/ecr-image.sh embedded, as the project inlines it. */
const BUILDSPEC = expectedInlined("docker-push-ecr.yml");

interface Built {
  stack: TerraformStack;
  repo: EcrRepo;
  project: CodeBuildPrivilegedProject;
  json: Synthesized;
  cb: any;
}

function build(props: Partial<CodeBuildPrivilegedProjectProps> = {}, repoProps: Partial<ConstructorParameters<typeof EcrRepo>[2]> = {}): Built {
  const stack = newStack();
  const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app", ...repoProps });
  const project = new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo, ...props });
  const json = synthJson(stack);
  return { stack, repo, project, json, cb: only(json, "aws_codebuild_project") };
}

/** An S3 source bundle, for tests about something else than the source. */
const S3_SOURCE = { type: "S3", bucketName: "sources-bucket", objectKey: "app/source.zip" } as const;

/** The synth warnings of the project. */
function warningsOf(b: Built): unknown[] {
  return b.project.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => m.data);
}

function envVar(b: Built, name: string): any {
  return b.cb.environment.environment_variable.find((v: any) => v.name === name);
}

function errorOf(props: Partial<CodeBuildPrivilegedProjectProps>): string {
  const stack = newStack();
  const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
  return messageOf(() => new CodeBuildPrivilegedProject(stack, "build", { projectName: "build-app", repository: repo, ...props }));
}

describe("CodeBuildPrivilegedProject", () => {
  describe("defaults", () => {
    test("runs on the Amazon Linux 2 standard 5.0 managed image, pulled with CodeBuild credentials", () => {
      expect(build().cb.environment).toMatchObject({
        image: "aws/codebuild/amazonlinux2-x86_64-standard:5.0",
        image_pull_credentials_type: "CODEBUILD",
        type: "LINUX_CONTAINER",
      });
    });

    test("privileged mode is on", () => {
      expect(build().cb.environment.privileged_mode).toBe(true);
    });

    test("compute type is BUILD_GENERAL1_SMALL", () => {
      expect(build().cb.environment.compute_type).toBe("BUILD_GENERAL1_SMALL");
    });

    test("build timeout is 60 minutes and queued timeout 480 minutes", () => {
      expect(build().cb).toMatchObject({ build_timeout: 60, queued_timeout: 480 });
    });

    test("the sample variables come from the stack and the repository; no IMAGE_TAG: each build pushes only a tag of its own", () => {
      const b = build();
      const ctx = AwsContext.of(b.stack);
      expect(b.cb.environment.environment_variable).toEqual([
        { name: "AWS_DEFAULT_REGION", value: ref(b.stack, ctx.region), type: "PLAINTEXT" },
        { name: "AWS_ACCOUNT_ID", value: ref(b.stack, b.repo.registryId), type: "PLAINTEXT" },
        { name: "IMAGE_REPO_NAME", value: ref(b.stack, b.repo.repositoryName), type: "PLAINTEXT" },
        { name: "DOCKERFILE", value: "Dockerfile", type: "PLAINTEXT" },
        { name: "DOCKER_BUILD_CONTEXT", value: ".", type: "PLAINTEXT" },
      ]);
    });

    test("imageTag sets IMAGE_TAG, the fixed tag pushed besides the build's own", () => {
      const b = build({ imageTag: "latest", source: S3_SOURCE }, { tagMutability: TagMutability.MUTABLE });
      expect(envVar(b, "IMAGE_TAG")).toEqual({ name: "IMAGE_TAG", value: "latest", type: "PLAINTEXT" });
      expect(warningsOf(b)).toEqual([]);
    });

    test("the default (no fixed tag) on an IMMUTABLE repository produces no warning: every build can push", () => {
      expect(warningsOf(build({ source: S3_SOURCE }))).toEqual([]);
    });

    test("the build reads the Dockerfile at the source root (DOCKERFILE is Dockerfile)", () => {
      expect(envVar(build(), "DOCKERFILE")).toEqual({ name: "DOCKERFILE", value: "Dockerfile", type: "PLAINTEXT" });
    });

    test("the build context is the source root (DOCKER_BUILD_CONTEXT is .)", () => {
      expect(envVar(build(), "DOCKER_BUILD_CONTEXT")).toEqual({ name: "DOCKER_BUILD_CONTEXT", value: ".", type: "PLAINTEXT" });
    });

    test("the source is NO_SOURCE with the bundled docker-push-ecr.yml inlined, ecr-image.sh embedded in it (template sequences escaped)", () => {
      expect(build().cb.source).toEqual({ type: "NO_SOURCE", buildspec: escaped(BUILDSPEC) });
    });

    test("the inlined buildspec's commands use no file of this repository: every step runs the embedded script", () => {
      const spec = parseBuildspec(terraformUnescaped(build().cb.source.buildspec));
      const commands = Object.values(spec.phases).flatMap((p) => p?.commands ?? []);
      expect(commands.filter((c) => c.includes("buildspecs/"))).toEqual([]);
      expect(commands.filter((c) => c.startsWith("sh "))).toEqual(["check", "login", "build", "push", "scan-gate"].map((step) => `sh "$ECR_IMAGE_SH" ${step}`));
    });

    test("a log group /aws/codebuild/<project> keeps logs 30 days and the project writes to it", () => {
      const b = build();
      expect(only(b.json, "aws_cloudwatch_log_group")).toMatchObject({ name: "/aws/codebuild/build-app", retention_in_days: 30 });
      expect(only(b.json, "aws_cloudwatch_log_group").kms_key_id).toBeUndefined();
      expect(b.cb.logs_config).toEqual({
        cloudwatch_logs: { status: "ENABLED", group_name: ref(b.stack, b.project.logGroup.name) },
        s3_logs: { status: "DISABLED" },
      });
    });

    test("the cache is LOCAL with Docker layer and source modes", () => {
      expect(build().cb.cache).toEqual({ type: "LOCAL", modes: ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"] });
    });

    test("no badge, no VPC, no concurrency limit, no artifacts, no tags of its own", () => {
      const { cb, json } = build();
      expect(cb.tags).toBeUndefined();
      expect(only(json, "aws_iam_role").tags).toBeUndefined();
      expect(cb.badge_enabled).toBe(false);
      expect(cb.vpc_config).toBeUndefined();
      expect(cb.concurrent_build_limit).toBeUndefined();
      expect(cb.artifacts).toEqual({ type: "NO_ARTIFACTS" });
    });

    test("the description names the repository", () => {
      const b = build();
      expect(b.cb.description).toBe(`Builds ${ref(b.stack, b.repo.repositoryName)} with Docker (managed by cdktf)`);
    });

    test("a role bound to this project is created and used", () => {
      const b = build();
      expect(b.project.role.node.scope).toBe(b.project);
      expect(b.cb.service_role).toBe(ref(b.stack, b.project.role.roleArn));
      expect(only(b.json, "aws_iam_role").name_prefix).toBe("cb-build-app-");
    });

    test("the role may pull from and push to the repository and write to the project's log group, nothing else", () => {
      const b = build();
      expect(statementsOf(b.json, "Build/Role/PolicyDocument").map((s) => s.sid)).toEqual(["BuildLogs", "EcrAuthToken", "EcrPull", "EcrPush"]);
      expect(statement(b.json, "Build/Role/PolicyDocument", "EcrPull")).toMatchObject({
        actions: [...ECR_PULL_ACTIONS].sort(),
        resources: [ref(b.stack, b.repo.repositoryArn)],
      });
      expect(statement(b.json, "Build/Role/PolicyDocument", "EcrPush")).toMatchObject({
        actions: [...ECR_PUSH_ACTIONS].sort(),
        resources: [ref(b.stack, b.repo.repositoryArn)],
      });
      expect(statement(b.json, "Build/Role/PolicyDocument", "BuildLogs").resources[0]).toBe(ref(b.stack, b.project.logGroup.arn));
    });

    test("an IMMUTABLE repository with a fixed IMAGE_TAG produces a synth warning", () => {
      const b = build({ source: S3_SOURCE, imageTag: "latest" });
      expect(warningsOf(b)).toEqual([
        'IMAGE_TAG "latest" is pushed on every build, but the repository\'s tags are IMMUTABLE: only the first build can push it. ' +
          "Leave imageTag unset (each build pushes a tag of its own), or set the repository's tagMutability to MUTABLE on purpose.",
      ]);
    });

    test("a MUTABLE repository produces no warning", () => {
      const b = build({ source: S3_SOURCE, imageTag: "latest" }, { tagMutability: TagMutability.MUTABLE });
      expect(b.project.node.metadata.filter((m) => m.type === "@cdktf/warn")).toEqual([]);
    });

    test("no source with the bundled buildspec produces a synth warning: no build could find the Dockerfile", () => {
      // GIVEN a project without a source (NO_SOURCE, the default) and the bundled buildspec
      const b = build({ dockerfile: "docker/Dockerfile" }, { tagMutability: TagMutability.MUTABLE });

      // THEN
      expect(warningsOf(b)).toEqual([
        'source is NO_SOURCE (not set), but the bundled buildspec builds the Dockerfile "docker/Dockerfile" of the source: every build fails at its check step. ' +
          "Set source (GITHUB, CODECOMMIT or S3), or a buildSpec that fetches what it builds.",
      ]);
    });

    test("an explicit NO_SOURCE with the bundled buildspec produces the same warning", () => {
      const b = build({ source: { type: "NO_SOURCE" } }, { tagMutability: TagMutability.MUTABLE });
      expect(warningsOf(b)).toEqual([
        'source is NO_SOURCE, but the bundled buildspec builds the Dockerfile "Dockerfile" of the source: every build fails at its check step. ' +
          "Set source (GITHUB, CODECOMMIT or S3), or a buildSpec that fetches what it builds.",
      ]);
    });

    test("NO_SOURCE with a buildspec of its own produces no warning", () => {
      const b = build({ buildSpec: BuildSpec.fromInline("version: 0.2\nphases:\n  build:\n    commands:\n      - git clone https://example.com/app.git\n") }, { tagMutability: TagMutability.MUTABLE });
      expect(warningsOf(b)).toEqual([]);
    });
  });

  describe("props", () => {
    test("image selects another managed image; an aarch64 image runs on ARM_CONTAINER", () => {
      const { cb } = build({ image: "aws/codebuild/amazonlinux2-aarch64-standard:3.0" });
      expect(cb.environment).toMatchObject({ image: "aws/codebuild/amazonlinux2-aarch64-standard:3.0", type: "ARM_CONTAINER" });
    });

    test("environmentType overrides the derived container type", () => {
      expect(build({ environmentType: "ARM_CONTAINER" }).cb.environment.type).toBe("ARM_CONTAINER");
    });

    test("computeType, timeouts, concurrency and description are passed through", () => {
      const { cb } = build({
        computeType: "BUILD_GENERAL1_LARGE",
        buildTimeoutMinutes: 30,
        queuedTimeoutMinutes: 60,
        concurrentBuildLimit: 2,
        description: "d ${x}",
      });
      expect(cb).toMatchObject({ build_timeout: 30, queued_timeout: 60, concurrent_build_limit: 2, description: "d $${x}" });
      expect(cb.environment.compute_type).toBe("BUILD_GENERAL1_LARGE");
    });

    test("imageTag sets IMAGE_TAG", () => {
      expect(envVar(build({ imageTag: "v1.2.3" }), "IMAGE_TAG").value).toBe("v1.2.3");
    });

    test("dockerfile sets DOCKERFILE and buildContext sets DOCKER_BUILD_CONTEXT", () => {
      const b = build({ dockerfile: "images/app/Dockerfile.prod", buildContext: "services/app" });
      expect(envVar(b, "DOCKERFILE")).toEqual({ name: "DOCKERFILE", value: "images/app/Dockerfile.prod", type: "PLAINTEXT" });
      expect(envVar(b, "DOCKER_BUILD_CONTEXT")).toEqual({ name: "DOCKER_BUILD_CONTEXT", value: "services/app", type: "PLAINTEXT" });
    });

    test("dockerfile and buildContext reach the build with template sequences escaped", () => {
      const b = build({ dockerfile: "${x}/Dockerfile", buildContext: "${x}" });
      expect(envVar(b, "DOCKERFILE").value).toBe("$${x}/Dockerfile");
      expect(envVar(b, "DOCKER_BUILD_CONTEXT").value).toBe("$${x}");
    });

    test("dockerfile and buildContext that are tokens are not checked at synth", () => {
      const b = build({ dockerfile: Lazy.stringValue({ produce: () => "../Dockerfile" }), buildContext: Lazy.stringValue({ produce: () => "" }) });
      expect(envVar(b, "DOCKERFILE").value).toBe("../Dockerfile");
      expect(envVar(b, "DOCKER_BUILD_CONTEXT").value).toBe("");
    });

    test("logRetentionDays and logKmsKeyArn configure the log group", () => {
      const key = "arn:aws:kms:eu-central-1:111111111111:key/1234";
      expect(only(build({ logRetentionDays: 365, logKmsKeyArn: key }).json, "aws_cloudwatch_log_group")).toMatchObject({
        retention_in_days: 365,
        kms_key_id: key,
      });
    });

    test("a PLAINTEXT variable is passed with template sequences escaped", () => {
      const b = build({ environmentVariables: { GREETING: { value: "hi ${USER}" } } });
      expect(envVar(b, "GREETING")).toEqual({ name: "GREETING", value: "hi $${USER}", type: "PLAINTEXT" });
    });

    test("a PARAMETER_STORE variable grants ssm:GetParameters on that parameter only", () => {
      const b = build({ environmentVariables: { DB_URL: { value: "/app/db-url", type: EnvironmentVariableType.PARAMETER_STORE } } });
      expect(envVar(b, "DB_URL")).toEqual({ name: "DB_URL", value: "/app/db-url", type: "PARAMETER_STORE" });
      const ctx = AwsContext.of(b.stack);
      expect(statement(b.json, "Build/Role/PolicyDocument", "SsmParameters").resources).toEqual([ref(b.stack, ctx.arn("ssm", "parameter/app/db-url"))]);
    });

    test("a SECRETS_MANAGER variable by name grants read on that secret's ARN pattern", () => {
      const b = build({ environmentVariables: { DB_PASSWORD: { value: "prod/db:password", type: EnvironmentVariableType.SECRETS_MANAGER } } });
      const ctx = AwsContext.of(b.stack);
      expect(statement(b.json, "Build/Role/PolicyDocument", "Secrets").resources).toEqual([ref(b.stack, ctx.arn("secretsmanager", "secret:prod/db-??????"))]);
    });

    test("a SECRETS_MANAGER variable by ARN with a JSON key grants read on the bare secret ARN", () => {
      const arn = "arn:aws:secretsmanager:eu-central-1:111111111111:secret:db-AbCdEf";
      const b = build({ environmentVariables: { DB_PASSWORD: { value: `${arn}:password::`, type: EnvironmentVariableType.SECRETS_MANAGER } } });
      expect(statement(b.json, "Build/Role/PolicyDocument", "Secrets").resources).toEqual([arn]);
    });

    test("a GITHUB source maps location, clone depth, status reporting and branch", () => {
      const { cb } = build({
        source: { type: "GITHUB", location: "https://github.com/org/app.git", branch: "main", cloneDepth: 5, reportBuildStatus: true },
      });
      expect(cb.source).toEqual({
        type: "GITHUB",
        location: "https://github.com/org/app.git",
        git_clone_depth: 5,
        report_build_status: true,
        buildspec: escaped(BUILDSPEC),
      });
      expect(cb.source_version).toBe("main");
    });

    test("a CODECOMMIT source grants codecommit:GitPull on that repository", () => {
      const b = build({ source: { type: "CODECOMMIT", location: "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app" } });
      expect(b.cb.source).toMatchObject({ type: "CODECOMMIT", git_clone_depth: 1 });
      const ctx = AwsContext.of(b.stack);
      expect(statement(b.json, "Build/Role/PolicyDocument", "CodeCommitPull").resources).toEqual([
        ref(b.stack, ctx.arn("codecommit", "app", { region: "eu-west-1" })),
      ]);
    });

    test("an S3 source grants read on that object only", () => {
      const b = build({ source: { type: "S3", bucketName: "src-bucket", objectKey: "app/source.zip" } });
      expect(b.cb.source).toMatchObject({ type: "S3", location: "src-bucket/app/source.zip" });
      const p = ref(b.stack, AwsContext.of(b.stack).partition);
      expect(statement(b.json, "Build/Role/PolicyDocument", "S3Read").resources).toEqual([`arn:${p}:s3:::src-bucket/app/source.zip`]);
    });

    test("buildSpec fromSourceFilename points CodeBuild at a file in the source", () => {
      const { cb } = build({ source: { type: "GITHUB", location: "https://github.com/org/app" }, buildSpec: BuildSpec.fromSourceFilename("ci/buildspec.yml") });
      expect(cb.source.buildspec).toBe("ci/buildspec.yml");
    });

    test("buildSpec fromInline is embedded", () => {
      const yaml = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n";
      expect(build({ buildSpec: BuildSpec.fromInline(yaml) }).cb.source.buildspec).toBe(yaml);
    });

    test("an S3 cache uses the bucket under the project's prefix and grants read and write there", () => {
      const b = build({ cache: { type: "S3", bucketName: "cache-bucket" } });
      expect(b.cb.cache).toEqual({ type: "S3", location: "cache-bucket/build-app" });
      const p = ref(b.stack, AwsContext.of(b.stack).partition);
      expect(statement(b.json, "Build/Role/PolicyDocument", "S3Write").resources).toEqual([`arn:${p}:s3:::cache-bucket/build-app/*`]);
    });

    test("cache NONE disables caching", () => {
      expect(build({ cache: { type: "NONE" } }).cb.cache).toEqual({ type: "NO_CACHE" });
    });

    test("vpc sets the VPC config and grants ENI permissions in those subnets", () => {
      const b = build({ vpc: { vpcId: "vpc-12345678", subnetIds: ["subnet-12345678"], securityGroupIds: ["sg-12345678"] } });
      expect(b.cb.vpc_config).toEqual({ vpc_id: "vpc-12345678", subnets: ["subnet-12345678"], security_group_ids: ["sg-12345678"] });
      const ctx = AwsContext.of(b.stack);
      expect(statement(b.json, "Build/Role/PolicyDocument", "VpcEniPermission").condition[1].values).toEqual([
        ref(b.stack, ctx.arn("ec2", "subnet/subnet-12345678")),
      ]);
    });

    test("badge turns the badge on and exposes its URL", () => {
      const b = build({ badge: true, source: { type: "GITHUB", location: "https://github.com/org/app.git" } });
      expect(b.cb.badge_enabled).toBe(true);
      expect(ref(b.stack, b.project.badgeUrl)).toBe(`\${aws_codebuild_project.${b.stack.getLogicalId(b.project.resource)}.badge_url}`);
    });

    test("a given role is used, receives the grants, and no role is created", () => {
      const stack = newStack();
      const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
      const role = new CodeBuildServiceRole(stack, "SharedRole");
      const project = new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo, role });
      const json = synthJson(stack);
      expect(resources(json, "aws_iam_role")).toHaveLength(1);
      expect(project.role).toBe(role);
      expect(statement(json, "SharedRole/PolicyDocument", "EcrPush").resources).toEqual([ref(stack, repo.repositoryArn)]);
    });

    test("tags go to the project, its log group and its role", () => {
      const { json } = build({ tags: { Team: "x" } });
      for (const type of ["aws_codebuild_project", "aws_cloudwatch_log_group", "aws_iam_role"]) {
        expect(only(json, type).tags).toEqual({ Team: "x" });
      }
    });
  });

  describe("validation", () => {
    test.each([
      ["projectName", { projectName: "a" }, `projectName "a" must be 2-255 letters, digits, '-' or '_', starting with a letter or digit (CodeBuild naming rules)`],
      ["imageTag", { imageTag: "-bad" }, `imageTag "-bad" must be a Docker tag: 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`],
      ["computeType", { computeType: "BUILD_LAMBDA_1GB" }, `computeType "BUILD_LAMBDA_1GB" must be one of BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE (privileged builds need EC2 compute)`],
      ["buildTimeoutMinutes", { buildTimeoutMinutes: 4 }, `buildTimeoutMinutes 4 must be a whole number from 5 to 2160 minutes`],
      ["queuedTimeoutMinutes", { queuedTimeoutMinutes: 481 }, `queuedTimeoutMinutes 481 must be a whole number from 5 to 480 minutes`],
      ["concurrentBuildLimit", { concurrentBuildLimit: 0 }, `concurrentBuildLimit 0 must be a whole number from 1 to 10000 builds`],
      ["logRetentionDays", { logRetentionDays: 2 }, `logRetentionDays 2 must be one of CloudWatch's retention values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)`],
      ["logKmsKeyArn", { logKmsKeyArn: "key" }, `logKmsKeyArn "key" must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`],
      ["image", { image: "ubuntu:22.04" }, `image "ubuntu:22.04" must be a CodeBuild managed image (aws/codebuild/<name>:<version>); use CodeBuildDindProject for other images`],
      ["environmentType", { environmentType: "WINDOWS_CONTAINER" as "LINUX_CONTAINER" }, `environmentType "WINDOWS_CONTAINER" must be LINUX_CONTAINER or ARM_CONTAINER`],
      ["a secret-like PLAINTEXT variable", { environmentVariables: { DB_PASSWORD: { value: "hunter2" } } }, `environmentVariables.DB_PASSWORD (value not shown: the name looks like a secret) is PLAINTEXT but its name looks like a secret: store it in SSM Parameter Store or Secrets Manager and set type PARAMETER_STORE or SECRETS_MANAGER`],
      ["a sample variable", { environmentVariables: { IMAGE_TAG: { value: "x" } } }, `environmentVariables name "IMAGE_TAG" is set by the construct (from the stack and the repository; use imageTag for IMAGE_TAG)`],
      ["a DOCKERFILE variable", { environmentVariables: { DOCKERFILE: { value: "x" } } }, `environmentVariables name "DOCKERFILE" is set by the construct (use the dockerfile prop)`],
      ["a DOCKER_BUILD_CONTEXT variable", { environmentVariables: { DOCKER_BUILD_CONTEXT: { value: "x" } } }, `environmentVariables name "DOCKER_BUILD_CONTEXT" is set by the construct (use the buildContext prop)`],
      [
        "a DOCKER_CONTEXT variable",
        { environmentVariables: { DOCKER_CONTEXT: { value: "app" } } },
        `environmentVariables name "DOCKER_CONTEXT" is read by the docker CLI as the name of a Docker context, so docker login, build and push would fail with "context not found" (the build context is the buildContext prop)`,
      ],
      ["an empty dockerfile", { dockerfile: "" }, `dockerfile "" must be a path relative to the source root, not empty`],
      ["an absolute dockerfile", { dockerfile: "/src/Dockerfile" }, `dockerfile "/src/Dockerfile" must be a path relative to the source root, not absolute`],
      ["a dockerfile outside the source", { dockerfile: "app/../../Dockerfile" }, `dockerfile "app/../../Dockerfile" must be a path relative to the source root, without ".." segments (the build sees only its source)`],
      ["a dockerfile read as an option", { dockerfile: "-" }, `dockerfile "-" must be a path relative to the source root, not starting with "-" (docker would read it as an option)`],
      ["an empty buildContext", { buildContext: "" }, `buildContext "" must be a path relative to the source root, not empty`],
      ["an absolute buildContext", { buildContext: "/src" }, `buildContext "/src" must be a path relative to the source root, not absolute`],
      ["a buildContext outside the source", { buildContext: ".." }, `buildContext ".." must be a path relative to the source root, without ".." segments (the build sees only its source)`],
      ["a buildContext read as an option", { buildContext: "--no-cache" }, `buildContext "--no-cache" must be a path relative to the source root, not starting with "-" (docker would read it as an option)`],
      ["a reserved variable", { environmentVariables: { CODEBUILD_X: { value: "x" } } }, `environmentVariables name "CODEBUILD_X" must not start with CODEBUILD_ (reserved by CodeBuild)`],
      ["a variable name with a dash", { environmentVariables: { "MY-VAR": { value: "x" } } }, `environmentVariables name "MY-VAR" must be letters, digits and '_', not starting with a digit`],
      ["an unknown variable type", { environmentVariables: { A: { value: "x", type: "VAULT" as EnvironmentVariableType } } }, `environmentVariables.A.type "VAULT" must be PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER`],
      ["an empty variable value", { environmentVariables: { A: { value: "" } } }, `environmentVariables.A.value "" must be a non-empty string`],
      ["a GitHub location elsewhere", { source: { type: "GITHUB", location: "https://gitlab.com/a/b" } }, `source.location "https://gitlab.com/a/b" must be https://github.com/<owner>/<repo>.git`],
      ["a CodeCommit location elsewhere", { source: { type: "CODECOMMIT", location: "https://github.com/a/b" } }, `source.location "https://github.com/a/b" must be https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>`],
      ["an S3 source bucket", { source: { type: "S3", bucketName: "Bad_Bucket", objectKey: "a.zip" } }, `source.bucketName "Bad_Bucket" must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')`],
      ["an S3 source key with a wildcard", { source: { type: "S3", bucketName: "bucket", objectKey: "*" } }, `source.objectKey "*" must be an exact object key (no wildcards)`],
      ["an unknown source type", { source: { type: "GITLAB" } as never }, `source.type "GITLAB" must be NO_SOURCE, GITHUB, GITHUB_ENTERPRISE, BITBUCKET, CODECOMMIT or S3`],
      ["a clone depth below 0", { source: { type: "GITHUB", location: "https://github.com/a/b", cloneDepth: -1 } }, `source.cloneDepth -1 must be a whole number from 0 to 1000000`],
      ["a badge without a git source", { badge: true }, `badge true needs a GITHUB or CODECOMMIT source (CodeBuild has no badge for NO_SOURCE)`],
      ["a source buildspec with NO_SOURCE", { buildSpec: BuildSpec.fromSourceFilename("buildspec.yml") }, `buildSpec "buildspec.yml" must be inline (BuildSpec.fromFile/fromInline/bundled) when the source is NO_SOURCE`],
      ["an inline buildspec without version", { buildSpec: BuildSpec.fromInline("phases:\n  build: {}\n") }, `buildSpec "inline" must declare version: 0.2`],
      ["an inline buildspec without phases", { buildSpec: BuildSpec.fromInline("version: 0.2\n") }, `buildSpec "inline" must have a phases: section`],
      ["an S3 cache bucket", { cache: { type: "S3", bucketName: "B" } }, `cache.bucketName "B" must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')`],
      ["an unknown cache type", { cache: { type: "EFS" } as never }, `cache.type "EFS" must be LOCAL, S3 or NONE`],
      ["a VPC ID", { vpc: { vpcId: "vpc1", subnetIds: ["subnet-12345678"], securityGroupIds: ["sg-12345678"] } }, `vpc.vpcId "vpc1" must be a VPC ID (vpc-…)`],
      ["no subnets", { vpc: { vpcId: "vpc-12345678", subnetIds: [], securityGroupIds: ["sg-12345678"] } }, `vpc.subnetIds [] must name at least one subnet`],
      ["a subnet ID", { vpc: { vpcId: "vpc-12345678", subnetIds: ["sub"], securityGroupIds: ["sg-12345678"] } }, `vpc.subnetIds[0] "sub" must be a subnet ID (subnet-…)`],
      ["six security groups", { vpc: { vpcId: "vpc-12345678", subnetIds: ["subnet-12345678"], securityGroupIds: Array(6).fill("sg-12345678") } }, `vpc.securityGroupIds ["sg-12345678","sg-12345678","sg-12345678","sg-12345678","sg-12345678","sg-12345678"] must name 1 to 5 security groups`],
      ["a security group ID", { vpc: { vpcId: "vpc-12345678", subnetIds: ["subnet-12345678"], securityGroupIds: ["group"] } }, `vpc.securityGroupIds[0] "group" must be a security group ID (sg-…)`],
    ])("%s is refused with a clear message", (_what, props, message) => {
      expect(errorOf(props as Partial<CodeBuildPrivilegedProjectProps>)).toBe(`CodeBuildPrivilegedProject 'build': ${message}`);
    });

    test("all problems are reported at once", () => {
      expect(errorOf({ projectName: "a", buildTimeoutMinutes: 1 }).split("\n")).toHaveLength(2);
    });

    test("BuildSpec.fromFile names a missing file", () => {
      expect(() => BuildSpec.fromFile("/nonexistent/buildspec.yml")).toThrow(
        'BuildSpec.fromFile: cannot read buildspec "/nonexistent/buildspec.yml" (ENOENT: no such file or directory',
      );
    });
  });

  test("creates a CodebuildProject, a log group and a role", () => {
    const str = JSON.stringify(build().json);
    expect(str).toHaveResource(CodebuildProject);
    expect(str).toHaveResource(CloudwatchLogGroup);
    expect(str).toHaveResource(IamRole);
  });
});
