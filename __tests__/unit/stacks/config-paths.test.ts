import { configPathOf } from "../../../stacks/config-paths";
import { prodEnvironment } from "../../support/environments";

/** A problem of construct `id`'s prop, as PropProblems records it. */
const problem = (id: string, prop: string, value: unknown = "x") => ({ construct: "C", id, prop, value, rule: "must be x" });

describe("configPathOf", () => {
  const env = prodEnvironment();

  test.each<[string, string, unknown, string]>([
    ["DindProject", "registryCredentialSecretArn", "s", "build.dindProject.registryCredentialSecretArn"],
    ["PrivilegedProject", "imageTag", "release", "build.privilegedProject.imageTag"],
    ["PrivilegedProject", "source.location", "https://github.com/acme/app.git", "build.privilegedProject.source.location"],
    ["PrivilegedProject", "environmentVariables name", "API_TOKEN", "build.privilegedProject.environmentVariables.API_TOKEN"],
    ["Repository", "repositoryName", "acme/app", "build.repositoryName"],
    ["Repository", "keepTaggedImages", 100, "build.repository.keepTaggedImages"],
    ["Repository", "pullAccountIds[0]", "222222222222", "build.repository.pullAccountIds[0]"],
  ])("maps %s's %s to the config field the environment sets", (id, prop, value, path) => {
    // WHEN
    const at = configPathOf(env, problem(id, prop, value));

    // THEN
    expect(at).toBe(path);
  });

  test.each<[string, string]>([
    ["DindProject", "image"],
    ["PrivilegedProject", "buildSpec"],
    ["PrivilegedProject", "repository"],
    ["Repository", "encryption"],
    ["SomethingElse", "imageTag"],
  ])("leaves %s's %s to the construct: the environment does not set it", (id, prop) => {
    // WHEN
    const at = configPathOf(env, problem(id, prop));

    // THEN
    expect(at).toBeUndefined();
  });
});
