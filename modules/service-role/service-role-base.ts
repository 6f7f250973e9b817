import { Construct } from "constructs";
import { IGrantee, PolicyStatement } from "../shared/iam";
import * as grants from "./grants";
import type { VpcAccess } from "./grants";

/**
 * The role a CodeBuild project runs as: a {@link CodeBuildServiceRole} created here, or an
 * existing role imported with {@link ImportedRole} (`CodeBuildServiceRole.fromRoleArn` /
 * `fromRoleName`). Projects accept this interface.
 */
export interface IServiceRole extends IGrantee {
  /** The ARN of the role. */
  readonly roleArn: string;
  /** The name of the role. */
  readonly roleName: string;
  /**
   * Whether grants change the role. An imported role with `mutable: false` (or a role of
   * another account) is left as it is: its owner grants the permissions.
   */
  readonly mutable: boolean;
}

/**
 * What every service role offers: the grants a CodeBuild build needs, each on exact ARNs, all
 * built on {@link IGrantee.addToPrincipalPolicy}. Each returns false when the role is not
 * changed here (`mutable: false`).
 */
export abstract class ServiceRoleBase extends Construct implements IServiceRole {
  public abstract readonly roleArn: string;
  public abstract readonly roleName: string;
  public abstract readonly mutable: boolean;
  public abstract readonly principalAccount?: string;

  /** The role's ARN, as a principal. */
  public get principalArn(): string {
    return this.roleArn;
  }

  public abstract addToPrincipalPolicy(statement: PolicyStatement): boolean;

  /** Lets the role write build logs to one log group (`logs:CreateLogStream`, `logs:PutLogEvents`). */
  public grantLogs(logGroupArn: string): boolean {
    return grants.grantLogs(this, logGroupArn);
  }

  /**
   * Lets the role read objects under `keyPattern` in one bucket (S3 source or cache).
   * @param bucketName the bucket's name (not its ARN)
   * @param keyPattern the key or key prefix followed by `*`, e.g. `cache/*`
   */
  public grantS3Read(bucketName: string, keyPattern: string): boolean {
    return grants.grantS3Read(this, bucketName, keyPattern);
  }

  /**
   * Lets the role write objects under `keyPattern` in one bucket (S3 cache or artifacts).
   * @param bucketName the bucket's name (not its ARN)
   * @param keyPattern the key prefix followed by `*`, e.g. `cache/*`
   */
  public grantS3Write(bucketName: string, keyPattern: string): boolean {
    return grants.grantS3Write(this, bucketName, keyPattern);
  }

  /** Lets the role read the given SSM parameters (`ssm:GetParameters`). */
  public grantSsmParameters(parameterArns: string[]): boolean {
    return grants.grantSsmParameters(this, parameterArns);
  }

  /** Lets the role read the given Secrets Manager secrets (`secretsmanager:GetSecretValue`). */
  public grantSecretsRead(secretArns: string[]): boolean {
    return grants.grantSecretsRead(this, secretArns);
  }

  /** Lets the role decrypt with the given customer managed KMS keys (`kms:Decrypt`). */
  public grantKmsDecrypt(keyArns: string[]): boolean {
    return grants.grantKmsDecrypt(this, keyArns);
  }

  /** Lets the role pull one CodeCommit repository (`codecommit:GitPull`). */
  public grantCodeCommitPull(repositoryArn: string): boolean {
    return grants.grantCodeCommitPull(this, repositoryArn);
  }

  /**
   * Lets the role manage the network interfaces of a project that runs in a VPC: creation only
   * in the given subnets with the given security groups, attachment only for CodeBuild.
   */
  public grantVpcAccess(access: VpcAccess): boolean {
    return grants.grantVpcAccess(this, access);
  }
}
