import { Construct } from "constructs";
import { CodeBuildDockerProject, CodeBuildDockerProjectProps } from "../codebuild-project/codebuild-docker-project";
import type { EcrPullThroughCache } from "../ecr-pull-through-cache/ecr-pull-through-cache";
import { DEFAULT_DIND_IMAGE, dindBuildEnvironment } from "./dind-environment";

export { DEFAULT_DIND_IMAGE, DIND_BUILDSPEC } from "./dind-environment";

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

  /**
   * Pull `image` through this ECR pull-through cache (of the project's stack) instead of from its
   * upstream registry: the project runs on the cached URI
   * (`<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/library/docker:…-dind`) with SERVICE_ROLE
   * pull credentials, and the role gets the pull-through permissions on that rule's prefix only.
   * `image` stays the upstream reference; the cache needs a rule for its registry. Not together
   * with `registryCredentialSecretArn` (the cache holds the upstream credential).
   * @default - the image is pulled from its upstream registry
   */
  readonly pullThroughCache?: EcrPullThroughCache;
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
  /** The build image the project runs on (the cached URI when it is pulled through a cache). */
  public readonly image: string;
  /** The image as it is named upstream (`image` prop, or the default). */
  public readonly upstreamImage: string;

  constructor(scope: Construct, id: string, props: CodeBuildDindProjectProps) {
    const env = dindBuildEnvironment(props, scope);
    super(scope, id, props, env);
    const upstreamImage = props.image ?? DEFAULT_DIND_IMAGE;
    const cache = props.pullThroughCache;
    const image = env.image;
    this.image = image;
    this.upstreamImage = upstreamImage;
    // The pull-request project (triggers) runs on the same image, with its own role.
    if (cache !== undefined) for (const role of [this.role, this.pullRequestRole]) if (role) cache.grantPullThrough(role, [cache.upstreamOf(upstreamImage)!]);
  }
}

