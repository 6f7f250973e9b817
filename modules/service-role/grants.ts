import {
  CODECOMMIT_PULL_ACTIONS,
  CODECONNECTIONS_USE_ACTIONS,
  IGrantee,
  KMS_DECRYPT_ACTIONS,
  LOGS_ACTIONS,
  S3_BUCKET_ACTIONS,
  S3_READ_ACTIONS,
  S3_WRITE_ACTIONS,
  SECRETS_READ_ACTIONS,
  SSM_READ_ACTIONS,
  VPC_DESCRIBE_ACTIONS,
  VPC_ENI_ACTIONS,
  VPC_ENI_PERMISSION_ACTIONS,
} from "../shared/iam";
import { AwsContext } from "../shared/aws-context";

/** The service principal CodeBuild assumes roles as. */
export const CODEBUILD_SERVICE_PRINCIPAL = "codebuild.amazonaws.com";

/** Where a project that runs in a VPC may create its network interfaces. */
export interface VpcAccess {
  /** ARNs of the subnets the project runs in. */
  readonly subnetArns: string[];
  /** ARNs of the security groups attached to its network interfaces. */
  readonly securityGroupArns: string[];
}

// The grants a CodeBuild build needs, as functions of any grantee, so that a project can give
// them to a role it creates, to an imported role, or to any other IServiceRole.

export function grantLogs(grantee: IGrantee, logGroupArn: string): boolean {
  return grantee.addToPrincipalPolicy({ sid: "BuildLogs", actions: LOGS_ACTIONS, resources: [logGroupArn, `${logGroupArn}:log-stream:*`] });
}

function s3Arn(grantee: IGrantee, bucketName: string, key?: string): string {
  return `arn:${AwsContext.of(grantee).partition}:s3:::${bucketName}${key === undefined ? "" : `/${key}`}`;
}

function grantS3Bucket(grantee: IGrantee, bucketName: string): boolean {
  return grantee.addToPrincipalPolicy({ sid: "S3Bucket", actions: S3_BUCKET_ACTIONS, resources: [s3Arn(grantee, bucketName)] });
}

export function grantS3Read(grantee: IGrantee, bucketName: string, keyPattern: string): boolean {
  const added = grantee.addToPrincipalPolicy({ sid: "S3Read", actions: S3_READ_ACTIONS, resources: [s3Arn(grantee, bucketName, keyPattern)] });
  return grantS3Bucket(grantee, bucketName) && added;
}

export function grantS3Write(grantee: IGrantee, bucketName: string, keyPattern: string): boolean {
  const added = grantee.addToPrincipalPolicy({ sid: "S3Write", actions: S3_WRITE_ACTIONS, resources: [s3Arn(grantee, bucketName, keyPattern)] });
  return grantS3Bucket(grantee, bucketName) && added;
}

export function grantSsmParameters(grantee: IGrantee, parameterArns: string[]): boolean {
  return grantee.addToPrincipalPolicy({ sid: "SsmParameters", actions: SSM_READ_ACTIONS, resources: parameterArns });
}

export function grantSecretsRead(grantee: IGrantee, secretArns: string[]): boolean {
  return grantee.addToPrincipalPolicy({ sid: "Secrets", actions: SECRETS_READ_ACTIONS, resources: secretArns });
}

export function grantKmsDecrypt(grantee: IGrantee, keyArns: string[]): boolean {
  return grantee.addToPrincipalPolicy({ sid: "KmsDecrypt", actions: KMS_DECRYPT_ACTIONS, resources: keyArns });
}

export function grantCodeCommitPull(grantee: IGrantee, repositoryArn: string): boolean {
  return grantee.addToPrincipalPolicy({ sid: "CodeCommitPull", actions: CODECOMMIT_PULL_ACTIONS, resources: [repositoryArn] });
}

export function grantUseConnection(grantee: IGrantee, connectionArn: string): boolean {
  return grantee.addToPrincipalPolicy({ sid: "SourceConnection", actions: CODECONNECTIONS_USE_ACTIONS, resources: [connectionArn] });
}

export function grantVpcAccess(grantee: IGrantee, access: VpcAccess): boolean {
  const context = AwsContext.of(grantee);
  const eni = context.arn("ec2", "network-interface/*");
  const a = grantee.addToPrincipalPolicy({ sid: "VpcEni", actions: VPC_ENI_ACTIONS, resources: [eni, ...access.subnetArns, ...access.securityGroupArns] });
  const b = grantee.addToPrincipalPolicy({
    sid: "VpcEniPermission",
    actions: VPC_ENI_PERMISSION_ACTIONS,
    resources: [eni],
    conditions: [
      { test: "StringEquals", variable: "ec2:AuthorizedService", values: [CODEBUILD_SERVICE_PRINCIPAL] },
      { test: "ArnEquals", variable: "ec2:Subnet", values: access.subnetArns },
    ],
  });
  const c = grantee.addToPrincipalPolicy({
    sid: "VpcDescribe",
    actions: VPC_DESCRIBE_ACTIONS,
    resources: ["*"],
    conditions: [{ test: "StringEquals", variable: "aws:RequestedRegion", values: [context.region] }],
  });
  return a && b && c;
}
