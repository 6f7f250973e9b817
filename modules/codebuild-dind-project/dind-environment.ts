/**
 * The build environment of a {@link CodeBuildDindProject} and its pure prop check.
 * Internal: the package exports the project and its constants, not these functions.
 */
import type { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { BuildSpec } from "../shared/buildspec";
import { type DockerBuildEnvironment, type DockerProjectPropsToCheck, dockerProjectPropProblems } from "../codebuild-project/codebuild-docker-project";
import { SECRET_ARN_PATTERN, SECRET_ARN_RULE } from "../shared/patterns";
import type { PropProblemDetail } from "../shared/validation";
import type { CodeBuildDindProjectProps } from "./codebuild-dind-project";

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

/** A dind project's props as its pure check reads them (the repository may be missing). */
export type DindProjectPropsToCheck = Omit<CodeBuildDindProjectProps, "repository"> & DockerProjectPropsToCheck;

/**
 * The build environment of a dind project: the image (the cached URI when it is pulled through
 * the cache), its pull credentials, the buildspec and the project's own checks. `scope` is the
 * project's scope, needed only with a pull-through cache.
 */
export function dindBuildEnvironment(props: DindProjectPropsToCheck, scope?: Construct): DockerBuildEnvironment {
  const upstreamImage = props.image ?? DEFAULT_DIND_IMAGE;
  const credential = props.registryCredentialSecretArn;
  const cache = props.pullThroughCache;
  const pinned = PINNED_IMAGE_PATTERN.test(upstreamImage) && PINNED_VERSION_PATTERN.test(upstreamImage);
  const cacheProblem = cache?.coverageProblem(upstreamImage);
  // An image that breaks a rule is reported by validate, with the project's other problems.
  const image = cache !== undefined && cacheProblem === undefined && pinned ? cache.cachedImage(upstreamImage) : upstreamImage;
  return {
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
        if (cacheProblem !== undefined) p.add("image", upstreamImage, uncachedImageRule(cache.node.id, cacheProblem));
        if (credential !== undefined) p.add("registryCredentialSecretArn", credential, "must not be set with pullThroughCache (the cache rule holds the upstream credential; the role pulls from ECR)");
        if (scope !== undefined) {
          const here = TerraformStack.of(scope);
          const there = TerraformStack.of(cache);
          if (here !== there) p.add("pullThroughCache", cache.node.path, `must be in the project's stack ${here.node.path} (CodeBuild pulls the image from the registry of its own account and region)`);
        }
      }
    },
  };
}

/** The rule a dind image breaks when pull-through cache `cacheId` cannot serve it (`problem`: why). */
export function uncachedImageRule(cacheId: string, problem: string): string {
  return `cannot be pulled through pullThroughCache '${cacheId}': it ${problem}`;
}

/**
 * The problems of a dind project's props, as data: what its constructor throws, without a
 * construct (the environments file's check reports them at the config's fields).
 */
export function dindProjectPropProblems(id: string, props: DindProjectPropsToCheck): readonly PropProblemDetail[] {
  return dockerProjectPropProblems(id, props, dindBuildEnvironment(props));
}
