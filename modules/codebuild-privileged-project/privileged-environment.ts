/**
 * The build environment of a {@link CodeBuildPrivilegedProject} and its pure prop check.
 * Internal: the package exports the project and its constants, not these functions.
 */
import { BuildSpec } from "../shared/buildspec";
import { type DockerBuildEnvironment, type DockerProjectPropsToCheck, dockerProjectPropProblems } from "../codebuild-project/codebuild-docker-project";
import type { PropProblemDetail } from "../shared/validation";
import type { CodeBuildPrivilegedProjectProps } from "./codebuild-privileged-project";
import { MANIFEST_PLATFORMS_VARIABLE, MULTI_ARCH_BUILDSPEC, TARGET_PLATFORM_VARIABLE, validateMultiArch, withBatchSection } from "./multi-arch";

/** The CodeBuild managed image the privileged project runs on by default. */
export const DEFAULT_MANAGED_IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0";

/** The buildspec bundled for this project, in `buildspecs/`. */
export const PRIVILEGED_BUILDSPEC = "docker-push-ecr.yml";

const MANAGED_IMAGE_PATTERN = /^aws\/codebuild\/[a-z0-9._/-]+:[A-Za-z0-9._-]+$/;

/** A privileged project's props as its pure check reads them (the repository may be missing). */
export type PrivilegedProjectPropsToCheck = Omit<CodeBuildPrivilegedProjectProps, "repository"> & DockerProjectPropsToCheck;

/** The build environment of a privileged project: the managed image, its type, the buildspec and the project's own checks. */
export function privilegedBuildEnvironment(props: PrivilegedProjectPropsToCheck): DockerBuildEnvironment {
  const image = props.image ?? DEFAULT_MANAGED_IMAGE;
  const multiArch = props.multiArch;
  return {
    constructName: "CodeBuildPrivilegedProject",
    image,
    environmentType: props.environmentType ?? (image.includes("aarch64") ? "ARM_CONTAINER" : "LINUX_CONTAINER"),
    imagePullCredentialsType: "CODEBUILD",
    defaultBuildSpec: () =>
      multiArch === undefined || !Array.isArray(multiArch.platforms)
        ? BuildSpec.bundled(PRIVILEGED_BUILDSPEC)
        : BuildSpec.fromInline(withBatchSection(BuildSpec.bundled(MULTI_ARCH_BUILDSPEC).value, multiArch)),
    validate: (p) => {
      p.check(MANAGED_IMAGE_PATTERN.test(image), "image", image, "must be a CodeBuild managed image (aws/codebuild/<name>:<version>); use CodeBuildDindProject for other images");
      if (props.environmentType !== undefined) {
        p.check(["LINUX_CONTAINER", "ARM_CONTAINER"].includes(props.environmentType), "environmentType", props.environmentType, "must be LINUX_CONTAINER or ARM_CONTAINER");
      }
      if (multiArch !== undefined) {
        validateMultiArch(p, multiArch, props.buildSpec?.inlineContent);
        for (const name of [TARGET_PLATFORM_VARIABLE, MANIFEST_PLATFORMS_VARIABLE]) {
          if (Object.hasOwn(props.environmentVariables ?? {}, name)) {
            p.add("environmentVariables name", name, "is set by the batch build graph of multiArch (per build)");
          }
        }
      }
    },
  };
}

/**
 * The problems of a privileged project's props, as data: what its constructor throws, without a
 * construct (the environments file's check reports them at the config's fields).
 */
export function privilegedProjectPropProblems(id: string, props: PrivilegedProjectPropsToCheck): readonly PropProblemDetail[] {
  return dockerProjectPropProblems(id, props, privilegedBuildEnvironment(props));
}
