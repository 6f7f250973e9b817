export * from "./codebuild-dind-project";
export { RuleTargets } from "../shared/events";
export type { EventRule, OnEventOptions, RuleTarget } from "../shared/events";
export { CODEBUILD_START_BUILD_ACTIONS } from "../shared/project-base";
export type { ICodeBuildProject } from "../shared/project-base";
export { BuildNotificationEvent } from "../shared/project-observability";
export type { AlarmOptions, MetricOptions, NotifyOptions, ProjectMetric } from "../shared/project-observability";
