import { Construct } from "constructs";
import { Annotations } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CodebuildWebhook } from "@cdktf/provider-aws/lib/codebuild-webhook";
import {
  CodebuildProject,
  CodebuildProjectEnvironmentRegistryCredential,
} from "@cdktf/provider-aws/lib/codebuild-project";
import { TagMutability } from "../ecr-repo/repository-base";
import { CodeBuildServiceRole } from "../service-role/service-role";
import type { IServiceRole } from "../service-role/service-role-base";
import * as grants from "../service-role/grants";
import { sameCopy } from "../shared/one-copy";
import { PolicyPack, RULES } from "../policy-pack/policy-pack";
import { AwsContext } from "../shared/aws-context";
import { BuildSpec } from "../shared/buildspec";
import { isToken, literal, throwPropProblems } from "../shared/validation";
import type { PolicyStatement } from "../shared/iam";
import { CodeBuildProjectBase, projectFromArn, projectFromName, type ICodeBuildProject } from "./project-base";
import {
  PUSH_IMAGE_VARIABLE,
  pullRequestGroups,
  pushGroups,
  renderFilterGroup,
  triggerBranch,
  WebhookFilterGroup,
  WebhookSourceType,
} from "../shared/triggers";
import { EnvironmentVariableType, DEFAULT_DOCKERFILE, DEFAULT_BUILD_CONTEXT, type BuildEnvironmentVariable, type ProjectSource, type ProjectCache, type CodeBuildDockerProjectProps, type DockerBuildEnvironment } from "./codebuild-docker-project-props";
import { CODECOMMIT_URL, dockerProjectPropProblems } from "./codebuild-docker-project-checks";
import { renderCache, renderSource, s3CachePrefix, parameterArn, secretArn } from "./project-rendering";

export * from "./codebuild-docker-project-props";
export { dockerProjectPropProblems, type DockerProjectPropsToCheck } from "./codebuild-docker-project-checks";
export { parameterArn, secretArn } from "./project-rendering";

/**
 * The common part of the Docker-building CodeBuild projects: log group, role and grants,
 * the sample's environment variables, source, cache, VPC, timeouts and badge. Concrete
 * projects ({@link CodeBuildPrivilegedProject}, {@link CodeBuildDindProject}) only decide the
 * build image and its pull credentials. Privileged mode is always on: building Docker images
 * needs a Docker daemon, and the daemon needs privileged mode.
 */
export abstract class CodeBuildDockerProject extends CodeBuildProjectBase {
  /**
   * Adds a statement to the project's service role (as aws-cdk-lib's addToRolePolicy): exact
   * actions and resources, merged by sid. Fails synth when the role cannot be changed here
   * without that being asked for (see IGrantee.unchangedWithoutAsking).
   */
  public addToRolePolicy(statement: PolicyStatement): boolean {
    const changed = this.role.addToPrincipalPolicy(statement);
    if (!changed && this.role.unchangedWithoutAsking !== undefined) {
      throw new Error(`${this.constructor.name} '${this.node.id}': addToRolePolicy ${statement.sid} would change nothing: ${this.role.unchangedWithoutAsking}`);
    }
    return changed;
  }

  /** Imports an existing project of the stack's account and region by name: its events and grants, nothing created. */
  public static fromProjectName(scope: Construct, id: string, projectName: string): ICodeBuildProject {
    return projectFromName(scope, id, projectName);
  }

  /** Imports an existing project by ARN, in this account or another: its events and grants, nothing created. */
  public static fromProjectArn(scope: Construct, id: string, projectArn: string): ICodeBuildProject {
    return projectFromArn(scope, id, projectArn);
  }

  /** The underlying `aws_codebuild_project`. */
  public readonly resource: CodebuildProject;
  /** The project name. */
  public readonly projectName: string;
  /** The project ARN. */
  public readonly projectArn: string;
  /** The project name as given (a literal, or a token). */
  private readonly nameLiteral: string;

  protected nameForPatterns(): string {
    return this.nameLiteral;
  }
  /** The service role the project runs as. */
  public readonly role: IServiceRole;
  /** The log group builds write to (`/aws/codebuild/<projectName>`). */
  public readonly logGroup: CloudwatchLogGroup;
  /** The badge URL, when `badge` is on. */
  public readonly badgeUrl?: string;
  /** The project's webhook (`triggers.push`), when there is one. */
  public readonly webhook?: CodebuildWebhook;
  /** The project that builds pull requests without pushing (`triggers.pullRequest`). */
  public readonly pullRequestProject?: CodebuildProject;
  /** The pull-only role of {@link pullRequestProject}. */
  public readonly pullRequestRole?: IServiceRole;
  /** The log group of {@link pullRequestProject}. */
  public readonly pullRequestLogGroup?: CloudwatchLogGroup;
  /** The webhook of {@link pullRequestProject}. */
  public readonly pullRequestWebhook?: CodebuildWebhook;

  protected constructor(scope: Construct, id: string, props: CodeBuildDockerProjectProps, env: DockerBuildEnvironment) {
    super(sameCopy(scope, env.constructName, id), id);
    const buildSpec = props.buildSpec ?? env.defaultBuildSpec();
    throwPropProblems(dockerProjectPropProblems(id, props, env, buildSpec));
    const context = AwsContext.of(this);
    const source = props.source ?? { type: "NO_SOURCE" };
    const imageTag = props.imageTag;

    this.logGroup = new CloudwatchLogGroup(this, "LogGroup", {
      name: `/aws/codebuild/${props.projectName}`,
      retentionInDays: props.logRetentionDays ?? 30,
      kmsKeyId: props.logKmsKeyArn,
      tags: props.tags,
    });

    this.role = props.role ?? new CodeBuildServiceRole(this, "Role", { projectName: props.projectName, tags: props.tags });
    const cache = props.cache ?? { type: "LOCAL" };
    this.grantBuild(this.role, context, props, env, source, cache, this.logGroup.arn, true);

    if (imageTag !== undefined && props.repository.tagMutability === TagMutability.IMMUTABLE && !isToken(imageTag)) {
      Annotations.of(this).addWarning(
        `IMAGE_TAG "${imageTag}" is pushed on every build, but the repository's tags are IMMUTABLE: only the first build can push it. ` +
          `Leave imageTag unset (each build pushes a tag of its own), or set the repository's tagMutability to MUTABLE on purpose.`,
      );
    }

    if (source.type === "NO_SOURCE" && props.buildSpec === undefined) {
      Annotations.of(this).addWarning(
        `source is NO_SOURCE${props.source === undefined ? " (not set)" : ""}, but the bundled buildspec builds the Dockerfile ` +
          `${JSON.stringify(props.dockerfile ?? DEFAULT_DOCKERFILE)} of the source: every build fails at its check step. ` +
          `Set source (GITHUB, CODECOMMIT or S3), or a buildSpec that fetches what it builds.`,
      );
    }

    const registryCredential: CodebuildProjectEnvironmentRegistryCredential | undefined =
      env.registryCredentialSecretArn === undefined
        ? undefined
        : { credential: env.registryCredentialSecretArn, credentialProvider: "SECRETS_MANAGER" };

    // The project itself, and (with triggers) the pull request project: the same build, its own name, role and log group.
    const project = (id: string, name: string, description: string, role: IServiceRole, logGroup: CloudwatchLogGroup, extraVariables: { name: string; value: string; type: string }[]) =>
      this.newProject(id, name, description, role, logGroup, extraVariables, extraVariables.some((v) => v.name === PUSH_IMAGE_VARIABLE), { props, env, context, source, buildSpec, cache, imageTag, registryCredential });
    this.resource = project(
      "Resource",
      props.projectName,
      props.description !== undefined ? literal(props.description) : `Builds ${props.repository.repositoryName} with Docker (managed by cdktf)`,
      this.role,
      this.logGroup,
      [],
    );
    this.projectName = this.resource.name;
    this.nameLiteral = props.projectName;
    this.projectArn = this.resource.arn;
    if (props.badge) this.badgeUrl = this.resource.badgeUrl;

    if (props.triggers !== undefined && (source.type === "GITHUB" || source.type === "GITHUB_ENTERPRISE" || source.type === "BITBUCKET")) {
      const sourceType = source.type as WebhookSourceType;
      const branch = triggerBranch(props.triggers, source.branch);
      const webhook = (id: string, projectName: string, groups: readonly WebhookFilterGroup[]) =>
        new CodebuildWebhook(this, id, { projectName, buildType: "BUILD", filterGroup: groups.map(renderFilterGroup) });
      const push = pushGroups(props.triggers, branch);
      if (push !== undefined) this.webhook = webhook("Webhook", this.resource.name, push);
      const pr = pullRequestGroups(props.triggers, branch, sourceType);
      if (pr !== undefined) {
        const prName = props.triggers.pullRequestProjectName ?? `${props.projectName}-pr`;
        this.pullRequestLogGroup = new CloudwatchLogGroup(this, "PullRequestLogGroup", {
          name: `/aws/codebuild/${prName}`,
          retentionInDays: props.logRetentionDays ?? 30,
          kmsKeyId: props.logKmsKeyArn,
          tags: props.tags,
        });
        // Its own role, bound to the pull request project: pull only, never push.
        const prRole = new CodeBuildServiceRole(this, "PullRequestRole", {
          projectName: prName,
          description: "CodeBuild service role of pull request builds: pulls, never pushes (managed by cdktf)",
          tags: props.tags,
        });
        this.pullRequestRole = prRole;
        this.grantBuild(prRole, context, props, env, source, cache, this.pullRequestLogGroup.arn, false);
        this.pullRequestProject = project(
          "PullRequestProject",
          prName,
          `Builds pull requests of ${props.repository.repositoryName} with Docker, without pushing (managed by cdktf)`,
          prRole,
          this.pullRequestLogGroup,
          [{ name: PUSH_IMAGE_VARIABLE, value: "false", type: "PLAINTEXT" }],
        );
        this.pullRequestWebhook = webhook("PullRequestWebhook", this.pullRequestProject.name, pr);
      }
    }
  }

  /**
   * What a build of this project needs on `role`: logs on its log group, pull (and push when
   * `push`) on the repository, read on the variables' parameters and secrets, the registry
   * credential, the source (and its connection), the S3 cache, the VPC.
   */
  private grantBuild(
    role: IServiceRole,
    context: AwsContext,
    props: CodeBuildDockerProjectProps,
    env: DockerBuildEnvironment,
    source: ProjectSource,
    cache: ProjectCache,
    logGroupArn: string,
    push: boolean,
  ): void {
    grants.grantLogs(role, logGroupArn);
    // The build pulls the previous image as its layer cache, then pushes.
    if (push) props.repository.grantPullPush(role);
    else props.repository.grantPull(role);
    this.grantForEnvironmentVariables(role, context, props.environmentVariables ?? {});
    if (env.registryCredentialSecretArn !== undefined) grants.grantSecretsRead(role, [env.registryCredentialSecretArn]);
    this.grantForSource(role, context, source);
    if (cache.type === "S3") {
      // Pull request builds keep a cache of their own: they must not poison the one pushes build from.
      const prefix = s3CachePrefix(cache, props.projectName, !push);
      grants.grantS3Read(role, cache.bucketName, `${prefix}/*`);
      grants.grantS3Write(role, cache.bucketName, `${prefix}/*`);
    }
    if (props.vpc) {
      grants.grantVpcAccess(role, {
        subnetArns: props.vpc.subnetIds.map((s) => context.arn("ec2", `subnet/${s}`)),
        securityGroupArns: props.vpc.securityGroupIds.map((s) => context.arn("ec2", `security-group/${s}`)),
      });
    }
  }

  private newProject(
    id: string,
    name: string,
    description: string,
    role: IServiceRole,
    logGroup: CloudwatchLogGroup,
    extraVariables: { name: string; value: string; type: string }[],
    pullRequest: boolean,
    c: {
      props: CodeBuildDockerProjectProps;
      env: DockerBuildEnvironment;
      context: AwsContext;
      source: ProjectSource;
      buildSpec: BuildSpec;
      cache: ProjectCache;
      imageTag: string | undefined;
      registryCredential: CodebuildProjectEnvironmentRegistryCredential | undefined;
    },
  ): CodebuildProject {
    const { props, env, context, source, buildSpec, cache, imageTag, registryCredential } = c;
    const project = new CodebuildProject(this, id, {
      name,
      description,
      serviceRole: role.roleArn,
      buildTimeout: props.buildTimeoutMinutes ?? 60,
      queuedTimeout: props.queuedTimeoutMinutes ?? 480,
      concurrentBuildLimit: props.concurrentBuildLimit,
      badgeEnabled: props.badge ?? false,
      sourceVersion: "branch" in source ? source.branch : undefined,
      source: renderSource(source, buildSpec),
      artifacts: { type: "NO_ARTIFACTS" },
      cache: renderCache(cache, s3CachePrefix(cache, props.projectName, pullRequest)),
      environment: {
        type: env.environmentType,
        computeType: props.computeType ?? "BUILD_GENERAL1_SMALL",
        image: env.image,
        imagePullCredentialsType: env.imagePullCredentialsType,
        registryCredential,
        // Building Docker images needs a Docker daemon inside the build container, and the
        // daemon needs privileged mode. This is the construct's purpose, not a loosened default.
        privilegedMode: true,
        environmentVariable: [
          { name: "AWS_DEFAULT_REGION", value: context.region, type: "PLAINTEXT" },
          { name: "AWS_ACCOUNT_ID", value: props.repository.registryId, type: "PLAINTEXT" },
          ...(imageTag === undefined ? [] : [{ name: "IMAGE_TAG", value: imageTag, type: "PLAINTEXT" }]),
          { name: "IMAGE_REPO_NAME", value: props.repository.repositoryName, type: "PLAINTEXT" },
          { name: "DOCKERFILE", value: literal(props.dockerfile ?? DEFAULT_DOCKERFILE), type: "PLAINTEXT" },
          { name: "DOCKER_BUILD_CONTEXT", value: literal(props.buildContext ?? DEFAULT_BUILD_CONTEXT), type: "PLAINTEXT" },
          ...Object.entries(props.environmentVariables ?? {}).map(([name, v]) => ({
            name,
            value: literal(v.value),
            type: v.type ?? EnvironmentVariableType.PLAINTEXT,
          })),
          ...extraVariables,
        ],
      },
      logsConfig: {
        cloudwatchLogs: { status: "ENABLED", groupName: logGroup.name },
        s3Logs: { status: "DISABLED" },
      },
      vpcConfig: props.vpc
        ? { vpcId: props.vpc.vpcId, subnets: props.vpc.subnetIds, securityGroupIds: props.vpc.securityGroupIds }
        : undefined,
      tags: props.tags,
    });
    PolicyPack.suppress(
      project,
      RULES.codebuildPrivileged.id,
      "building Docker images needs the Docker daemon, and the daemon runs only in privileged mode; AWS retired the matching Security Hub control CodeBuild.5",
    );
    return project;
  }

  private variableArns?: { parameters: string[]; secrets: string[] };

  private grantForEnvironmentVariables(role: IServiceRole, context: AwsContext, vars: Record<string, BuildEnvironmentVariable>): void {
    // Worked out once (a token's ARN is a Terraform local) and granted to each role.
    if (this.variableArns === undefined) {
      const arns = { parameters: [] as string[], secrets: [] as string[] };
      for (const [name, v] of Object.entries(vars)) {
        if (v.type === EnvironmentVariableType.PARAMETER_STORE) arns.parameters.push(parameterArn(this, `${name}_ParameterArn`, context, v.value));
        if (v.type === EnvironmentVariableType.SECRETS_MANAGER) arns.secrets.push(secretArn(this, `${name}_SecretArn`, context, v.value));
      }
      this.variableArns = arns;
    }
    const { parameters, secrets } = this.variableArns;
    if (parameters.length) grants.grantSsmParameters(role, parameters);
    if (secrets.length) grants.grantSecretsRead(role, secrets);
  }

  private grantForSource(role: IServiceRole, context: AwsContext, source: ProjectSource): void {
    if (source.type === "S3") grants.grantS3Read(role, source.bucketName, source.objectKey);
    if (source.type === "CODECOMMIT") {
      const m = CODECOMMIT_URL.exec(source.location);
      if (m) grants.grantCodeCommitPull(role, context.arn("codecommit", m[2], { region: m[1] }));
    }
    if ("connectionArn" in source && source.connectionArn !== undefined) grants.grantUseConnection(role, source.connectionArn);
  }
}
