import { Construct } from "constructs";
import { Annotations, Fn, TerraformLocal } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CodebuildWebhook } from "@cdktf/provider-aws/lib/codebuild-webhook";
import {
  CodebuildProject,
  CodebuildProjectCache,
  CodebuildProjectEnvironmentRegistryCredential,
  CodebuildProjectSource,
} from "@cdktf/provider-aws/lib/codebuild-project";
import { TagMutability } from "../ecr-repo/repository-base";
import type { IEcrRepository } from "../ecr-repo/repository-base";
import { CodeBuildServiceRole } from "../service-role/service-role";
import type { IServiceRole } from "../service-role/service-role-base";
import * as grants from "../service-role/grants";
import { sameCopy } from "./one-copy";
import { PolicyPack, RULES } from "../policy-pack/policy-pack";
import { AwsContext } from "./aws-context";
import { BuildSpec } from "./buildspec";
import { looksLikeSecret } from "./secret-names";
import { HiddenValue, PropProblems, type PropProblemDetail, checkIntRange, isToken, literal, recordedProblems, throwPropProblems } from "./validation";
import { sourcePathProblem } from "./source-path";
import {
  ProjectTriggers,
  PUSH_IMAGE_VARIABLE,
  pullRequestGroups,
  pushGroups,
  renderFilterGroup,
  triggerBranch,
  validateTriggers,
  WebhookFilterGroup,
  WebhookSourceType,
} from "./triggers";
import {
  BUCKET_NAME_PATTERN,
  BUCKET_NAME_RULE,
  CONNECTION_ARN_PATTERN,
  CONNECTION_ARN_RULE,
  IMAGE_TAG_PATTERN,
  IMAGE_TAG_RULE,
  KMS_KEY_ARN_PATTERN,
  PROJECT_NAME_PATTERN,
  PROJECT_NAME_RULE,
  VARIABLE_NAME_PATTERN,
} from "./patterns";

/** How CodeBuild resolves an environment variable's value. */
export enum EnvironmentVariableType {
  /** The value itself. Refused for names that look like secrets. */
  PLAINTEXT = "PLAINTEXT",
  /** The name (or ARN) of an SSM parameter; the role is granted `ssm:GetParameters` on it. */
  PARAMETER_STORE = "PARAMETER_STORE",
  /** `secret-id[:json-key[:version-stage[:version-id]]]`; the role is granted read on the secret. */
  SECRETS_MANAGER = "SECRETS_MANAGER",
}

/** An extra environment variable of the build. */
export interface BuildEnvironmentVariable {
  /** The value, parameter name or secret reference, depending on `type`. */
  readonly value: string;
  /**
   * How the value is resolved.
   * @default EnvironmentVariableType.PLAINTEXT
   */
  readonly type?: EnvironmentVariableType;
}

/** Where the build's source comes from. */
export type ProjectSource =
  | { readonly type: "NO_SOURCE" }
  | {
      readonly type: "GITHUB";
      /** `https://github.com/<owner>/<repo>.git` */
      readonly location: string;
      /** Branch, tag or commit to build. @default - the repository's default branch */
      readonly branch?: string;
      /** Git clone depth. @default 1 */
      readonly cloneDepth?: number;
      /** Report build status to GitHub. @default false */
      readonly reportBuildStatus?: boolean;
      /**
       * The CodeConnections connection the source is read through (`source.auth` CODECONNECTIONS);
       * the role gets `codeconnections:GetConnection`, `GetConnectionToken` and `UseConnection` on
       * exactly this ARN. Required with `triggers`.
       * @default - CodeBuild's account-level source credential
       */
      readonly connectionArn?: string;
    }
  | {
      readonly type: "GITHUB_ENTERPRISE" | "BITBUCKET";
      /** `https://<host>/<owner>/<repo>.git` (GitHub Enterprise Server), `https://bitbucket.org/<workspace>/<repo>.git` (Bitbucket). */
      readonly location: string;
      /** Branch, tag or commit to build. @default - the repository's default branch */
      readonly branch?: string;
      /** Git clone depth. @default 1 */
      readonly cloneDepth?: number;
      /** Report build status to the provider. @default false */
      readonly reportBuildStatus?: boolean;
      /** The CodeConnections connection the source is read through, as for GITHUB. */
      readonly connectionArn?: string;
    }
  | {
      readonly type: "CODECOMMIT";
      /** `https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>` */
      readonly location: string;
      /** Branch, tag or commit to build. @default - the repository's default branch */
      readonly branch?: string;
      /** Git clone depth. @default 1 */
      readonly cloneDepth?: number;
    }
  | {
      readonly type: "S3";
      /** The bucket that holds the source bundle. */
      readonly bucketName: string;
      /** The key of the zip bundle, e.g. `sources/app.zip`. */
      readonly objectKey: string;
    };

/** How the build caches between runs. */
export type ProjectCache =
  | { readonly type: "LOCAL" }
  | { readonly type: "S3"; readonly bucketName: string; readonly prefix?: string }
  | { readonly type: "NONE" };

/** The network a project runs in. */
export interface ProjectVpc {
  /** `vpc-…` */
  readonly vpcId: string;
  /** `subnet-…` IDs (private subnets with a NAT route, so the build reaches ECR). */
  readonly subnetIds: string[];
  /** `sg-…` IDs, 1 to 5. */
  readonly securityGroupIds: string[];
}

/** Properties every Docker-building CodeBuild project shares. */
export interface CodeBuildDockerProjectProps {
  /** The CodeBuild project name (2-255 letters, digits, `-` and `_`, starting with a letter or digit). */
  readonly projectName: string;

  /**
   * The repository the build pushes to, created here ({@link EcrRepo}) or imported
   * (`EcrRepo.fromRepositoryName/Arn/Attributes`); its name and registry fill `IMAGE_REPO_NAME`
   * and `AWS_ACCOUNT_ID`.
   */
  readonly repository: IEcrRepository;

  /**
   * The service role: a {@link CodeBuildServiceRole}, or an existing role imported with
   * `CodeBuildServiceRole.fromRoleArn` / `fromRoleName`. A mutable role receives pull and push
   * on `repository`, logs on the project's log group and read on every parameter and secret the
   * project references; a role imported with `mutable: false` is not changed, and its owner
   * grants those (synth lists them as information).
   * @default - a role is created, bound to this project only
   */
  readonly role?: IServiceRole;

  /**
   * Description of the project.
   * @default - "Builds <repository> with Docker (managed by cdktf)"
   */
  readonly description?: string;

  /**
   * A fixed tag every build pushes besides the tag of its own (`IMAGE_TAG`), e.g. `latest`.
   * Each build always pushes a tag no other build pushes (`<short commit>-<build number>-<build
   * ID>`), so a repository with IMMUTABLE tags accepts every build; a fixed tag there is accepted
   * once only, and synth warns about it.
   * @default - none: each build pushes only the tag of its own
   */
  readonly imageTag?: string;

  /**
   * The Dockerfile to build, relative to the source root (not to `buildContext`), as in
   * `docker build -f <dockerfile> <buildContext>`. Passed to the build as `DOCKERFILE`.
   * @default "Dockerfile"
   */
  readonly dockerfile?: string;

  /**
   * The build context folder, relative to the source root (`.` is the root itself). Passed to
   * the build as `DOCKER_CONTEXT`.
   * @default "."
   */
  readonly buildContext?: string;

  /**
   * Extra environment variables. `AWS_DEFAULT_REGION`, `AWS_ACCOUNT_ID`, `IMAGE_TAG`,
   * `IMAGE_REPO_NAME`, `DOCKERFILE` and `DOCKER_CONTEXT` are set by the construct and cannot be
   * given here.
   * @default - none
   */
  readonly environmentVariables?: Record<string, BuildEnvironmentVariable>;

  /**
   * Where the source comes from. The bundled buildspec builds the source's Dockerfile, so with
   * it a project needs a source: NO_SOURCE there gets a synth warning (every build would fail at
   * its check step); NO_SOURCE suits a `buildSpec` that fetches what it builds itself.
   * @default - { type: "NO_SOURCE" } with the inline buildspec
   */
  readonly source?: ProjectSource;

  /**
   * The buildspec.
   * @default - the construct's bundled buildspec from buildspecs/, inlined
   */
  readonly buildSpec?: BuildSpec;

  /**
   * The compute type.
   * @default "BUILD_GENERAL1_SMALL"
   */
  readonly computeType?: string;

  /**
   * Minutes a build may run before CodeBuild stops it (5-2160).
   * @default 60
   */
  readonly buildTimeoutMinutes?: number;

  /**
   * Minutes a build may wait in the queue (5-480).
   * @default 480
   */
  readonly queuedTimeoutMinutes?: number;

  /**
   * Days CloudWatch keeps build logs (one of CloudWatch's retention values).
   * @default 30
   */
  readonly logRetentionDays?: number;

  /**
   * KMS key ARN that encrypts the log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logKmsKeyArn?: string;

  /**
   * Build cache.
   * @default - { type: "LOCAL" }: Docker layer cache and source cache on the build host
   */
  readonly cache?: ProjectCache;

  /**
   * Run the build in a VPC; the role gets ENI permissions limited to these subnets.
   * @default - no VPC
   */
  readonly vpc?: ProjectVpc;

  /**
   * The most builds that may run at once.
   * @default - no project limit (the account limit applies)
   */
  readonly concurrentBuildLimit?: number;

  /**
   * Publish a build badge (its URL is exposed as `badgeUrl`). Only GitHub, CodeCommit and
   * Bitbucket sources support badges.
   * @default false
   */
  readonly badge?: boolean;

  /**
   * Tags of the project and log group, merged with the provider's default tags.
   * @default - the provider's default tags only
   */
  readonly tags?: Record<string, string>;

  /**
   * Webhook triggers (GITHUB, GITHUB_ENTERPRISE or BITBUCKET source with a `connectionArn`):
   * pushes to the default branch build and push with this project; pull requests build without
   * pushing with a second project (`<projectName>-pr`, PUSH_IMAGE=false, its own role that can
   * only pull from `repository`). A local AWS has no webhooks: they deploy to AWS only.
   * @default - no webhook: builds start by hand (or from a pipeline)
   */
  readonly triggers?: ProjectTriggers;
}

/** What a concrete project decides about its build environment. */
export interface DockerBuildEnvironment {
  /** The construct's class name, used in error messages. */
  readonly constructName: string;
  /** Container image. */
  readonly image: string;
  /** `LINUX_CONTAINER` or `ARM_CONTAINER`. */
  readonly environmentType: string;
  /** `CODEBUILD` for managed/public images, `SERVICE_ROLE` for private registries. */
  readonly imagePullCredentialsType: "CODEBUILD" | "SERVICE_ROLE";
  /** Registry credential (Secrets Manager ARN) for a private registry. */
  readonly registryCredentialSecretArn?: string;
  /** The buildspec used when the props give none. */
  readonly defaultBuildSpec: () => BuildSpec;
  /** Checks of the concrete project's own props, reported with the common ones. */
  readonly validate?: (problems: PropProblems) => void;
}

/** The four variables of the AWS Docker sample, set by the construct. */
export const SAMPLE_ENVIRONMENT_VARIABLES = ["AWS_DEFAULT_REGION", "AWS_ACCOUNT_ID", "IMAGE_TAG", "IMAGE_REPO_NAME"] as const;

/** What the bundled buildspecs build, set by the construct from its props (the prop each comes from). */
export const DOCKER_BUILD_ENVIRONMENT_VARIABLES = { DOCKERFILE: "dockerfile", DOCKER_CONTEXT: "buildContext" } as const;

/** The `dockerfile` default: a Dockerfile at the source root. */
export const DEFAULT_DOCKERFILE = "Dockerfile";
/** The `buildContext` default: the source root. */
export const DEFAULT_BUILD_CONTEXT = ".";

/** The compute types a privileged build may run on (EC2 compute). */
export const COMPUTE_TYPES = [
  "BUILD_GENERAL1_SMALL",
  "BUILD_GENERAL1_MEDIUM",
  "BUILD_GENERAL1_LARGE",
  "BUILD_GENERAL1_XLARGE",
  "BUILD_GENERAL1_2XLARGE",
];
/** CloudWatch Logs' accepted retention values. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const GITHUB_URL = /^https:\/\/github\.com\/[\w.-]+\/[\w.-]+?(\.git)?$/;
const GITHUB_ENTERPRISE_URL = /^https:\/\/[a-z0-9.-]+(:\d+)?\/[\w.-]+\/[\w.-]+?(\.git)?$/;
const BITBUCKET_URL = /^https:\/\/bitbucket\.org\/[\w.-]+\/[\w.-]+?(\.git)?$/;
const CODECOMMIT_URL = /^https:\/\/git-codecommit\.([a-z0-9-]+)\.amazonaws\.com\/v1\/repos\/([\w.-]+)$/;

/**
 * The common part of the Docker-building CodeBuild projects: log group, role and grants,
 * the sample's environment variables, source, cache, VPC, timeouts and badge. Concrete
 * projects ({@link CodeBuildPrivilegedProject}, {@link CodeBuildDindProject}) only decide the
 * build image and its pull credentials. Privileged mode is always on: building Docker images
 * needs a Docker daemon, and the daemon needs privileged mode.
 */
export abstract class CodeBuildDockerProject extends Construct {
  /** The underlying `aws_codebuild_project`. */
  public readonly resource: CodebuildProject;
  /** The project name. */
  public readonly projectName: string;
  /** The project ARN. */
  public readonly projectArn: string;
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
          { name: "DOCKER_CONTEXT", value: literal(props.buildContext ?? DEFAULT_BUILD_CONTEXT), type: "PLAINTEXT" },
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

/**
 * The ARN of an SSM parameter given by name (`/app/db-url`, `app/db-url`) or ARN. A name only
 * known at apply (a token, e.g. `param.name`) becomes a Terraform local whose expression keeps an
 * ARN as it is and drops one leading `/` of a name, as the literal path does. (A local keeps the
 * policy document valid JSON before Terraform evaluates it, so the policy pack can read it.)
 */
export function parameterArn(scope: Construct, id: string, context: AwsContext, nameOrArn: string): string {
  if (isToken(nameOrArn)) {
    const arn = context.arn("ssm", `parameter/${Fn.trimprefix(nameOrArn, "/")}`);
    return new TerraformLocal(scope, id, Fn.conditional(Fn.startswith(nameOrArn, "arn:"), nameOrArn, arn)).asString;
  }
  if (nameOrArn.startsWith("arn:")) return nameOrArn;
  return context.arn("ssm", `parameter/${nameOrArn.replace(/^\//, "")}`);
}

/**
 * The ARN of the secret a SECRETS_MANAGER variable reads. The reference is
 * `secret-id[:json-key[:version-stage[:version-id]]]`; a secret given by name matches the
 * six random characters Secrets Manager appends (`-??????`). A reference only known at apply
 * (a token, e.g. `secret.arn`) becomes a Terraform local with the equivalent expression.
 */
export function secretArn(scope: Construct, id: string, context: AwsContext, reference: string): string {
  if (isToken(reference)) {
    const parts = Fn.split(":", reference);
    const byName = context.arn("secretsmanager", `secret:${Fn.element(parts, 0)}-??????`);
    return new TerraformLocal(scope, id, Fn.conditional(Fn.startswith(reference, "arn:"), Fn.join(":", Fn.slice(parts, 0, 7)), byName)).asString;
  }
  if (reference.startsWith("arn:")) return reference.split(":").slice(0, 7).join(":");
  const name = reference.split(":")[0];
  return context.arn("secretsmanager", `secret:${name}-??????`);
}

function renderSource(source: ProjectSource, spec: BuildSpec): CodebuildProjectSource {
  const buildSpec = { value: literal(spec.value) };
  switch (source.type) {
    case "NO_SOURCE":
      return { type: "NO_SOURCE", buildspec: buildSpec.value };
    case "GITHUB":
    case "GITHUB_ENTERPRISE":
    case "BITBUCKET":
      return {
        type: source.type,
        location: source.location,
        gitCloneDepth: source.cloneDepth ?? 1,
        reportBuildStatus: source.reportBuildStatus ?? false,
        buildspec: buildSpec.value,
        ...(source.connectionArn === undefined ? {} : { auth: { type: "CODECONNECTIONS", resource: source.connectionArn } }),
      };
    case "CODECOMMIT":
      return { type: "CODECOMMIT", location: source.location, gitCloneDepth: source.cloneDepth ?? 1, buildspec: buildSpec.value };
    case "S3":
      return { type: "S3", location: `${source.bucketName}/${source.objectKey}`, buildspec: buildSpec.value };
  }
}

/** The S3 cache prefix: `cache.prefix`, else the project name; with `-pr` appended for the pull request project. */
function s3CachePrefix(cache: ProjectCache, projectName: string, pullRequest: boolean): string {
  const base = (cache.type === "S3" ? cache.prefix : undefined) ?? projectName;
  return pullRequest ? `${base}-pr` : base;
}

function renderCache(cache: ProjectCache, prefix: string): CodebuildProjectCache {
  switch (cache.type) {
    case "LOCAL":
      return { type: "LOCAL", modes: ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"] };
    case "S3":
      return { type: "S3", location: `${cache.bucketName}/${prefix}` };
    case "NONE":
      return { type: "NO_CACHE" };
  }
}

/** A project's props as its pure check reads them: the repository may be missing (the config's check has none yet). */
export type DockerProjectPropsToCheck = Omit<CodeBuildDockerProjectProps, "repository"> & { readonly repository?: CodeBuildDockerProjectProps["repository"] };

/**
 * The problems of a Docker project's props, as data (prop path, value, rule): the project's
 * constructor throws them; the environments file's check reports them at the config's fields.
 * Internal: not exported from the package.
 */
export function dockerProjectPropProblems(
  id: string,
  props: DockerProjectPropsToCheck,
  env: DockerBuildEnvironment,
  buildSpec: BuildSpec = props.buildSpec ?? env.defaultBuildSpec(),
): readonly PropProblemDetail[] {
  const p = new PropProblems(env.constructName, id);
  p.check(
    typeof props.projectName === "string" && PROJECT_NAME_PATTERN.test(props.projectName),
    "projectName",
    props.projectName,
    PROJECT_NAME_RULE,
  );
  if (props.repository === undefined) p.add("repository", undefined, "is required (the EcrRepo the build pushes to)");
  if (props.imageTag !== undefined) {
    p.check(IMAGE_TAG_PATTERN.test(props.imageTag), "imageTag", props.imageTag, IMAGE_TAG_RULE);
  }
  for (const [prop, value] of [["dockerfile", props.dockerfile], ["buildContext", props.buildContext]] as const) {
    const problem = value === undefined ? undefined : sourcePathProblem(value);
    if (problem !== undefined) p.check(false, prop, value, `must be a path relative to the source root, ${problem}`);
  }
  if (props.computeType !== undefined) {
    p.check(COMPUTE_TYPES.includes(props.computeType), "computeType", props.computeType, `must be one of ${COMPUTE_TYPES.join(", ")} (privileged builds need EC2 compute)`);
  }
  checkIntRange(p, "buildTimeoutMinutes", props.buildTimeoutMinutes, 5, 2160, "minutes");
  checkIntRange(p, "queuedTimeoutMinutes", props.queuedTimeoutMinutes, 5, 480, "minutes");
  checkIntRange(p, "concurrentBuildLimit", props.concurrentBuildLimit, 1, 10000, "builds");
  if (props.logRetentionDays !== undefined) {
    p.check(LOG_RETENTION_DAYS.includes(props.logRetentionDays), "logRetentionDays", props.logRetentionDays, `must be one of CloudWatch's retention values (${LOG_RETENTION_DAYS.join(", ")})`);
  }
  if (props.logKmsKeyArn !== undefined) {
    p.check(KMS_KEY_ARN_PATTERN.test(props.logKmsKeyArn), "logKmsKeyArn", props.logKmsKeyArn, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)");
  }

  for (const [name, v] of Object.entries(props.environmentVariables ?? {})) {
    const where = `environmentVariables.${name}`;
    p.check(VARIABLE_NAME_PATTERN.test(name), "environmentVariables name", name, "must be letters, digits and '_', not starting with a digit");
    p.check(!name.startsWith("CODEBUILD_"), "environmentVariables name", name, "must not start with CODEBUILD_ (reserved by CodeBuild)");
    p.check(name !== PUSH_IMAGE_VARIABLE, "environmentVariables name", name, "is set by the construct (false in the pull request project of triggers)");
    p.check(
      !(SAMPLE_ENVIRONMENT_VARIABLES as readonly string[]).includes(name),
      "environmentVariables name",
      name,
      "is set by the construct (from the stack and the repository; use imageTag for IMAGE_TAG)",
    );
    if (Object.hasOwn(DOCKER_BUILD_ENVIRONMENT_VARIABLES, name)) {
      const prop = DOCKER_BUILD_ENVIRONMENT_VARIABLES[name as keyof typeof DOCKER_BUILD_ENVIRONMENT_VARIABLES];
      p.add("environmentVariables name", name, `is set by the construct (use the ${prop} prop)`);
    }
    const type = v.type ?? EnvironmentVariableType.PLAINTEXT;
    p.check(Object.values(EnvironmentVariableType).includes(type), `${where}.type`, type, "must be PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER");
    // A value is never printed when its name looks like a secret, nor where a secret lives.
    const secretName = looksLikeSecret(name);
    const shown =
      secretName || type !== EnvironmentVariableType.PLAINTEXT
        ? new HiddenValue(secretName ? "the name looks like a secret" : `a ${type} reference`)
        : v.value;
    p.check(
      !(type === EnvironmentVariableType.PLAINTEXT && secretName) || isToken(v.value),
      where,
      shown,
      "is PLAINTEXT but its name looks like a secret: store it in SSM Parameter Store or Secrets Manager and set type PARAMETER_STORE or SECRETS_MANAGER",
    );
    p.check((typeof v.value === "string" && v.value.length > 0) || isToken(v.value), `${where}.value`, shown, "must be a non-empty string");
  }

  const source = props.source ?? { type: "NO_SOURCE" };
  if (source.type === "NO_SOURCE") {
    p.check(buildSpec.inlineContent !== undefined, "buildSpec", buildSpec.origin, "must be inline (BuildSpec.fromFile/fromInline/bundled) when the source is NO_SOURCE");
  } else if (source.type === "GITHUB") {
    p.check(GITHUB_URL.test(source.location), "source.location", source.location, "must be https://github.com/<owner>/<repo>.git");
  } else if (source.type === "GITHUB_ENTERPRISE") {
    p.check(GITHUB_ENTERPRISE_URL.test(source.location), "source.location", source.location, "must be https://<host>/<owner>/<repo>.git");
  } else if (source.type === "BITBUCKET") {
    p.check(BITBUCKET_URL.test(source.location), "source.location", source.location, "must be https://bitbucket.org/<workspace>/<repo>.git");
  } else if (source.type === "CODECOMMIT") {
    p.check(CODECOMMIT_URL.test(source.location), "source.location", source.location, "must be https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>");
  } else if (source.type === "S3") {
    p.check(BUCKET_NAME_PATTERN.test(source.bucketName), "source.bucketName", source.bucketName, BUCKET_NAME_RULE);
    p.check(source.objectKey.length > 0 && !source.objectKey.includes("*"), "source.objectKey", source.objectKey, "must be an exact object key (no wildcards)");
  } else {
    p.add("source.type", (source as { type: unknown }).type, "must be NO_SOURCE, GITHUB, GITHUB_ENTERPRISE, BITBUCKET, CODECOMMIT or S3");
  }
  if ("connectionArn" in source && source.connectionArn !== undefined) {
    p.check(CONNECTION_ARN_PATTERN.test(source.connectionArn), "source.connectionArn", source.connectionArn, CONNECTION_ARN_RULE);
  }
  if (props.triggers !== undefined) {
    validateTriggers(p, props.triggers, props.projectName, source.type, "connectionArn" in source ? source.connectionArn : undefined);
  }
  if ("cloneDepth" in source) checkIntRange(p, "source.cloneDepth", source.cloneDepth, 0, 1000000);
  if (props.badge) {
    p.check(source.type === "GITHUB" || source.type === "CODECOMMIT", "badge", true, `needs a GITHUB or CODECOMMIT source (CodeBuild has no badge for ${source.type})`);
  }
  for (const problem of buildSpec.problems()) p.add("buildSpec", buildSpec.origin, problem);
  env.validate?.(p);

  const cache = props.cache ?? { type: "LOCAL" };
  if (cache.type === "S3") {
    p.check(BUCKET_NAME_PATTERN.test(cache.bucketName), "cache.bucketName", cache.bucketName, BUCKET_NAME_RULE);
  } else if (cache.type !== "LOCAL" && cache.type !== "NONE") {
    p.add("cache.type", (cache as { type: unknown }).type, "must be LOCAL, S3 or NONE");
  }

  if (props.vpc) {
    p.check(/^vpc-[0-9a-f]{8,17}$/.test(props.vpc.vpcId), "vpc.vpcId", props.vpc.vpcId, "must be a VPC ID (vpc-…)");
    p.check(props.vpc.subnetIds.length >= 1, "vpc.subnetIds", props.vpc.subnetIds, "must name at least one subnet");
    props.vpc.subnetIds.forEach((s, i) => p.check(/^subnet-[0-9a-f]{8,17}$/.test(s), `vpc.subnetIds[${i}]`, s, "must be a subnet ID (subnet-…)"));
    p.check(props.vpc.securityGroupIds.length >= 1 && props.vpc.securityGroupIds.length <= 5, "vpc.securityGroupIds", props.vpc.securityGroupIds, "must name 1 to 5 security groups");
    props.vpc.securityGroupIds.forEach((s, i) => p.check(/^sg-[0-9a-f]{8,17}$/.test(s), `vpc.securityGroupIds[${i}]`, s, "must be a security group ID (sg-…)"));
  }
  return recordedProblems(p);
}
