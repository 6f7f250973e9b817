export * from "./ecr-registry-scanning";
