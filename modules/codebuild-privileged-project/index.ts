export * from "./codebuild-privileged-project";
export {
  MANIFEST_PLATFORMS_VARIABLE,
  MULTI_ARCH_BUILDSPEC,
  MULTI_ARCH_ENVIRONMENTS,
  MULTI_ARCH_PLATFORMS,
  TARGET_PLATFORM_VARIABLE,
} from "./multi-arch";
export type { MultiArchOptions, MultiArchPlatform } from "./multi-arch";
export { RuleTargets } from "../shared/events";
export type { EventRule, OnEventOptions, RuleTarget } from "../shared/events";
export { CODEBUILD_START_BUILD_ACTIONS } from "../codebuild-project/project-base";
export type { ICodeBuildProject } from "../codebuild-project/project-base";
export { BuildNotificationEvent } from "../codebuild-project/project-observability";
export type { AlarmOptions, MetricOptions, NotifyOptions, ProjectMetric } from "../codebuild-project/project-observability";
