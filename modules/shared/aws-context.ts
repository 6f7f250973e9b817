import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";

const CONTEXT_ID = "AwsContext";

/**
 * The account, region and partition a stack deploys to, read once per stack from the
 * provider (`aws_caller_identity`, `aws_region`, `aws_partition`).
 *
 * Modules use it to build ARNs and the sample's `AWS_ACCOUNT_ID` / `AWS_DEFAULT_REGION`
 * without asking the caller to repeat what the provider already knows.
 */
export class AwsContext extends Construct {
  /** The singleton of the stack that holds `scope`, created on first use. */
  public static of(scope: Construct): AwsContext {
    const stack = TerraformStack.of(scope);
    const existing = stack.node.tryFindChild(CONTEXT_ID);
    return (existing as AwsContext | undefined) ?? new AwsContext(stack, CONTEXT_ID);
  }

  /** The ID of the account the provider's credentials belong to. */
  public readonly accountId: string;
  /** The provider's region, e.g. `eu-central-1`. */
  public readonly region: string;
  /** The partition, e.g. `aws`, `aws-cn`, `aws-us-gov`. */
  public readonly partition: string;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.accountId = new DataAwsCallerIdentity(this, "Account").accountId;
    this.region = new DataAwsRegion(this, "Region").name;
    this.partition = new DataAwsPartition(this, "Partition").partition;
  }

  /** Builds `arn:<partition>:<service>:<region>:<account>:<resource>` for this stack. */
  public arn(service: string, resource: string, opts: { region?: string; account?: string } = {}): string {
    const region = opts.region ?? this.region;
    const account = opts.account ?? this.accountId;
    return `arn:${this.partition}:${service}:${region}:${account}:${resource}`;
  }
}
