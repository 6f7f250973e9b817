export * from "./service-role-base";
export * from "./service-role";
export * from "./imported-role";
