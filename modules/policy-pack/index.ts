export * from "./policy-pack";
