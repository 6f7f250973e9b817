import { Construct } from "constructs";
import { Annotations, Fn } from "cdktf";
import { DataAwsIamRole } from "@cdktf/provider-aws/lib/data-aws-iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { AwsContext } from "../shared/aws-context";
import { PolicyStatement } from "../shared/iam";
import { sameCopy } from "../shared/one-copy";
import { PolicyStatements } from "../shared/policy-statements";
import { PropProblems, isToken, readable } from "../shared/validation";
import { ServiceRoleBase } from "./service-role-base";
import { ROLE_ARN_PATTERN, ROLE_ARN_RULE } from "../shared/patterns";

/** `arn:<partition>:iam::<account>:role/[<path>/]<name>` */
const ROLE_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;
const POLICY_NAME_MAX = 128;

/** How an existing role is imported. */
export interface ImportedRoleOptions {
  /**
   * Whether grants attach an inline policy (`aws_iam_role_policy`) to the role. With false,
   * nothing on the role changes: grants only record what the role needs (printed at synth as
   * information) and the role's owner grants it.
   * @default - true for a role of the stack's own account (a role imported by name or from an
   *   `IamRole`, or an ARN of the account the stack's provider pins with `allowed_account_ids`);
   *   false for a role of another account, or an ARN whose account the stack cannot confirm
   */
  readonly mutable?: boolean;

  /**
   * The name of the inline policy attached when the role is mutable.
   * @default - "cdktf-<id>-<8 characters of the construct's address>"
   */
  readonly policyName?: string;
}

/** Something with the `arn` and `name` of an IAM role: an `IamRole` or a `DataAwsIamRole`. */
export interface IamRoleLike {
  /** The role's ARN. */
  readonly arn: string;
  /** The role's name. */
  readonly name: string;
}

/**
 * An existing IAM role, referenced and never created: a CodeBuild role managed elsewhere, or a
 * workload's role (an ECS task role, an EKS or EC2 role) to grant access to. It can be a
 * project's `role` and a grantee of `EcrRepo.grantPull` / `grantPush`.
 *
 * @example
 * const taskRole = ImportedRole.fromRoleArn(this, "TaskRole", "arn:aws:iam::222222222222:role/app-task");
 * repo.grantPull(taskRole); // another account: the repository policy names the role
 */
export class ImportedRole extends ServiceRoleBase {
  /**
   * Imports a role by ARN. A role of another account than the stack's is never changed
   * (`mutable: true` for it is an error); a grant to it names it in the resource's policy.
   */
  public static fromRoleArn(scope: Construct, id: string, roleArn: string, options: ImportedRoleOptions = {}): ImportedRole {
    const p = new PropProblems("ImportedRole", id);
    const m = isToken(roleArn) ? undefined : ROLE_ARN_PATTERN.exec(roleArn);
    if (!isToken(roleArn) && !m) p.add("roleArn", roleArn, ROLE_ARN_RULE);
    p.throwIfAny();
    const roleName = m ? (m[2] as string) : Fn.element(Fn.regex("[^/]+$", roleArn), 0);
    return new ImportedRole(scope, id, { roleArn, roleName, account: m?.[1] }, options);
  }

  /** Imports a role of the stack's account by name; its ARN (with its path) is read with `aws_iam_role`. */
  public static fromRoleName(scope: Construct, id: string, roleName: string, options: ImportedRoleOptions = {}): ImportedRole {
    const p = new PropProblems("ImportedRole", id);
    p.check(ROLE_NAME_PATTERN.test(roleName), "roleName", roleName, "must be 1-64 characters of letters, digits and +=,.@_- (IAM naming rules)");
    p.throwIfAny();
    return new ImportedRole(scope, id, { roleName }, options);
  }

  /** Wraps a role of this app (an `IamRole`, or a `DataAwsIamRole`) so it can be a grantee. */
  public static fromIamRole(scope: Construct, id: string, role: IamRoleLike, options: ImportedRoleOptions = {}): ImportedRole {
    return new ImportedRole(scope, id, { roleArn: role.arn, roleName: role.name }, options);
  }

  public readonly roleArn: string;
  public readonly roleName: string;
  public readonly mutable: boolean;
  /** The role's account when its ARN is a literal. */
  public readonly principalAccount?: string;
  /** Set when grants leave the role unchanged without `mutable: false` being given: why, and what to set (see IGrantee). */
  public readonly unchangedWithoutAsking?: string;
  /** The inline policy attached by grants (mutable roles only, created by the first grant). */
  public policy?: IamRolePolicy;

  private readonly statements: PolicyStatements;
  private readonly policyName: string;

  private constructor(
    scope: Construct,
    id: string,
    ref: { roleArn?: string; roleName: string; account?: string },
    options: ImportedRoleOptions,
  ) {
    super(sameCopy(scope, "ImportedRole", id), id);
    const known = AwsContext.knownAccountIdOf(this);
    const otherAccount = ref.account !== undefined && known !== undefined && ref.account !== known;
    const p = new PropProblems("ImportedRole", id);
    if (otherAccount && options.mutable === true) {
      p.add("mutable", true, `cannot be true for a role of account ${ref.account}: this stack deploys to account ${known}, whose provider cannot change it`);
    }
    if (options.policyName !== undefined) {
      p.check(/^[\w+=,.@-]{1,128}$/.test(options.policyName), "policyName", options.policyName, "must be 1-128 characters of letters, digits and +=,.@_- (IAM naming rules)");
    }
    p.throwIfAny();

    // Change a role only when it is provably of this stack's account: a role named by a literal
    // ARN while the stack's account is unknown at synth is left alone unless mutable is set.
    const sameAccount = ref.account === undefined || (known !== undefined && ref.account === known);
    this.mutable = options.mutable ?? sameAccount;
    this.principalAccount = ref.account;
    if (options.mutable === undefined && !sameAccount && known === undefined) {
      this.unchangedWithoutAsking =
        `ImportedRole '${id}' (account ${ref.account}) is left unchanged because its stack's account is unknown at synth: ` +
        `set allowedAccountIds (or an assumeRole whose role ARN names the account) on the stack's AwsProvider, ` +
        `or import the role with { mutable: false } if its owner grants the access by hand`;
    }
    this.roleName = ref.roleName;
    this.roleArn = ref.roleArn ?? new DataAwsIamRole(this, "Lookup", { name: ref.roleName }).arn;
    this.statements = new PolicyStatements("ImportedRole", id);
    this.policyName = options.policyName ?? `cdktf-${id}-${this.node.addr.slice(0, 8)}`.replace(/[^\w+=,.@-]/g, "-").slice(0, POLICY_NAME_MAX);
  }

  /**
   * Adds an Allow statement to the role's inline policy when the role is mutable (the policy is
   * created by the first statement). Returns false, and records the statement as information at
   * synth, when the role is not changed here.
   */
  public addToPrincipalPolicy(statement: PolicyStatement): boolean {
    this.statements.add(statement);
    if (!this.mutable) {
      Annotations.of(this).addInfo(
        `ImportedRole '${this.node.id}' is not changed here (mutable: false): its owner must allow ${statement.actions.join(", ")} on ${statement.resources.map((r) => readable(this, r)).join(", ")}`,
      );
      return false;
    }
    this.policy ??= new IamRolePolicy(this, "Policy", { name: this.policyName, role: this.roleName, policy: "" });
    this.policy.policy = this.statements.render();
    return true;
  }
}
