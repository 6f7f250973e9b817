export * from "./regional-stack";
export * from "./custom-endpoint";
