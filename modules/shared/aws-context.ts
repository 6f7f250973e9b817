import { Construct, IConstruct } from "constructs";
import { TerraformProvider, TerraformStack } from "cdktf";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { isToken } from "./validation";
import { partitionOf, ROLE_ARN_PATTERN } from "./patterns";

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
  public static of(scope: IConstruct): AwsContext {
    const stack = TerraformStack.of(scope);
    const existing = stack.node.tryFindChild(CONTEXT_ID);
    return (existing as AwsContext | undefined) ?? new AwsContext(stack, CONTEXT_ID);
  }

  /** The ID of the account the provider's credentials belong to (a token). */
  public readonly accountId: string;
  /** The provider's region, e.g. `eu-central-1` (a token). */
  public readonly region: string;
  /** The partition, e.g. `aws`, `aws-cn`, `aws-us-gov` (a token). */
  public readonly partition: string;
  private partitionData?: DataAwsPartition;

  private constructor(scope: TerraformStack, id: string) {
    super(scope, id);
    this.accountId = new DataAwsCallerIdentity(this, "Account").accountId;
    this.region = new DataAwsRegion(this, "Region").name;
    this.partitionData = new DataAwsPartition(this, "Partition");
    this.partition = this.partitionData.partition;
  }

  /** The partition's DNS suffix, e.g. `amazonaws.com` (a token). */
  public get dnsSuffix(): string {
    return (this.partitionData as DataAwsPartition).dnsSuffix;
  }

  /**
   * The account ID of the stack that holds `scope`, when it is known at synth: the only entry of
   * the default AWS provider's `allowed_account_ids`, else the account of the role it assumes.
   * Reads the provider only (creates nothing).
   * @returns undefined when the account is only known at apply
   */
  public static knownAccountIdOf(scope: IConstruct): string | undefined {
    const provider = defaultProvider(TerraformStack.of(scope));
    if (!provider) return undefined;
    const allowed = provider.allowedAccountIds as string[] | undefined;
    if (Array.isArray(allowed) && allowed.length === 1 && !isToken(allowed[0])) return allowed[0];
    const roleArn = (provider.assumeRole as { roleArn?: string }[] | undefined)?.[0]?.roleArn;
    if (typeof roleArn === "string" && !isToken(roleArn)) return ROLE_ARN_PATTERN.exec(roleArn)?.[1];
    return undefined;
  }

  /** The region of the stack that holds `scope` when it is known at synth (the default AWS provider's literal `region`). */
  public static knownRegionOf(scope: IConstruct): string | undefined {
    const region = defaultProvider(TerraformStack.of(scope))?.region as string | undefined;
    return typeof region === "string" && !isToken(region) ? region : undefined;
  }

  /** {@link AwsContext.knownAccountIdOf} for this stack. */
  public get knownAccountId(): string | undefined {
    return AwsContext.knownAccountIdOf(this);
  }

  /** {@link AwsContext.knownRegionOf} for this stack. */
  public get knownRegion(): string | undefined {
    return AwsContext.knownRegionOf(this);
  }

  /**
   * The ARN of `resource` in the stack that holds `scope`, as a literal when its account and region
   * are known at synth (the partition follows from the region) and `resource` is a literal, else
   * `undefined`: no data source is created for it.
   */
  public static literalArnOf(scope: IConstruct, service: string, resource: string): string | undefined {
    const [account, region] = [AwsContext.knownAccountIdOf(scope), AwsContext.knownRegionOf(scope)];
    if (account === undefined || region === undefined || isToken(resource)) return undefined;
    return `arn:${partitionOf(region)}:${service}:${region}:${account}:${resource}`;
  }

  /** Builds `arn:<partition>:<service>:<region>:<account>:<resource>` for this stack. */
  public arn(service: string, resource: string, opts: { region?: string; account?: string } = {}): string {
    const region = opts.region ?? this.region;
    const account = opts.account ?? this.accountId;
    return `arn:${this.partition}:${service}:${region}:${account}:${resource}`;
  }
}

/** The stack's AWS provider without an alias (the one resources use by default). */
function defaultProvider(stack: TerraformStack): (TerraformProvider & Record<string, unknown>) | undefined {
  return stack.node.children.find(
    (c): c is TerraformProvider & Record<string, unknown> => c instanceof TerraformProvider && c.terraformResourceType === "aws" && c.alias === undefined,
  );
}
