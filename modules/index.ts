export * from "./ecr-repo";
export * from "./service-role";
export * from "./codebuild-privileged-project";
export * from "./codebuild-dind-project";
export { BuildSpec } from "./shared/buildspec";
export { CodeBuildDockerProject, EnvironmentVariableType } from "./shared/codebuild-docker-project";
export type {
  BuildEnvironmentVariable,
  CodeBuildDockerProjectProps,
  ProjectCache,
  ProjectSource,
  ProjectVpc,
} from "./shared/codebuild-docker-project";
export { PropValidationError } from "./shared/validation";
export * from "./policy-pack";
