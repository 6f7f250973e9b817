export * from "./codebuild-dind-project";
export { RuleTargets } from "../shared/events";
export type { EventRule, OnEventOptions, RuleTarget } from "../shared/events";
