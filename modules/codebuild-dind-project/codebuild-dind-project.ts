import { Construct } from "constructs";
import { BuildSpec } from "../shared/buildspec";
import { CodeBuildDockerProject, CodeBuildDockerProjectProps } from "../shared/codebuild-docker-project";

/**
 * The Docker-in-Docker image the dind project runs on by default, pinned to a version tag so a
 * new upstream release never changes builds silently.
 */
export const DEFAULT_DIND_IMAGE = "docker:27.3.1-dind";

/** The buildspec bundled for this project, in `buildspecs/`. */
export const DIND_BUILDSPEC = "docker-dind.yml";

/** `[registry/]repository:tag` or `…@sha256:<digest>`, with a tag other than `latest`. */
const PINNED_IMAGE_PATTERN = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$/;
/** The tag carries a version number (so `dind`, `latest`, `stable` are refused), or there is a digest. */
const PINNED_VERSION_PATTERN = /(:[^/:@]*\d[^/:@]*|@sha256:[a-f0-9]{64})$/;
const SECRET_ARN_PATTERN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;

/** Properties of a {@link CodeBuildDindProject}. */
export interface CodeBuildDindProjectProps extends CodeBuildDockerProjectProps {
  /**
   * The external build image, pinned by version tag or digest (`latest` and untagged are refused).
   * @default "docker:27.3.1-dind"
   */
  readonly image?: string;

  /**
   * ARN of a Secrets Manager secret with `username` and `password` for the image's registry.
   * Setting it switches the image pull credentials to SERVICE_ROLE and grants the role read on
   * that secret.
   * @default - the image is pulled anonymously by CodeBuild (CODEBUILD pull credentials)
   */
  readonly registryCredentialSecretArn?: string;
}

/**
 * A CodeBuild project on an external Docker-in-Docker image (`docker:dind`), as in the AWS
 * "Docker in custom image sample for CodeBuild": the buildspec starts `dockerd` inside the
 * build container, builds the multi-stage image and pushes it to ECR.
 *
 * Privileged mode is on because `dockerd` inside the container needs it (mounts, cgroups,
 * overlay2). Everything else (role, grants, logs, cache, sample variables) is shared with
 * {@link CodeBuildPrivilegedProject}.
 *
 * @example
 * new CodeBuildDindProject(this, "Dind", { projectName: "build-app-dind", repository: repo });
 */
export class CodeBuildDindProject extends CodeBuildDockerProject {
  /** The build image. */
  public readonly image: string;

  constructor(scope: Construct, id: string, props: CodeBuildDindProjectProps) {
    const image = props.image ?? DEFAULT_DIND_IMAGE;
    const credential = props.registryCredentialSecretArn;
    super(scope, id, props, {
      constructName: "CodeBuildDindProject",
      image,
      environmentType: "LINUX_CONTAINER",
      imagePullCredentialsType: credential === undefined ? "CODEBUILD" : "SERVICE_ROLE",
      registryCredentialSecretArn: credential,
      defaultBuildSpec: () => BuildSpec.bundled(DIND_BUILDSPEC),
      validate: (p) => {
        p.check(
          PINNED_IMAGE_PATTERN.test(image) && PINNED_VERSION_PATTERN.test(image),
          "image",
          image,
          "must be an image reference pinned to a version tag or sha256 digest (not untagged, not a moving tag such as dind or latest), e.g. docker:27.3.1-dind",
        );
        if (credential !== undefined) {
          p.check(SECRET_ARN_PATTERN.test(credential), "registryCredentialSecretArn", credential, "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)");
        }
      },
    });
    this.image = image;
  }
}
