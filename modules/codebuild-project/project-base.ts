import { Construct } from "constructs";
import { Fn } from "cdktf";
import type { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import type { CodestarnotificationsNotificationRule } from "@cdktf/provider-aws/lib/codestarnotifications-notification-rule";
import {
  BuildNotificationEvent,
  metricAlarm,
  notificationRule,
  projectMetric,
  type AlarmOptions,
  type MetricOptions,
  type NotifyOptions,
  type ProjectMetric,
} from "./project-observability";
import { AwsContext } from "../shared/aws-context";
import { eventRule, type EventRule, type OnEventOptions } from "../shared/events";
import type { IGrantee } from "../shared/iam";
import { sameCopy } from "../shared/one-copy";
import { isToken, PropProblems, readable } from "../shared/validation";

/** The actions {@link ICodeBuildProject.grantStartBuild} grants on the project: start, stop and read its builds. */
export const CODEBUILD_START_BUILD_ACTIONS = ["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"] as const;

/** A CodeBuild project: one of this library's, or an existing one imported by name or ARN. */
export interface ICodeBuildProject {
  readonly projectName: string;
  readonly projectArn: string;
  /** An EventBridge rule for every CodeBuild event of this project's builds. */
  onEvent(id: string, options: OnEventOptions): EventRule;
  /** An EventBridge rule for each change of a build's state. */
  onStateChange(id: string, options: OnEventOptions): EventRule;
  /** An EventBridge rule for each phase a build enters. */
  onPhaseChange(id: string, options: OnEventOptions): EventRule;
  /** An EventBridge rule for each failed build. */
  onBuildFailed(id: string, options: OnEventOptions): EventRule;
  /** An EventBridge rule for each succeeded build. */
  onBuildSucceeded(id: string, options: OnEventOptions): EventRule;
  /** Lets `grantee` start, stop and read this project's builds (its identity policy). */
  grantStartBuild(grantee: IGrantee): void;
  /** A CloudWatch metric of this project's builds. */
  metric(metricName: string, options?: MetricOptions): ProjectMetric;
  metricBuilds(options?: MetricOptions): ProjectMetric;
  metricFailedBuilds(options?: MetricOptions): ProjectMetric;
  metricSucceededBuilds(options?: MetricOptions): ProjectMetric;
  metricDuration(options?: MetricOptions): ProjectMetric;
  /** A CloudWatch alarm on one of this project's metrics. */
  addAlarm(id: string, metric: ProjectMetric, options: AlarmOptions): CloudwatchMetricAlarm;
  /** A CodeStar notification rule for `events` of this project's builds, to an SNS topic. */
  notifyOn(id: string, topicArn: string, events: readonly BuildNotificationEvent[], options?: NotifyOptions): CodestarnotificationsNotificationRule;
  notifyOnBuildFailed(id: string, topicArn: string, options?: NotifyOptions): CodestarnotificationsNotificationRule;
  notifyOnBuildSucceeded(id: string, topicArn: string, options?: NotifyOptions): CodestarnotificationsNotificationRule;
}

/** What every CodeBuild project of the library can do: its events, and grants on it. */
export abstract class CodeBuildProjectBase extends Construct implements ICodeBuildProject {
  public abstract readonly projectName: string;
  public abstract readonly projectArn: string;

  /** The name as event patterns and messages show it: the literal where it is known at synth. */
  protected abstract nameForPatterns(): string;

  public onEvent(id: string, options: OnEventOptions): EventRule {
    return this.buildRule(id, options, undefined, {}, "CodeBuild events");
  }

  public onStateChange(id: string, options: OnEventOptions): EventRule {
    return this.buildRule(id, options, "CodeBuild Build State Change", {}, "build state changes");
  }

  public onPhaseChange(id: string, options: OnEventOptions): EventRule {
    return this.buildRule(id, options, "CodeBuild Build Phase Change", {}, "build phase changes");
  }

  public onBuildFailed(id: string, options: OnEventOptions): EventRule {
    return this.buildRule(id, options, "CodeBuild Build State Change", { "build-status": ["FAILED"] }, "failed builds");
  }

  public onBuildSucceeded(id: string, options: OnEventOptions): EventRule {
    return this.buildRule(id, options, "CodeBuild Build State Change", { "build-status": ["SUCCEEDED"] }, "succeeded builds");
  }

  /** A CloudWatch metric of this project's builds (namespace AWS/CodeBuild, dimension ProjectName). */
  public metric(metricName: string, options: MetricOptions = {}): ProjectMetric {
    return projectMetric(this.nameForPatterns(), metricName, /Duration$/.test(metricName) ? "Average" : "Sum", options);
  }

  /** The number of builds started (`Builds`, Sum). */
  public metricBuilds(options?: MetricOptions): ProjectMetric {
    return this.metric("Builds", options);
  }

  /** The number of failed builds (`FailedBuilds`, Sum). */
  public metricFailedBuilds(options?: MetricOptions): ProjectMetric {
    return this.metric("FailedBuilds", options);
  }

  /** The number of succeeded builds (`SucceededBuilds`, Sum). */
  public metricSucceededBuilds(options?: MetricOptions): ProjectMetric {
    return this.metric("SucceededBuilds", options);
  }

  /** How long builds take, in seconds (`Duration`, Average). */
  public metricDuration(options?: MetricOptions): ProjectMetric {
    return this.metric("Duration", options);
  }

  /** A CloudWatch alarm on one of this project's metrics, e.g. `addAlarm("Failing", project.metricFailedBuilds(), { threshold: 1, alarmActions: [topicArn] })`. */
  public addAlarm(id: string, metric: ProjectMetric, options: AlarmOptions): CloudwatchMetricAlarm {
    return metricAlarm(this, id, this.constructor.name, metric, options);
  }

  /** A CodeStar notification rule that sends `events` of this project's builds to an SNS topic. */
  public notifyOn(id: string, topicArn: string, events: readonly BuildNotificationEvent[], options?: NotifyOptions): CodestarnotificationsNotificationRule {
    return notificationRule(this, id, this.constructor.name, { name: this.nameForPatterns(), arn: this.projectArn }, topicArn, events, options);
  }

  /** A CodeStar notification rule for failed builds, to an SNS topic. */
  public notifyOnBuildFailed(id: string, topicArn: string, options?: NotifyOptions): CodestarnotificationsNotificationRule {
    return this.notifyOn(id, topicArn, [BuildNotificationEvent.FAILED], options);
  }

  /** A CodeStar notification rule for succeeded builds, to an SNS topic. */
  public notifyOnBuildSucceeded(id: string, topicArn: string, options?: NotifyOptions): CodestarnotificationsNotificationRule {
    return this.notifyOn(id, topicArn, [BuildNotificationEvent.SUCCEEDED], options);
  }

  public grantStartBuild(grantee: IGrantee): void {
    const changed = grantee.addToPrincipalPolicy({ sid: "CodeBuildStartBuild", actions: CODEBUILD_START_BUILD_ACTIONS, resources: [this.projectArn] });
    if (!changed && grantee.unchangedWithoutAsking !== undefined) {
      throw new Error(`${this.constructor.name} '${this.node.id}': grantStartBuild to ${grantee.node.path} would change nothing: only the grantee's own policy grants it, and ${grantee.unchangedWithoutAsking}`);
    }
  }

  private buildRule(id: string, options: OnEventOptions, detailType: string | undefined, detail: Record<string, unknown>, what: string): EventRule {
    const name = this.nameForPatterns();
    const pattern = { source: ["aws.codebuild"], ...(detailType ? { "detail-type": [detailType] } : {}), detail: { "project-name": [name], ...detail } };
    return eventRule(this, id, this.constructor.name, pattern, options, `${what} of ${readable(this, name)}`);
  }
}

const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$/;
const PROJECT_ARN = /^arn:(aws[\w-]*):codebuild:([a-z0-9-]+):(\d{12}):project\/([A-Za-z0-9][A-Za-z0-9\-_]{1,254})$/;

/** An existing CodeBuild project, referenced and never created: its events and grants on it. */
class ImportedProject extends CodeBuildProjectBase {
  constructor(
    scope: Construct,
    id: string,
    public readonly projectName: string,
    public readonly projectArn: string,
  ) {
    super(scope, id);
  }

  protected nameForPatterns(): string {
    return this.projectName;
  }
}

/** Imports an existing project of the stack's account and region by name. Creates nothing. */
export function projectFromName(scope: Construct, id: string, projectName: string): ICodeBuildProject {
  const p = new PropProblems("CodeBuildProject.fromProjectName", id);
  if (!isToken(projectName)) p.check(PROJECT_NAME.test(projectName), "projectName", projectName, "must be 2-255 letters, digits, '-' and '_', starting with a letter or digit (CodeBuild naming rules)");
  p.throwIfAny();
  sameCopy(scope, "CodeBuildProject.fromProjectName", id);
  const arn = AwsContext.literalArnOf(scope, "codebuild", `project/${projectName}`) ?? AwsContext.of(scope).arn("codebuild", `project/${projectName}`);
  return new ImportedProject(scope, id, projectName, arn);
}

/** Imports an existing project by ARN, in this account or another. Creates nothing. */
export function projectFromArn(scope: Construct, id: string, projectArn: string): ICodeBuildProject {
  const p = new PropProblems("CodeBuildProject.fromProjectArn", id);
  const m = isToken(projectArn) ? undefined : PROJECT_ARN.exec(projectArn);
  if (!isToken(projectArn) && !m) p.add("projectArn", projectArn, "must be a CodeBuild project ARN (arn:<partition>:codebuild:<region>:<account>:project/<name>)");
  p.throwIfAny();
  sameCopy(scope, "CodeBuildProject.fromProjectArn", id);
  return new ImportedProject(scope, id, m ? (m[4] as string) : Fn.element(Fn.split("/", projectArn), 1), projectArn);
}
