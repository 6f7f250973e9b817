import { BuildNotificationEvent, CodeBuildDindProject, CodeBuildPrivilegedProject, EcrRepo } from "../../modules";
import { messageOf, newStack, only, synthJson } from "../support/synth";

/**
 * A project's CloudWatch metrics and alarms, and its CodeStar notifications, as aws-cdk-lib's
 * `metric…` and `notifyOn…` families: checked on the synthesized JSON.
 */
const TOPIC = "arn:aws:sns:eu-central-1:111111111111:builds";

function project() {
  const stack = newStack();
  const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
  return { stack, project: new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo }) };
}

describe("metrics", () => {
  test("each is AWS/CodeBuild with the ProjectName dimension: counts as Sum, Duration as Average, 5-minute periods unless given", () => {
    const { project: p } = project();
    expect([p.metricBuilds(), p.metricFailedBuilds(), p.metricSucceededBuilds(), p.metricDuration({ period: 3600 })]).toEqual([
      { namespace: "AWS/CodeBuild", metricName: "Builds", dimensions: { ProjectName: "build-app" }, statistic: "Sum", period: 300 },
      { namespace: "AWS/CodeBuild", metricName: "FailedBuilds", dimensions: { ProjectName: "build-app" }, statistic: "Sum", period: 300 },
      { namespace: "AWS/CodeBuild", metricName: "SucceededBuilds", dimensions: { ProjectName: "build-app" }, statistic: "Sum", period: 300 },
      { namespace: "AWS/CodeBuild", metricName: "Duration", dimensions: { ProjectName: "build-app" }, statistic: "Average", period: 3600 },
    ]);
  });

  test("addAlarm makes an aws_cloudwatch_metric_alarm of the metric: no builds is not a breach", () => {
    const { stack, project: p } = project();
    p.addAlarm("Failing", p.metricFailedBuilds(), { threshold: 1, alarmActions: [TOPIC] });
    expect(only(synthJson(stack), "aws_cloudwatch_metric_alarm")).toEqual({
      alarm_name: "build-app-Failing",
      namespace: "AWS/CodeBuild",
      metric_name: "FailedBuilds",
      dimensions: { ProjectName: "build-app" },
      statistic: "Sum",
      period: 300,
      threshold: 1,
      comparison_operator: "GreaterThanOrEqualToThreshold",
      evaluation_periods: 1,
      treat_missing_data: "notBreaching",
      alarm_actions: [TOPIC],
    });
  });

  test("bad input is one line each: a period that is not whole minutes, an action that is not an ARN, zero evaluation periods", () => {
    const { project: p } = project();
    expect(messageOf(() => p.metricDuration({ period: 90 }))).toBe("metric 'Duration': period 90 must be whole minutes in seconds (60, 120, …)");
    expect(messageOf(() => p.addAlarm("A", p.metricBuilds(), { threshold: 1, evaluationPeriods: 0, alarmActions: ["ops-topic"] })).split("\n")).toEqual([
      "CodeBuildPrivilegedProject 'A': evaluationPeriods 0 must be a whole number from 1",
      `CodeBuildPrivilegedProject 'A': alarmActions "ops-topic" must be ARNs (e.g. of an SNS topic)`,
    ]);
  });
});

describe("notifications", () => {
  test("notifyOnBuildFailed: a CodeStar notification rule on the project's ARN for failed builds, to the SNS topic", () => {
    const { stack, project: p } = project();
    p.notifyOnBuildFailed("Failed", TOPIC);
    expect(only(synthJson(stack), "aws_codestarnotifications_notification_rule")).toEqual({
      name: "build-app-failed",
      resource: expect.stringMatching(/^\$\{aws_codebuild_project\.Build_[0-9A-F]{8}\.arn\}$/),
      detail_type: "FULL",
      event_type_ids: ["codebuild-project-build-state-failed"],
      target: [{ address: TOPIC, type: "SNS" }],
    });
  });

  test("notifyOn any of the build events, on an imported project too", () => {
    const stack = newStack();
    const imported = CodeBuildDindProject.fromProjectArn(stack, "Deploy", "arn:aws:codebuild:eu-central-1:111111111111:project/deploy-app");
    imported.notifyOn("Done", TOPIC, [BuildNotificationEvent.SUCCEEDED, BuildNotificationEvent.STOPPED], { detailType: "BASIC" });
    expect(only(synthJson(stack), "aws_codestarnotifications_notification_rule")).toMatchObject({
      name: "deploy-app-succeeded-stopped",
      resource: "arn:aws:codebuild:eu-central-1:111111111111:project/deploy-app",
      detail_type: "BASIC",
      event_type_ids: ["codebuild-project-build-state-succeeded", "codebuild-project-build-state-stopped"],
    });
  });

  test("a topic that is not an SNS topic ARN, or no events, is one line each", () => {
    const { project: p } = project();
    expect(messageOf(() => p.notifyOn("N", "arn:aws:sqs:eu-central-1:111111111111:q", [])).split("\n")).toEqual([
      `CodeBuildPrivilegedProject 'N': topicArn "arn:aws:sqs:eu-central-1:111111111111:q" must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)`,
      `CodeBuildPrivilegedProject 'N': events "[]" must name at least one event`,
    ]);
  });
});
