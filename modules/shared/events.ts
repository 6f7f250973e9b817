import { Construct } from "constructs";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { isToken, PropProblems } from "./validation";

/** Where an EventBridge rule sends the events it matches. Make one with {@link RuleTargets}. */
export interface RuleTarget {
  /** The target's ARN. */
  readonly arn: string;
  /** What kind of target it is (for messages and reviews). */
  readonly kind: "sns" | "sqs" | "lambda" | "codebuild" | "event-bus";
  /**
   * The role EventBridge assumes to reach the target (required by CodeBuild and event-bus targets).
   * @default - none: SNS, SQS and Lambda targets are reached through their resource policies
   */
  readonly roleArn?: string;
}

const ARN = /^arn:aws[\w-]*:([\w-]+):[\w-]*:\d{12}:.+$/;

function target(kind: RuleTarget["kind"], service: string, arn: string, roleArn?: string): RuleTarget {
  const p = new PropProblems("RuleTargets", kind);
  const m = isToken(arn) ? undefined : ARN.exec(arn);
  if (!isToken(arn) && m?.[1] !== service) p.add("arn", arn, `must be the ARN of ${service === "events" ? "an event bus" : `a ${service} resource`} (arn:<partition>:${service}:<region>:<account>:…)`);
  if (roleArn !== undefined && !isToken(roleArn) && !/^arn:aws[\w-]*:iam::\d{12}:role\/.+$/.test(roleArn)) p.add("roleArn", roleArn, "must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)");
  p.throwIfAny();
  return roleArn === undefined ? { arn, kind } : { arn, kind, roleArn };
}

/** Typed targets of the events rules of the constructs (`onEvent`, `onBuildFailed`, `onImageScanCompleted`, …). */
export class RuleTargets {
  /** An SNS topic (its topic policy must allow events.amazonaws.com to publish). */
  public static snsTopic(topicArn: string): RuleTarget {
    return target("sns", "sns", topicArn);
  }
  /** An SQS queue (its queue policy must allow events.amazonaws.com to send). */
  public static sqsQueue(queueArn: string): RuleTarget {
    return target("sqs", "sqs", queueArn);
  }
  /** A Lambda function (its resource policy must allow events.amazonaws.com to invoke it). */
  public static lambdaFunction(functionArn: string): RuleTarget {
    return target("lambda", "lambda", functionArn);
  }
  /** A CodeBuild project, started by the rule with `roleArn` (which needs codebuild:StartBuild on it). */
  public static codeBuildProject(projectArn: string, roleArn: string): RuleTarget {
    return target("codebuild", "codebuild", projectArn, roleArn);
  }
  /** An event bus, e.g. of another account (`roleArn` needs events:PutEvents on it). */
  public static eventBus(busArn: string, roleArn: string): RuleTarget {
    return target("event-bus", "events", busArn, roleArn);
  }
}

/** What every `on…` method takes. */
export interface OnEventOptions {
  /** Where the matched events go: at least one, at most five (EventBridge's limit per rule). */
  readonly targets: readonly RuleTarget[];
  /**
   * The rule's name.
   * @default - Terraform names it
   */
  readonly ruleName?: string;
  /**
   * The rule's description.
   * @default - what the method matches
   */
  readonly description?: string;
}

/** An EventBridge rule with its targets, as the `on…` methods make it. */
export interface EventRule {
  readonly rule: CloudwatchEventRule;
  readonly targets: readonly CloudwatchEventTarget[];
}

/**
 * Makes an EventBridge rule for `pattern` with the options' targets, in `scope` as `id`.
 * @internal
 */
export function eventRule(scope: Construct, id: string, owner: string, pattern: Record<string, unknown>, options: OnEventOptions, description: string): EventRule {
  const p = new PropProblems(owner, id);
  if (options.targets.length < 1 || options.targets.length > 5) p.add("targets", options.targets.length, "must name 1 to 5 targets (EventBridge's limit per rule)");
  if (options.ruleName !== undefined && !isToken(options.ruleName) && !/^[\w.-]{1,64}$/.test(options.ruleName)) {
    p.add("ruleName", options.ruleName, "must be 1-64 letters, digits, '.', '-' and '_' (EventBridge naming rules)");
  }
  p.throwIfAny();
  const rule = new CloudwatchEventRule(scope, id, {
    ...(options.ruleName === undefined ? {} : { name: options.ruleName }),
    description: options.description ?? description,
    eventPattern: JSON.stringify(pattern),
  });
  const targets = options.targets.map(
    (t, i) =>
      new CloudwatchEventTarget(scope, `${id}Target${i}`, {
        rule: rule.name,
        arn: t.arn,
        ...(t.roleArn === undefined ? {} : { roleArn: t.roleArn }),
      }),
  );
  return { rule, targets };
}
