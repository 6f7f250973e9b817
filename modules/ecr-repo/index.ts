export * from "./repository-base";
export * from "./ecr-repo";
