import * as library from "../../modules";

/**
 * What the package root exports at run time: the constructs, their imports, the error types a
 * caller catches, and no internal helper (the prop-problem collector, the per-stack AWS context).
 * The whole typed surface is the API report's (etc/codebuild-docker-modules.api.md).
 */
test("the root exports the constructs and the error types, not the internal helpers", () => {
  const names = Object.keys(library);
  expect(names).toEqual(expect.arrayContaining(["EcrRepo", "CodeBuildPrivilegedProject", "CodeBuildDindProject", "PolicyPack", "RuleTargets", "PropValidationError", "LibraryCopyError"]));
  expect(names.filter((n) => ["PropProblems", "AwsContext"].includes(n))).toEqual([]);
});
