import type { IEcrRepository } from "../ecr-repo/repository-base";
import { CodeBuildServiceRole } from "../service-role/service-role";
import type { IServiceRole } from "../service-role/service-role-base";
import { BuildSpec } from "../shared/buildspec";
import type { IPropProblems } from "../shared/validation";
import {
  ProjectTriggers,
} from "../shared/triggers";

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
   * the build as `DOCKER_BUILD_CONTEXT` (not `DOCKER_CONTEXT`, which the docker CLI reads as the
   * name of a Docker context).
   * @default "."
   */
  readonly buildContext?: string;

  /**
   * Extra environment variables. `AWS_DEFAULT_REGION`, `AWS_ACCOUNT_ID`, `IMAGE_TAG`,
   * `IMAGE_REPO_NAME`, `DOCKERFILE` and `DOCKER_BUILD_CONTEXT` are set by the construct and cannot be
   * given here; nor can `DOCKER_CONTEXT`, which the docker CLI reads as the name of a Docker context.
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
  readonly validate?: (problems: IPropProblems) => void;
}

/** The four variables of the AWS Docker sample, set by the construct. */
export const SAMPLE_ENVIRONMENT_VARIABLES = ["AWS_DEFAULT_REGION", "AWS_ACCOUNT_ID", "IMAGE_TAG", "IMAGE_REPO_NAME"] as const;

/** What the bundled buildspecs build, set by the construct from its props (the prop each comes from). */
export const DOCKER_BUILD_ENVIRONMENT_VARIABLES = { DOCKERFILE: "dockerfile", DOCKER_BUILD_CONTEXT: "buildContext" } as const;

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
