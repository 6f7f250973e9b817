export * from "./repository-base";
export * from "./ecr-repo";
export { RuleTargets } from "../shared/events";
export type { EventRule, OnEventOptions, RuleTarget } from "../shared/events";
