export * from "./ecr-repo";
