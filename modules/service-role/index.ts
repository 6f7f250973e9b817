export * from "./service-role";
