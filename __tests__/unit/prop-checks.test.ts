import { EcrRepo, EcrRepoProps, TagMutability } from "../../modules/ecr-repo";
import { EcrRegistryScanning, EcrRegistryScanningProps, RegistryScanType, ScanFrequency } from "../../modules/ecr-registry-scanning";
import { EcrPullThroughCache, EcrPullThroughCacheProps } from "../../modules/ecr-pull-through-cache";
import { CodeBuildPrivilegedProject, CodeBuildPrivilegedProjectProps } from "../../modules/codebuild-privileged-project";
import { CodeBuildDindProject, CodeBuildDindProjectProps } from "../../modules/codebuild-dind-project";
import { ecrRepoPropProblems } from "../../modules/ecr-repo/ecr-repo-props";
import { registryScanningPropProblems } from "../../modules/ecr-registry-scanning/registry-scanning-props";
import { pullThroughCachePropProblems } from "../../modules/ecr-pull-through-cache/pull-through-cache-props";
import { privilegedProjectPropProblems } from "../../modules/codebuild-privileged-project/privileged-environment";
import { dindProjectPropProblems } from "../../modules/codebuild-dind-project/dind-environment";
import { PropValidationError, propProblemDetails } from "../../modules/shared/validation";
import { newStack } from "../support/synth";

/**
 * Each construct's pure prop check (what the environments file's check runs on every environment)
 * is what its constructor throws: the same problems, as data, for the same props.
 */

/** The problems (as data) `create` throws; fails when it throws none. */
function thrown(create: () => unknown): readonly unknown[] {
  try {
    create();
  } catch (e) {
    if (e instanceof PropValidationError) return propProblemDetails(e);
    throw e;
  }
  throw new Error("the constructor accepted the props; expected a PropValidationError");
}

describe("a construct's pure prop check is what its constructor throws", () => {
  test("EcrRepo", () => {
    // GIVEN
    const props: EcrRepoProps = { repositoryName: "My_Repo", tagMutability: "immutable" as TagMutability, keepTaggedImages: 0, pullAccountIds: ["1"] };

    // WHEN
    const pure = ecrRepoPropProblems("Repo", props);

    // THEN
    expect(pure.map((p) => p.prop)).toEqual(["repositoryName", "tagMutability", "keepTaggedImages", "pullAccountIds[0]"]);
    expect(thrown(() => new EcrRepo(newStack(), "Repo", props))).toEqual(pure);
  });

  test("EcrRegistryScanning", () => {
    // GIVEN
    const props: EcrRegistryScanningProps = { scanType: RegistryScanType.BASIC, rules: [{ frequency: ScanFrequency.CONTINUOUS_SCAN, filters: ["App/*", "App/*"] }] };

    // WHEN
    const pure = registryScanningPropProblems("Scanning", props);

    // THEN
    expect(pure.map((p) => p.prop)).toEqual(["rules[0].frequency", "rules[0].filters[0]", "rules[0].filters[1]", "rules[0].filters[1]"]);
    expect(thrown(() => new EcrRegistryScanning(newStack(), "Scanning", props))).toEqual(pure);
  });

  test("EcrPullThroughCache", () => {
    // GIVEN
    const props: EcrPullThroughCacheProps = { rules: [{ upstream: "docker-hub", prefix: "X" }, { upstream: "ecr-public", credentialSecretArn: "arn:aws:secretsmanager:eu-central-1:111111111111:secret:ecr-pullthroughcache/x" }] };

    // WHEN
    const pure = pullThroughCachePropProblems("Cache", props);

    // THEN
    expect(pure.map((p) => p.prop)).toEqual(["rules[0].prefix", "rules[0].credentialSecretArn", "rules[1].credentialSecretArn"]);
    expect(thrown(() => new EcrPullThroughCache(newStack(), "Cache", props))).toEqual(pure);
  });

  test("CodeBuildPrivilegedProject", () => {
    // GIVEN
    const stack = newStack();
    const repository = new EcrRepo(stack, "Repo", { repositoryName: "app" });
    const props: CodeBuildPrivilegedProjectProps = { projectName: "-x", repository, imageTag: ".v1", buildTimeoutMinutes: 3, multiArch: { platforms: ["linux/amd64"] } };

    // WHEN
    const pure = privilegedProjectPropProblems("Build", props);

    // THEN
    expect(pure.map((p) => p.prop)).toEqual(["projectName", "imageTag", "buildTimeoutMinutes", "multiArch.platforms"]);
    expect(thrown(() => new CodeBuildPrivilegedProject(stack, "Build", props))).toEqual(pure);
  });

  test("CodeBuildDindProject", () => {
    // GIVEN
    const stack = newStack();
    const repository = new EcrRepo(stack, "Repo", { repositoryName: "app" });
    const props: CodeBuildDindProjectProps = { projectName: "build-dind", repository, image: "docker:latest", registryCredentialSecretArn: "dockerhub", logRetentionDays: 2 };

    // WHEN
    const pure = dindProjectPropProblems("Dind", props);

    // THEN
    expect(pure.map((p) => p.prop)).toEqual(["logRetentionDays", "image", "registryCredentialSecretArn"]);
    expect(thrown(() => new CodeBuildDindProject(stack, "Dind", props))).toEqual(pure);
  });
});
