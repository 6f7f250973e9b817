import { Construct } from "constructs";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { CodestarnotificationsNotificationRule } from "@cdktf/provider-aws/lib/codestarnotifications-notification-rule";
import { isToken, PropProblems } from "../shared/validation";

/** A CloudWatch metric of a project (namespace AWS/CodeBuild), in the shape `CloudwatchMetricAlarm` takes. */
export interface ProjectMetric {
  readonly namespace: "AWS/CodeBuild";
  readonly metricName: string;
  readonly dimensions: { readonly ProjectName: string };
  /** `Sum` for the build counts, `Average` for durations. */
  readonly statistic: string;
  /** Seconds: 300 unless given. */
  readonly period: number;
}

/** Options of a metric: the statistic and the period (seconds, a multiple of 60). */
export interface MetricOptions {
  /** @default - `Sum` for counts, `Average` for durations */
  readonly statistic?: "Sum" | "Average" | "Minimum" | "Maximum" | "SampleCount";
  /** @default 300 */
  readonly period?: number;
}

/** What {@link CodeBuildProjectBase.addAlarm} makes of a metric. */
export interface AlarmOptions {
  /** The value compared with the metric. */
  readonly threshold: number;
  /** @default "GreaterThanOrEqualToThreshold" */
  readonly comparisonOperator?: "GreaterThanOrEqualToThreshold" | "GreaterThanThreshold" | "LessThanThreshold" | "LessThanOrEqualToThreshold";
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** ARNs notified when the alarm fires (e.g. an SNS topic). @default - none */
  readonly alarmActions?: readonly string[];
  /** @default - `<project>-<id>` */
  readonly alarmName?: string;
  /** A period without builds is not a breach. @default "notBreaching" */
  readonly treatMissingData?: "notBreaching" | "breaching" | "ignore" | "missing";
}

/** The CodeStar notification events of a project's builds (`codebuild-project-build-…`). */
export enum BuildNotificationEvent {
  FAILED = "codebuild-project-build-state-failed",
  SUCCEEDED = "codebuild-project-build-state-succeeded",
  IN_PROGRESS = "codebuild-project-build-state-in-progress",
  STOPPED = "codebuild-project-build-state-stopped",
  PHASE_FAILURE = "codebuild-project-build-phase-failure",
  PHASE_SUCCESS = "codebuild-project-build-phase-success",
}

/** Options of a notification rule. */
export interface NotifyOptions {
  /** @default - `<project>-<events>`, within the 64-character limit */
  readonly notificationRuleName?: string;
  /** What the message carries. @default "FULL" */
  readonly detailType?: "BASIC" | "FULL";
}

/** @internal the metric of `metricName` of the project `projectName`. */
export function projectMetric(projectName: string, metricName: string, statistic: string, options: MetricOptions = {}): ProjectMetric {
  const period = options.period ?? 300;
  const p = new PropProblems("metric", metricName);
  p.check(Number.isInteger(period) && period >= 60 && period % 60 === 0, "period", period, "must be whole minutes in seconds (60, 120, …)");
  p.throwIfAny();
  return { namespace: "AWS/CodeBuild", metricName, dimensions: { ProjectName: projectName }, statistic: options.statistic ?? statistic, period };
}

/** @internal a CloudWatch alarm on `metric`. */
export function metricAlarm(scope: Construct, id: string, owner: string, metric: ProjectMetric, options: AlarmOptions): CloudwatchMetricAlarm {
  const p = new PropProblems(owner, id);
  p.check(Number.isFinite(options.threshold), "threshold", options.threshold, "must be a number");
  const periods = options.evaluationPeriods ?? 1;
  p.check(Number.isInteger(periods) && periods >= 1, "evaluationPeriods", periods, "must be a whole number from 1");
  for (const a of options.alarmActions ?? []) if (!isToken(a) && !/^arn:aws[\w-]*:[\w-]+:/.test(a)) p.add("alarmActions", a, "must be ARNs (e.g. of an SNS topic)");
  p.throwIfAny();
  return new CloudwatchMetricAlarm(scope, id, {
    alarmName: options.alarmName ?? `${metric.dimensions.ProjectName}-${id}`,
    namespace: metric.namespace,
    metricName: metric.metricName,
    dimensions: { ...metric.dimensions },
    statistic: metric.statistic,
    period: metric.period,
    threshold: options.threshold,
    comparisonOperator: options.comparisonOperator ?? "GreaterThanOrEqualToThreshold",
    evaluationPeriods: periods,
    treatMissingData: options.treatMissingData ?? "notBreaching",
    ...(options.alarmActions?.length ? { alarmActions: [...options.alarmActions] } : {}),
  });
}

/** @internal a CodeStar notification rule of the project `projectArn` for `events`, to the SNS topic `topicArn`. */
export function notificationRule(
  scope: Construct,
  id: string,
  owner: string,
  project: { name: string; arn: string },
  topicArn: string,
  events: readonly BuildNotificationEvent[],
  options: NotifyOptions = {},
): CodestarnotificationsNotificationRule {
  const p = new PropProblems(owner, id);
  if (!isToken(topicArn) && !/^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]+$/.test(topicArn)) p.add("topicArn", topicArn, "must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)");
  if (events.length === 0) p.add("events", "[]", "must name at least one event");
  const fallback = `${isToken(project.name) ? id : project.name}-${events.map((e) => e.split("-").pop()).join("-")}`.slice(0, 64);
  const name = options.notificationRuleName ?? fallback;
  if (!isToken(name) && !/^[\w .-]{1,64}$/.test(name)) p.add("notificationRuleName", name, "must be 1-64 letters, digits, spaces, '.', '-' and '_'");
  p.throwIfAny();
  return new CodestarnotificationsNotificationRule(scope, id, {
    name,
    resource: project.arn,
    detailType: options.detailType ?? "FULL",
    eventTypeIds: [...events],
    target: [{ address: topicArn, type: "SNS" }],
  });
}
