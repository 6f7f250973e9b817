import type { IServiceRole } from "../service-role/service-role-base";
import { checkIntRange, isToken, type IPropProblems } from "../shared/validation";

/** A platform a multi-arch build builds: one CodeBuild Linux container architecture each. */
export type MultiArchPlatform = "linux/amd64" | "linux/arm64";

/** The platforms {@link MultiArchOptions.platforms} accepts, in the order their builds are listed. */
export const MULTI_ARCH_PLATFORMS: readonly MultiArchPlatform[] = ["linux/amd64", "linux/arm64"];

/** The bundled batch buildspec of a multi-arch project, in `buildspecs/`. */
export const MULTI_ARCH_BUILDSPEC = "docker-push-ecr-multiarch.yml";

/** The variable an architecture's build of the graph gets: the platform it builds. */
export const TARGET_PLATFORM_VARIABLE = "TARGET_PLATFORM";
/** The variable the manifest build of the graph gets: the platforms its manifest list names. */
export const MANIFEST_PLATFORMS_VARIABLE = "MANIFEST_PLATFORMS";
/** The identifier of the manifest build in the build graph. */
export const MANIFEST_BUILD_IDENTIFIER = "manifest";

/** What CodeBuild runs each platform's build on: the container type, and its managed image's architecture. */
export const MULTI_ARCH_ENVIRONMENTS: Readonly<Record<MultiArchPlatform, { type: "LINUX_CONTAINER" | "ARM_CONTAINER"; imageArch: string; defaultImage: string }>> = {
  "linux/amd64": { type: "LINUX_CONTAINER", imageArch: "x86_64", defaultImage: "aws/codebuild/amazonlinux2-x86_64-standard:5.0" },
  "linux/arm64": { type: "ARM_CONTAINER", imageArch: "aarch64", defaultImage: "aws/codebuild/amazonlinux2-aarch64-standard:3.0" },
};

const MANAGED_IMAGE_PATTERN = /^aws\/codebuild\/[a-z0-9._/-]+:[A-Za-z0-9._-]+$/;

/**
 * A multi-arch image: the project runs as a CodeBuild batch build whose build graph builds each
 * platform on its own architecture and then pushes the manifest list of their images.
 */
export interface MultiArchOptions {
  /**
   * The platforms of the image: at least two distinct ones. Each gets a build of its own in the
   * batch, on LINUX_CONTAINER (linux/amd64) or ARM_CONTAINER (linux/arm64), so no build emulates
   * another architecture.
   */
  readonly platforms: MultiArchPlatform[];

  /**
   * The CodeBuild managed image of each platform's build (its architecture must match:
   * `x86_64` for linux/amd64, `aarch64` for linux/arm64). The manifest build runs on the
   * linux/amd64 image.
   * @default - "aws/codebuild/amazonlinux2-x86_64-standard:5.0" (linux/amd64), "aws/codebuild/amazonlinux2-aarch64-standard:3.0" (linux/arm64)
   */
  readonly images?: Partial<Record<MultiArchPlatform, string>>;

  /**
   * The most builds one batch may start (the batch's restriction). The graph has one build per
   * platform and the manifest build, so it must be at least that many; a retry of a failed build
   * counts too.
   * @default - the builds of the graph: platforms + 1
   */
  readonly maximumBuildsAllowed?: number;

  /**
   * Minutes the whole batch may run (5-2160), every build included.
   * @default - buildTimeoutMinutes + 60, at most 2160 (the architectures build at the same time, then the manifest build)
   */
  readonly timeoutMinutes?: number;

  /**
   * The batch service role: CodeBuild starts, stops and retries the batch's builds with it. A
   * role of its own, not the build's role: a build that could start builds could escape the
   * batch's restrictions (CodeBuild's advice). It gets `codebuild:StartBuild`, `StopBuild` and
   * `RetryBuild` on exactly this project.
   * @default - a role is created, bound to this project
   */
  readonly batchRole?: IServiceRole;
}

/** The node of a build graph, as the batch buildspec lists it. */
interface GraphBuild {
  readonly identifier: string;
  readonly dependOn?: readonly string[];
  readonly type: string;
  readonly image: string;
  readonly variables: Readonly<Record<string, string>>;
}

/** The identifier of a platform's build in the graph: `build_amd64`, `build_arm64`. */
export function platformBuildIdentifier(platform: MultiArchPlatform): string {
  return `build_${platform.replace(/^linux\//, "")}`;
}

/** The image of a platform's build. */
export function multiArchImage(options: MultiArchOptions, platform: MultiArchPlatform): string {
  return options.images?.[platform] ?? MULTI_ARCH_ENVIRONMENTS[platform].defaultImage;
}

/** The platforms of `options`, in {@link MULTI_ARCH_PLATFORMS} order. */
export function sortedPlatforms(options: MultiArchOptions): MultiArchPlatform[] {
  return MULTI_ARCH_PLATFORMS.filter((p) => options.platforms.includes(p));
}

/**
 * The `batch:` section of the batch buildspec: one build per platform on its own container type
 * and image (privileged: each runs `docker build`), then the manifest build, which depends on
 * them all. Written by hand, not with a YAML library: the library has no dependencies.
 */
export function renderBatchSection(options: MultiArchOptions): string {
  const platforms = sortedPlatforms(options);
  const amd64Image = multiArchImage(options, "linux/amd64");
  const builds: GraphBuild[] = [
    ...platforms.map((platform) => ({
      identifier: platformBuildIdentifier(platform),
      type: MULTI_ARCH_ENVIRONMENTS[platform].type,
      image: multiArchImage(options, platform),
      variables: { [TARGET_PLATFORM_VARIABLE]: platform },
    })),
    {
      identifier: MANIFEST_BUILD_IDENTIFIER,
      dependOn: platforms.map(platformBuildIdentifier),
      type: MULTI_ARCH_ENVIRONMENTS["linux/amd64"].type,
      image: amd64Image,
      variables: { [MANIFEST_PLATFORMS_VARIABLE]: platforms.join(" ") },
    },
  ];
  const lines = ["batch:", "  fast-fail: true", "  build-graph:"];
  for (const b of builds) {
    lines.push(`    - identifier: ${b.identifier}`);
    if (b.dependOn) lines.push("      depend-on:", ...b.dependOn.map((d) => `        - ${d}`));
    lines.push("      env:", `        type: ${b.type}`, `        image: ${b.image}`, "        privileged-mode: true", "        variables:");
    lines.push(...Object.entries(b.variables).map(([k, v]) => `          ${k}: ${v}`));
  }
  return lines.join("\n") + "\n";
}

/** The `batch:` section of a buildspec: from its line to the next top-level key. */
const BATCH_SECTION = /^batch:\n(?:(?:[ \t].*)?\n)*/m;

/** `buildspec` (the bundled batch buildspec) with its `batch:` section written from `options`. */
export function withBatchSection(buildspec: string, options: MultiArchOptions): string {
  if (!BATCH_SECTION.test(buildspec)) throw new Error(`${MULTI_ARCH_BUILDSPEC} has no batch: section`);
  return buildspec.replace(BATCH_SECTION, () => `${renderBatchSection(options)}\n`);
}

/** The checks of `multiArch`, one line per problem. */
export function validateMultiArch(p: IPropProblems, options: MultiArchOptions, buildSpecInline: string | undefined): void {
  const platforms = options.platforms;
  if (!Array.isArray(platforms)) {
    p.add("multiArch.platforms", platforms, `must be a list of at least two of ${MULTI_ARCH_PLATFORMS.join(", ")}`);
    return;
  }
  platforms.forEach((platform, i) =>
    p.check(MULTI_ARCH_PLATFORMS.includes(platform), `multiArch.platforms[${i}]`, platform, `must be one of ${MULTI_ARCH_PLATFORMS.join(", ")} (CodeBuild's LINUX_CONTAINER and ARM_CONTAINER)`),
  );
  platforms.forEach((platform, i) => {
    if (platforms.indexOf(platform) !== i) p.add(`multiArch.platforms[${i}]`, platform, "is listed twice (each platform is built once)");
  });
  const distinct = new Set(platforms.filter((x) => MULTI_ARCH_PLATFORMS.includes(x)));
  // A repeated platform is reported above: removing the repeat is the fix, not another platform.
  const repeated = platforms.some((x, i) => platforms.indexOf(x) !== i);
  p.check(distinct.size >= 2 || repeated, "multiArch.platforms", platforms, "must name at least two distinct platforms (a manifest list of one image is that image: leave multiArch out)");
  for (const [platform, image] of Object.entries(options.images ?? {})) {
    const where = `multiArch.images.${platform}`;
    if (!MULTI_ARCH_PLATFORMS.includes(platform as MultiArchPlatform)) {
      p.add(where, image, `names no platform (images are given for ${MULTI_ARCH_PLATFORMS.join(", ")})`);
      continue;
    }
    if (image === undefined || isToken(image)) continue;
    const arch = MULTI_ARCH_ENVIRONMENTS[platform as MultiArchPlatform].imageArch;
    p.check(MANAGED_IMAGE_PATTERN.test(image), where, image, "must be a CodeBuild managed image (aws/codebuild/<name>:<version>)");
    p.check(image.includes(arch), where, image, `must be an ${arch} image (the ${MULTI_ARCH_ENVIRONMENTS[platform as MultiArchPlatform].type} of ${platform} runs ${arch})`);
    if (!platforms.includes(platform as MultiArchPlatform)) p.add(where, image, `is for a platform multiArch.platforms does not list (${platform})`);
  }
  checkIntRange(p, "multiArch.maximumBuildsAllowed", options.maximumBuildsAllowed, Math.max(distinct.size + 1, 1), 100, `builds (one per platform and the manifest build: at least ${distinct.size + 1}; CodeBuild allows at most 100)`);
  checkIntRange(p, "multiArch.timeoutMinutes", options.timeoutMinutes, 5, 2160, "minutes");
  if (buildSpecInline !== undefined) {
    p.check(/^batch:\s*$/m.test(buildSpecInline), "buildSpec", "with multiArch", "must have a batch: section with a build-graph (a multi-arch project runs batch builds); leave buildSpec out for the bundled one");
  }
}
