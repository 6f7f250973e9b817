import { Construct } from "constructs";
import { S3Backend, Testing, TerraformStack } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { CodeBuildPrivilegedProject, EcrRepo } from "../../modules";
import { PolicyPack, RULES } from "../../modules/policy-pack";

/**
 * The policy pack's batch build rule: CB-BATCH. CodeBuild's batch guidance: the
 * batch service role is not the build's role (a build that may start builds escapes the batch's
 * restrictions), and the batch limits its builds. An error, like every rule of the pack.
 */
describe("the policy pack's batch build rule CB-BATCH", () => {
  function check(build: (scope: Construct) => void): string[] {
    const stack = new TerraformStack(Testing.app(), "test");
    new AwsProvider(stack, "aws", { region: "eu-central-1" });
    const b = new S3Backend(stack, { bucket: "state", key: "k", region: "eu-central-1", encrypt: true });
    b.addOverride("use_lockfile", true);
    const pack = PolicyPack.applyTo(stack);
    build(stack);
    invokeAspects(stack);
    return pack.violations.map((v) => `${v.rule.id}: ${v.detail}`);
  }
  const project = (scope: Construct) =>
    new CodeBuildPrivilegedProject(scope, "Build", {
      projectName: "build-app",
      repository: new EcrRepo(scope, "Repo", { repositoryName: "team/app" }),
      source: { type: "GITHUB", location: "https://github.com/example/app.git" },
      multiArch: { platforms: ["linux/amd64", "linux/arm64"] },
    });

  test("multiArch passes: a batch role of its own, a build limit", () => {
    expect(check((s) => project(s))).toEqual([]);
  });

  test("the build's own role as the batch service role is an error", () => {
    const found = check((s) => {
      const p = project(s);
      p.resource.buildBatchConfig.serviceRole = p.role.roleArn;
    });
    expect(found).toEqual(["CB-BATCH: build_batch_config.service_role is the project's service_role"]);
  });

  test("a batch without restrictions.maximum_builds_allowed is an error", () => {
    const found = check((s) => project(s).resource.buildBatchConfig.restrictions.resetMaximumBuildsAllowed());
    expect(found).toEqual(["CB-BATCH: build_batch_config has no restrictions.maximum_builds_allowed"]);
  });

  test("the rule says how to fix it and what it mirrors", () => {
    expect(RULES.codebuildBatch).toEqual({
      id: "CB-BATCH",
      mirrors: "AWS CodeBuild batch build guidance (the batch security role, batch restrictions)",
      title: "CodeBuild batch builds run with a batch service role other than the build's, and limit the builds of a batch",
      fix: "give build_batch_config a role of its own (StartBuild, StopBuild, RetryBuild on the project) and restrictions.maximum_builds_allowed (CodeBuildPrivilegedProject multiArch does)",
    });
  });
});
