import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { BuildSpec } from "../shared/buildspec";
import { CodeBuildDockerProject, CodeBuildDockerProjectProps } from "../shared/codebuild-docker-project";
import type { EcrPullThroughCache } from "../ecr-pull-through-cache/ecr-pull-through-cache";
import { SECRET_ARN_PATTERN, SECRET_ARN_RULE } from "../shared/patterns";

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
    const upstreamImage = props.image ?? DEFAULT_DIND_IMAGE;
    const credential = props.registryCredentialSecretArn;
    const cache = props.pullThroughCache;
    const pinned = PINNED_IMAGE_PATTERN.test(upstreamImage) && PINNED_VERSION_PATTERN.test(upstreamImage);
    const cacheProblem = cache?.coverageProblem(upstreamImage);
    // An image that breaks a rule is reported below, with the project's other problems.
    const image = cache !== undefined && cacheProblem === undefined && pinned ? cache.cachedImage(upstreamImage) : upstreamImage;
    super(scope, id, props, {
      constructName: "CodeBuildDindProject",
      image,
      environmentType: "LINUX_CONTAINER",
      imagePullCredentialsType: credential === undefined && cache === undefined ? "CODEBUILD" : "SERVICE_ROLE",
      registryCredentialSecretArn: credential,
      defaultBuildSpec: () => BuildSpec.bundled(DIND_BUILDSPEC),
      validate: (p) => {
        p.check(
          pinned,
          "image",
          upstreamImage,
          "must be an image reference pinned to a version tag or sha256 digest (not untagged, not a moving tag such as dind or latest), e.g. docker:27.3.1-dind",
        );
        if (credential !== undefined) {
          p.check(SECRET_ARN_PATTERN.test(credential), "registryCredentialSecretArn", credential, SECRET_ARN_RULE);
        }
        if (cache !== undefined) {
          if (cacheProblem !== undefined) p.add("image", upstreamImage, `cannot be pulled through pullThroughCache '${cache.node.id}': it ${cacheProblem}`);
          if (credential !== undefined) p.add("registryCredentialSecretArn", credential, "must not be set with pullThroughCache (the cache rule holds the upstream credential; the role pulls from ECR)");
          const here = TerraformStack.of(scope);
          const there = TerraformStack.of(cache);
          if (here !== there) p.add("pullThroughCache", cache.node.path, `must be in the project's stack ${here.node.path} (CodeBuild pulls the image from the registry of its own account and region)`);
        }
      },
    });
    this.image = image;
    this.upstreamImage = upstreamImage;
    // The pull-request project (triggers) runs on the same image, with its own role.
    if (cache !== undefined) for (const role of [this.role, this.pullRequestRole]) if (role) cache.grantPullThrough(role, [cache.upstreamOf(upstreamImage)!]);
  }
}
