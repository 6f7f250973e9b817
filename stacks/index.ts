export * from "./regional-stack";
