export * from "./ecr-repo";
export * from "./ecr-registry-scanning";
export * from "./service-role";
export * from "./codebuild-privileged-project";
export * from "./codebuild-dind-project";
export * from "./ecr-pull-through-cache";
export { BuildSpec } from "./shared/buildspec";
export { CodeBuildDockerProject, EnvironmentVariableType } from "./codebuild-project/codebuild-docker-project";
export type {
  BuildEnvironmentVariable,
  CodeBuildDockerProjectProps,
  DockerBuildEnvironment,
  ProjectCache,
  ProjectSource,
  ProjectVpc,
} from "./codebuild-project/codebuild-docker-project";
export { PULL_REQUEST_EVENTS, PUSH_IMAGE_VARIABLE, WEBHOOK_EVENTS_BY_SOURCE } from "./shared/triggers";
export type { ProjectTriggers, WebhookEvent, WebhookFilterGroup, WebhookPattern, WebhookSourceType } from "./shared/triggers";
export { CODEBUILD_BATCH_ACTIONS, ECR_AUTH_ACTIONS, ECR_PULL_ACTIONS, ECR_PUSH_ACTIONS, ECR_READ_ACTIONS, WILDCARD_RESOURCE_ACTIONS } from "./shared/iam";
export type { IGrantee, PolicyCondition, PolicyStatement } from "./shared/iam";
export { RuleTargets } from "./shared/events";
export { CODEBUILD_START_BUILD_ACTIONS, CodeBuildProjectBase } from "./codebuild-project/project-base";
export type { ICodeBuildProject } from "./codebuild-project/project-base";
export { BuildNotificationEvent } from "./codebuild-project/project-observability";
export type { AlarmOptions, MetricOptions, NotifyOptions, ProjectMetric } from "./codebuild-project/project-observability";
export type { EventRule, OnEventOptions, RuleTarget } from "./shared/events";
export { LibraryCopyError } from "./shared/one-copy";
export { PropValidationError } from "./shared/validation";
export type { IPropProblems } from "./shared/validation";
export * from "./policy-pack";
export * from "./github-oidc";
