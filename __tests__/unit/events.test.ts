import { TerraformStack, Testing } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { CODEBUILD_START_BUILD_ACTIONS, CodeBuildDindProject, CodeBuildPrivilegedProject, CodeBuildServiceRole, EcrRepo, ImportedRole, RuleTargets } from "../../modules";
import { messageOf, newStack, only, resources, statement, synthJson } from "../support/synth";

/**
 * The events of the constructs, as aws-cdk-lib's `onEvent` family: each becomes an EventBridge
 * rule (aws_cloudwatch_event_rule) with its event pattern and typed targets (aws_cloudwatch_event_target).
 */
const TOPIC = "arn:aws:sns:eu-central-1:111111111111:builds";
const QUEUE = "arn:aws:sqs:eu-central-1:111111111111:scans";
const ROLE = "arn:aws:iam::111111111111:role/events-start-build";

/** The rules of a synthesized stack: name of the resource → parsed pattern, description and the targets' ARNs. */
function rules(json: ReturnType<typeof synthJson>) {
  const targets = resources(json, "aws_cloudwatch_event_target");
  return Object.entries<{ event_pattern: string; description: string }>(json.resource?.aws_cloudwatch_event_rule ?? {}).map(([key, r]) => ({
    key,
    pattern: JSON.parse(r.event_pattern),
    description: r.description,
    targets: targets.filter((t) => t.rule === `\${aws_cloudwatch_event_rule.${key}.name}`).map((t) => ({ arn: t.arn, role: t.role_arn })),
  }));
}

describe("ECR repository events", () => {
  test("onImageScanCompleted: a rule for ECR Image Scan COMPLETE of this repository (and the given tags), to an SQS queue", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    repo.onImageScanCompleted("Scanned", { targets: [RuleTargets.sqsQueue(QUEUE)], imageTags: ["main"] });
    const [rule] = rules(synthJson(stack));
    expect(rule).toEqual({
      key: expect.any(String),
      pattern: { source: ["aws.ecr"], "detail-type": ["ECR Image Scan"], detail: { "repository-name": ["team/app"], "scan-status": ["COMPLETE"], "image-tags": ["main"] } },
      description: "completed image scans of team/app",
      targets: [{ arn: QUEUE, role: undefined }],
    });
  });

  test("onCloudTrailImagePushed: PutImage of this repository as CloudTrail records it, optionally of one tag", () => {
    const stack = newStack();
    const repo = EcrRepo.fromRepositoryArn(stack, "Repo", "arn:aws:ecr:eu-central-1:111111111111:repository/team/app");
    repo.onCloudTrailImagePushed("Pushed", { targets: [RuleTargets.snsTopic(TOPIC)], imageTag: "main" });
    const [rule] = rules(synthJson(stack));
    expect(rule).toEqual({
      key: expect.any(String),
      pattern: { source: ["aws.ecr"], "detail-type": ["AWS API Call via CloudTrail"], detail: { eventSource: ["ecr.amazonaws.com"], eventName: ["PutImage"], requestParameters: { repositoryName: ["team/app"], imageTag: ["main"] } } },
      description: "images pushed to team/app (CloudTrail)",
      targets: [{ arn: TOPIC, role: undefined }],
    });
  });

  test("onEvent: every ECR event of the repository; repositoryUriForTagOrDigest picks the tag or the digest form", () => {
    const stack = newStack();
    const repo = EcrRepo.fromRepositoryArn(stack, "Repo", "arn:aws:ecr:eu-central-1:111111111111:repository/team/app");
    repo.onEvent("All", { targets: [RuleTargets.snsTopic(TOPIC)], ruleName: "team-app-ecr" });
    expect(only(synthJson(stack), "aws_cloudwatch_event_rule")).toMatchObject({ name: "team-app-ecr", event_pattern: JSON.stringify({ source: ["aws.ecr"], detail: { "repository-name": ["team/app"] } }) });
    const digest = `sha256:${"a".repeat(64)}`;
    expect([repo.repositoryUriForTagOrDigest("v1"), repo.repositoryUriForTagOrDigest(digest)]).toEqual([
      "111111111111.dkr.ecr.eu-central-1.amazonaws.com/team/app:v1",
      `111111111111.dkr.ecr.eu-central-1.amazonaws.com/team/app@${digest}`,
    ]);
  });
});

describe("CodeBuild project events", () => {
  test("onBuildFailed, onBuildSucceeded, onStateChange, onPhaseChange, onEvent: each a rule on this project's builds, with its targets", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    const project = new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo });
    project.onBuildFailed("Failed", { targets: [RuleTargets.snsTopic(TOPIC)] });
    project.onBuildSucceeded("Succeeded", { targets: [RuleTargets.codeBuildProject("arn:aws:codebuild:eu-central-1:111111111111:project/deploy-app", ROLE)] });
    project.onStateChange("State", { targets: [RuleTargets.snsTopic(TOPIC)] });
    project.onPhaseChange("Phase", { targets: [RuleTargets.snsTopic(TOPIC)] });
    project.onEvent("Any", { targets: [RuleTargets.snsTopic(TOPIC)] });
    const byId = Object.fromEntries(rules(synthJson(stack)).map((r) => [r.key.split("_")[1], r]));
    const of = (detailType: string | undefined, extra: Record<string, unknown> = {}) => ({ source: ["aws.codebuild"], ...(detailType ? { "detail-type": [detailType] } : {}), detail: { "project-name": ["build-app"], ...extra } });
    expect(byId.Failed).toMatchObject({ pattern: of("CodeBuild Build State Change", { "build-status": ["FAILED"] }), description: "failed builds of build-app", targets: [{ arn: TOPIC }] });
    expect(byId.Succeeded).toMatchObject({ pattern: of("CodeBuild Build State Change", { "build-status": ["SUCCEEDED"] }), targets: [{ arn: "arn:aws:codebuild:eu-central-1:111111111111:project/deploy-app", role: ROLE }] });
    expect(byId.State.pattern).toEqual(of("CodeBuild Build State Change"));
    expect(byId.Phase.pattern).toEqual(of("CodeBuild Build Phase Change"));
    expect(byId.Any.pattern).toEqual(of(undefined));
  });

  test("the dind project has them too", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    new CodeBuildDindProject(stack, "Dind", { projectName: "dind-app", repository: repo }).onBuildFailed("Failed", { targets: [RuleTargets.snsTopic(TOPIC)] });
    expect(JSON.parse(only(synthJson(stack), "aws_cloudwatch_event_rule").event_pattern).detail).toEqual({ "project-name": ["dind-app"], "build-status": ["FAILED"] });
  });
});

describe("bad input is one line each", () => {
  test("a target of the wrong service, a role that is not a role, no targets, a bad rule name", () => {
    expect(messageOf(() => RuleTargets.snsTopic(QUEUE))).toBe(`RuleTargets 'sns': arn "${QUEUE}" must be the ARN of a sns resource (arn:<partition>:sns:<region>:<account>:…)`);
    expect(messageOf(() => RuleTargets.codeBuildProject("arn:aws:codebuild:eu-central-1:111111111111:project/p", "deploy-role"))).toBe(
      `RuleTargets 'codebuild': roleArn "deploy-role" must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)`,
    );
    const repo = new EcrRepo(newStack(), "Repo", { repositoryName: "team/app" });
    expect(messageOf(() => repo.onEvent("None", { targets: [], ruleName: "has space" })).split("\n")).toEqual([
      "EcrRepo 'None': targets 0 must name 1 to 5 targets (EventBridge's limit per rule)",
      `EcrRepo 'None': ruleName "has space" must be 1-64 letters, digits, '.', '-' and '_' (EventBridge naming rules)`,
    ]);
  });
});

describe("CodeBuild projects imported by name or ARN, and grantStartBuild", () => {
  test("fromProjectName builds the literal ARN where the stack's account and region are known; its events name the project", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "tools");
    new AwsProvider(stack, "aws", { region: "eu-central-1", allowedAccountIds: ["111111111111"] });
    const project = CodeBuildPrivilegedProject.fromProjectName(stack, "Existing", "deploy-app");
    expect(project.projectArn).toBe("arn:aws:codebuild:eu-central-1:111111111111:project/deploy-app");
    project.onBuildFailed("Failed", { targets: [RuleTargets.snsTopic(TOPIC)] });
    expect(JSON.parse(only(synthJson(stack), "aws_cloudwatch_event_rule").event_pattern).detail).toEqual({ "project-name": ["deploy-app"], "build-status": ["FAILED"] });
  });

  test("fromProjectArn reads the name of a project of another account; grantStartBuild gives a role of this stack start, stop and read on exactly that ARN", () => {
    const stack = newStack();
    const arn = "arn:aws:codebuild:eu-central-1:222222222222:project/deploy-app";
    const project = CodeBuildDindProject.fromProjectArn(stack, "Deploy", arn);
    expect(project.projectName).toBe("deploy-app");
    const role = new CodeBuildServiceRole(stack, "Role");
    project.grantStartBuild(role);
    expect(statement(synthJson(stack), "Role/PolicyDocument", "CodeBuildStartBuild")).toMatchObject({ actions: [...CODEBUILD_START_BUILD_ACTIONS].sort(), resources: [arn] });
  });

  test("grantStartBuild on a project of this stack names its ARN", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    const project = new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo });
    const caller = new CodeBuildServiceRole(stack, "Caller");
    project.grantStartBuild(caller);
    expect(statement(synthJson(stack), "Caller/PolicyDocument", "CodeBuildStartBuild").resources).toEqual([expect.stringMatching(/^\$\{aws_codebuild_project\.Build_[0-9A-F]{8}\.arn\}$/)]);
  });

  test("a bad name or ARN is one line; a grantStartBuild that would change nothing fails synth naming allowedAccountIds", () => {
    const stack = newStack();
    expect(messageOf(() => CodeBuildPrivilegedProject.fromProjectName(stack, "Bad", "-x"))).toBe(
      `CodeBuildProject.fromProjectName 'Bad': projectName "-x" must be 2-255 letters, digits, '-' and '_', starting with a letter or digit (CodeBuild naming rules)`,
    );
    expect(messageOf(() => CodeBuildPrivilegedProject.fromProjectArn(stack, "Bad", "arn:aws:ecr:eu-central-1:111111111111:repository/x"))).toBe(
      `CodeBuildProject.fromProjectArn 'Bad': projectArn "arn:aws:ecr:eu-central-1:111111111111:repository/x" must be a CodeBuild project ARN (arn:<partition>:codebuild:<region>:<account>:project/<name>)`,
    );
    const project = CodeBuildPrivilegedProject.fromProjectArn(stack, "Deploy", "arn:aws:codebuild:eu-central-1:111111111111:project/deploy-app");
    expect(messageOf(() => project.grantStartBuild(ImportedRole.fromRoleArn(stack, "Ops", "arn:aws:iam::222222222222:role/ops")))).toMatch(/^ImportedProject 'Deploy': grantStartBuild to test\/Ops would change nothing: .*set allowedAccountIds/);
  });
});

describe("addToRolePolicy", () => {
  test("adds an exact statement to the project's service role", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    const project = new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo });
    expect(project.addToRolePolicy({ sid: "ReadConfig", actions: ["s3:GetObject"], resources: ["arn:aws:s3:::team-config/app.json"] })).toBe(true);
    expect(statement(synthJson(stack), "Build/Role/PolicyDocument", "ReadConfig")).toMatchObject({ actions: ["s3:GetObject"], resources: ["arn:aws:s3:::team-config/app.json"] });
  });
});
