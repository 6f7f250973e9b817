export * from "./regional-stack";
export * from "./local-aws";
