import { Construct } from "constructs";
import { CodeBuildServiceRole } from "../service-role/service-role";
import type { IServiceRole } from "../service-role/service-role-base";
import { AwsContext } from "../shared/aws-context";
import { CodeBuildDockerProject, CodeBuildDockerProjectProps } from "../codebuild-project/codebuild-docker-project";
import { CODEBUILD_BATCH_ACTIONS, CODEBUILD_READ_BUILD_ACTIONS } from "../shared/iam";
import { MultiArchOptions, sortedPlatforms } from "./multi-arch";
import { privilegedBuildEnvironment } from "./privileged-environment";

export { DEFAULT_MANAGED_IMAGE, PRIVILEGED_BUILDSPEC } from "./privileged-environment";

/** Properties of a {@link CodeBuildPrivilegedProject}. */
export interface CodeBuildPrivilegedProjectProps extends CodeBuildDockerProjectProps {
  /**
   * The CodeBuild managed image (`aws/codebuild/<name>:<version>`).
   * @default "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
   */
  readonly image?: string;

  /**
   * The container type.
   * @default - "ARM_CONTAINER" for an `aarch64` image, else "LINUX_CONTAINER"
   */
  readonly environmentType?: "LINUX_CONTAINER" | "ARM_CONTAINER";

  /**
   * Build a multi-arch image: the project becomes a CodeBuild batch build project whose build
   * graph builds each platform on its own architecture (LINUX_CONTAINER, ARM_CONTAINER) and then
   * pushes the manifest list of their images (buildspecs/docker-push-ecr-multiarch.yml). A
   * separate batch service role starts the builds; the batch is restricted to the graph's builds
   * and the project's compute type. With `triggers`, pushes start batch builds (pull requests
   * still build one image without pushing). A local AWS has no batch builds: AWS only.
   * @default - none: one build, one image of the build image's architecture
   */
  readonly multiArch?: MultiArchOptions;
}

/**
 * A CodeBuild project on a CodeBuild managed image that builds a multi-stage Docker image and
 * pushes it to ECR, as in the AWS "Docker sample for CodeBuild".
 *
 * Privileged mode is on because `docker build` needs the Docker daemon the managed image
 * starts, and that daemon only runs in a privileged build container. The sample's variables
 * `AWS_DEFAULT_REGION`, `AWS_ACCOUNT_ID` and `IMAGE_REPO_NAME` are set from the stack and the
 * repository (`IMAGE_TAG` from `imageTag`, when set); the role (created when none is given) gets
 * push on the repository. Each build pushes a tag of its own, so IMMUTABLE tags accept every build.
 *
 * @example
 * new CodeBuildPrivilegedProject(this, "Build", { projectName: "build-app", repository: repo });
 */
export class CodeBuildPrivilegedProject extends CodeBuildDockerProject {
  /** The build image. */
  public readonly image: string;
  /** The batch service role, with `multiArch`. */
  public readonly batchRole?: IServiceRole;

  constructor(scope: Construct, id: string, props: CodeBuildPrivilegedProjectProps) {
    const env = privilegedBuildEnvironment(props);
    super(scope, id, props, env);
    const multiArch = props.multiArch;
    const image = env.image;
    this.image = image;
    if (multiArch !== undefined) this.batchRole = this.enableBatchBuilds(props, multiArch);
  }

  /**
   * Makes the project a batch build project: the batch service role (StartBuild, StopBuild and
   * RetryBuild on exactly this project), the batch's restrictions and timeout; the build role
   * may read its own project's builds (each build finds its batch, whose ID is the shared tag);
   * the push webhook starts batch builds.
   */
  private enableBatchBuilds(props: CodeBuildPrivilegedProjectProps, multiArch: MultiArchOptions): IServiceRole {
    const context = AwsContext.of(this);
    // A literal ARN, not the project's attribute: the role's policy and the project would refer to each other.
    const projectArn = context.arn("codebuild", `project/${props.projectName}`);
    const batchRole =
      multiArch.batchRole ??
      new CodeBuildServiceRole(this, "BatchRole", {
        projectName: props.projectName,
        description: `CodeBuild batch service role of ${props.projectName}: starts, stops and retries its batch builds (managed by cdktf)`,
        tags: props.tags,
      });
    batchRole.addToPrincipalPolicy({ sid: "BatchBuilds", actions: [...CODEBUILD_BATCH_ACTIONS], resources: [projectArn] });
    this.role.addToPrincipalPolicy({ sid: "ReadOwnBuilds", actions: [...CODEBUILD_READ_BUILD_ACTIONS], resources: [projectArn] });
    this.resource.putBuildBatchConfig({
      serviceRole: batchRole.roleArn,
      combineArtifacts: false,
      timeoutInMins: multiArch.timeoutMinutes ?? Math.min((props.buildTimeoutMinutes ?? 60) + 60, 2160),
      restrictions: {
        maximumBuildsAllowed: multiArch.maximumBuildsAllowed ?? sortedPlatforms(multiArch).length + 1,
        computeTypesAllowed: [props.computeType ?? "BUILD_GENERAL1_SMALL"],
      },
    });
    if (this.webhook !== undefined) this.webhook.buildType = "BUILD_BATCH";
    return batchRole;
  }
}
