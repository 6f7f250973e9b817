export * from "./codebuild-dind-project";
export { RuleTargets } from "../shared/events";
export type { EventRule, OnEventOptions, RuleTarget } from "../shared/events";
export { CODEBUILD_START_BUILD_ACTIONS } from "../codebuild-project/project-base";
export type { ICodeBuildProject } from "../codebuild-project/project-base";
export { BuildNotificationEvent } from "../codebuild-project/project-observability";
export type { AlarmOptions, MetricOptions, NotifyOptions, ProjectMetric } from "../codebuild-project/project-observability";
