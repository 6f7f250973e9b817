import { Construct } from "constructs";
import { S3Backend, Testing, TerraformStack } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { CodebuildWebhook } from "@cdktf/provider-aws/lib/codebuild-webhook";
import { CodeBuildPrivilegedProject, CodeBuildPrivilegedProjectProps, EcrRepo } from "../../modules";
import { PolicyPack } from "../../modules/policy-pack";

/**
 * The policy pack's webhook rules: CB-WEBHOOK-FILTER (a webhook without
 * filter groups, or a group without an EVENT filter) and CB-PR-NO-PUSH (a webhook that builds
 * pull requests on a project whose role can push). Both are errors, like every rule of the pack.
 */

const CONNECTION = "arn:aws:codeconnections:eu-central-1:123456789012:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
const GITHUB = { type: "GITHUB", location: "https://github.com/example/app.git", connectionArn: CONNECTION } as const;

describe("the policy pack's webhook rules", () => {
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
  const project = (scope: Construct, triggers: CodeBuildPrivilegedProjectProps["triggers"] = {}) =>
    new CodeBuildPrivilegedProject(scope, "Build", { projectName: "build-app", repository: new EcrRepo(scope, "Repo", { repositoryName: "team/app" }), source: GITHUB, triggers });

  test("the constructs' triggers pass: filter groups everywhere, pull requests on the pull-only role", () => {
    expect(check((s) => project(s))).toEqual([]);
  });

  test("CB-WEBHOOK-FILTER: a webhook without filter groups (it builds every push and pull request of every branch) is an error", () => {
    const found = check((s) => {
      const p = project(s, { push: false });
      new CodebuildWebhook(s, "Bare", { projectName: p.pullRequestProject!.name });
    });
    expect(found).toEqual(["CB-WEBHOOK-FILTER: no filter_group: every push and pull request of every branch starts a build"]);
  });

  test("CB-WEBHOOK-FILTER: a filter group without an EVENT filter is an error", () => {
    const found = check((s) => {
      project(s);
      new CodebuildWebhook(s, "NoEvent", { projectName: "other-project", filterGroup: [{ filter: [{ type: "HEAD_REF", pattern: "^refs/heads/main$" }] }] });
    });
    expect(found).toEqual(["CB-WEBHOOK-FILTER: filter_group 0 has no EVENT filter"]);
  });

  test("CB-PR-NO-PUSH: a pull request webhook on the project whose role can push is an error", () => {
    const found = check((s) => {
      const p = project(s, { pullRequest: false });
      new CodebuildWebhook(s, "PrOnPushing", { projectName: p.projectName, filterGroup: [{ filter: [{ type: "EVENT", pattern: "PULL_REQUEST_CREATED" }] }] });
    });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      /^CB-PR-NO-PUSH: it builds pull requests, and the role of project \$\{aws_codebuild_project\.Build_[A-Za-z_]*[0-9A-F]{8}\.name\} may ecr:CompleteLayerUpload, ecr:InitiateLayerUpload, ecr:PutImage, ecr:UploadLayerPart$/,
    );
  });

  test("CB-PR-NO-PUSH: a push-only webhook on the same project passes", () => {
    expect(check((s) => project(s, { pullRequest: false }))).toEqual([]);
  });

  test("CB-PR-NO-PUSH: a webhook without filter groups on a pushing project breaks both rules", () => {
    const found = check((s) => {
      const p = project(s, { pullRequest: false });
      new CodebuildWebhook(s, "Bare", { projectName: p.projectName });
    });
    expect(found.map((f) => f.split(":")[0])).toEqual(["CB-WEBHOOK-FILTER", "CB-PR-NO-PUSH"]);
  });

  test("both rules can be suppressed with a written reason, like every rule", () => {
    const found = check((s) => {
      const p = project(s, { pullRequest: false });
      const w = new CodebuildWebhook(s, "Bare", { projectName: p.projectName });
      PolicyPack.suppress(w, "CB-WEBHOOK-FILTER", "a private repository whose every branch is trusted");
      PolicyPack.suppress(w, "CB-PR-NO-PUSH", "pull requests come only from the team's own branches");
    });
    expect(found).toEqual([]);
  });
});
