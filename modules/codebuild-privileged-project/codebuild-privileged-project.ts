import { Construct } from "constructs";
import { BuildSpec } from "../shared/buildspec";
import { CodeBuildDockerProject, CodeBuildDockerProjectProps } from "../shared/codebuild-docker-project";

/** The CodeBuild managed image the privileged project runs on by default. */
export const DEFAULT_MANAGED_IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0";

/** The buildspec bundled for this project, in `buildspecs/`. */
export const PRIVILEGED_BUILDSPEC = "docker-push-ecr.yml";

const MANAGED_IMAGE_PATTERN = /^aws\/codebuild\/[a-z0-9._/-]+:[A-Za-z0-9._-]+$/;

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

  constructor(scope: Construct, id: string, props: CodeBuildPrivilegedProjectProps) {
    const image = props.image ?? DEFAULT_MANAGED_IMAGE;
    super(scope, id, props, {
      constructName: "CodeBuildPrivilegedProject",
      image,
      environmentType: props.environmentType ?? (image.includes("aarch64") ? "ARM_CONTAINER" : "LINUX_CONTAINER"),
      imagePullCredentialsType: "CODEBUILD",
      defaultBuildSpec: () => BuildSpec.bundled(PRIVILEGED_BUILDSPEC),
      validate: (p) => {
        p.check(MANAGED_IMAGE_PATTERN.test(image), "image", image, "must be a CodeBuild managed image (aws/codebuild/<name>:<version>); use CodeBuildDindProject for other images");
        if (props.environmentType !== undefined) {
          p.check(["LINUX_CONTAINER", "ARM_CONTAINER"].includes(props.environmentType), "environmentType", props.environmentType, "must be LINUX_CONTAINER or ARM_CONTAINER");
        }
      },
    });
    this.image = image;
  }
}
