import { configFieldOf, configPathOf } from "../../../stacks/config-paths";
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

describe("configFieldOf", () => {
  test.each<[string, string, unknown, string]>([
    ["PrivilegedProject", "multiArch.platforms", ["linux/amd64"], "build.platforms"],
    ["PrivilegedProject", "multiArch.platforms[1]", "linux/arm64", "build.platforms[1]"],
    ["PrivilegedProject", "triggers.push[0].headRef", "(main", "build.privilegedProject.triggers.push[0].headRef"],
    ["PullThroughCache", "rules[0].prefix", "X", "build.pullThroughCache.rules[0].prefix"],
    ["RegistryScanning", "rules[0].filters[1]", "a/*", "registryScanning.rules[0].filters[1]"],
  ])("maps %s's %s to its config field, set or not", (id, prop, value, path) => {
    // WHEN
    const at = configFieldOf(problem(id, prop, value));

    // THEN
    expect(at).toBe(path);
  });

  test("names no field of a construct the config does not build", () => {
    expect(configFieldOf(problem("SomethingElse", "imageTag"))).toBeUndefined();
  });
});
