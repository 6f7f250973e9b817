export * from "./github-actions-oidc-roles";
