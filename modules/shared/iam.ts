import type { IConstruct } from "constructs";

/**
 * IAM action lists used by the modules, one named constant per permission set, each with the
 * AWS page that documents it. Keeping them here is what lets tests and reviewers see the
 * complete, exact set of actions a CodeBuild role can ever receive.
 */

/**
 * The only action allowed on `*`: ECR issues registry-wide tokens, so it has no resource ARN.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/security_iam_id-based-policy-examples.html
 */
export const ECR_AUTH_ACTIONS = ["ecr:GetAuthorizationToken"] as const;

/**
 * Pull an image (what `docker pull` and `--cache-from` need).
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-pull.html
 */
export const ECR_PULL_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:GetDownloadUrlForLayer",
] as const;

/**
 * Push an image (`docker push`), plus the two read-only calls a build needs to wait for the scan
 * on push. Pushing also needs {@link ECR_AUTH_ACTIONS}; it does not include pulling.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html
 */
/** What `grantRead` allows on a repository: its and its images' metadata (not the layers). */
export const ECR_READ_ACTIONS = ["ecr:DescribeImages", "ecr:DescribeRepositories"] as const;

export const ECR_PUSH_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:CompleteLayerUpload",
  "ecr:DescribeImageScanFindings",
  "ecr:DescribeImages",
  "ecr:InitiateLayerUpload",
  "ecr:PutImage",
  "ecr:UploadLayerPart",
] as const;

/**
 * Write build logs to one CloudWatch log group (the group itself is created by Terraform).
 * @see https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html
 */
export const LOGS_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"] as const;

/**
 * Read an S3 source bundle or cache objects.
 * @see https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html
 */
export const S3_READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"] as const;

/** Write S3 cache objects or build artifacts. */
export const S3_WRITE_ACTIONS = ["s3:PutObject"] as const;

/** Bucket-level calls CodeBuild makes before it reads or writes objects. */
export const S3_BUCKET_ACTIONS = ["s3:GetBucketAcl", "s3:GetBucketLocation"] as const;

/**
 * Read PARAMETER_STORE environment variables.
 * @see https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html#build-spec.env.parameter-store
 */
export const SSM_READ_ACTIONS = ["ssm:GetParameters"] as const;

/**
 * Read SECRETS_MANAGER environment variables and private registry credentials.
 * @see https://docs.aws.amazon.com/codebuild/latest/userguide/sample-private-registry.html
 */
export const SECRETS_READ_ACTIONS = ["secretsmanager:GetSecretValue"] as const;

/** Decrypt with a customer managed KMS key (encrypted secrets, parameters or cache). */
export const KMS_DECRYPT_ACTIONS = ["kms:Decrypt"] as const;

/**
 * Pull from a CodeCommit source repository.
 * @see https://docs.aws.amazon.com/codecommit/latest/userguide/auth-and-access-control-permissions-reference.html
 */
export const CODECOMMIT_PULL_ACTIONS = ["codecommit:GitPull"] as const;

/**
 * Read a source through a CodeConnections connection (GitHub, GitHub Enterprise Server, Bitbucket).
 * @see https://docs.aws.amazon.com/codebuild/latest/userguide/connections-github-app.html
 */
export const CODECONNECTIONS_USE_ACTIONS = [
  "codeconnections:GetConnection",
  "codeconnections:GetConnectionToken",
  "codeconnections:UseConnection",
] as const;

/**
 * The batch service role of a batch build project: CodeBuild starts, stops and retries the
 * builds of a batch with it, on the project's own ARN (the documented set, nothing more).
 * @see https://docs.aws.amazon.com/codebuild/latest/userguide/batch-build.html#batch_security_role
 */
export const CODEBUILD_BATCH_ACTIONS = ["codebuild:StartBuild", "codebuild:StopBuild", "codebuild:RetryBuild"] as const;

/**
 * What a build of a multi-arch batch reads of its own project: its build record, which names
 * the batch build it belongs to (`buildBatchArn`), the tag every build of the batch shares.
 * @see https://docs.aws.amazon.com/codebuild/latest/APIReference/API_Build.html
 */
export const CODEBUILD_READ_BUILD_ACTIONS = ["codebuild:BatchGetBuilds"] as const;

/**
 * ENI management for a project that runs in a VPC, scoped to the given subnets and groups.
 * @see https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-iam-identity-based-access-control.html#customer-managed-policies-example-create-vpc-network-interface
 */
export const VPC_ENI_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"] as const;

/** Attach the ENI to CodeBuild, conditioned on the subnets and `codebuild.amazonaws.com`. */
export const VPC_ENI_PERMISSION_ACTIONS = ["ec2:CreateNetworkInterfacePermission"] as const;

/**
 * EC2 Describe calls CodeBuild makes in a VPC. EC2 supports no resource-level permissions for
 * them, so they are the one documented exception to "`*` only for GetAuthorizationToken",
 * present only when a project runs in a VPC, and conditioned on the region.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
 */
export const VPC_DESCRIBE_ACTIONS = [
  "ec2:DescribeDhcpOptions",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeSubnets",
  "ec2:DescribeVpcs",
] as const;

/** Actions that may be granted on `*` because AWS offers no resource ARN for them. */
export const WILDCARD_RESOURCE_ACTIONS: readonly string[] = [...ECR_AUTH_ACTIONS, ...VPC_DESCRIBE_ACTIONS];

/** A condition block of an IAM statement. */
export interface PolicyCondition {
  /** The condition operator, e.g. `StringEquals`, `ArnLike`. */
  readonly test: string;
  /** The condition key, e.g. `aws:SourceAccount`. */
  readonly variable: string;
  /** The values the key is compared with. */
  readonly values: string[];
}

/** An Allow statement of an identity policy: exact actions on exact resources. */
export interface PolicyStatement {
  /** A statement ID, unique in the policy; statements with the same sid are merged. */
  readonly sid: string;
  /** Exact action names (no wildcards). */
  readonly actions: readonly string[];
  /** Exact resource ARNs (or `*` for {@link WILDCARD_RESOURCE_ACTIONS} only). */
  readonly resources: readonly string[];
  /** Optional conditions. */
  readonly conditions?: readonly PolicyCondition[];
}

/**
 * An IAM principal that can be granted access: any IAM role (a CodeBuild service role, an ECS
 * task role, an EKS or EC2 workload role), created here or imported.
 *
 * Grants add identity-policy statements through {@link IGrantee.addToPrincipalPolicy}; when a
 * grant crosses accounts, the resource's own policy also names {@link IGrantee.principalArn}.
 */
export interface IGrantee extends IConstruct {
  /**
   * The ARN of the principal, named in resource policies when a grant crosses accounts. It must
   * be a literal (not a token) for a grant to a resource of another stack.
   */
  readonly principalArn: string;

  /**
   * The principal's account ID, when it is known at synth (a literal).
   * @default - unknown: the principal is in the account of its stack
   */
  readonly principalAccount?: string;

  /**
   * Adds (or merges by sid) an Allow statement to the principal's identity policy.
   * @returns false when the principal cannot be changed here (an imported role with
   * `mutable: false`, or a role of another account): the caller grants the permission itself
   */
  addToPrincipalPolicy(statement: PolicyStatement): boolean;

  /**
   * Why grants leave this principal unchanged when nobody asked for that (an imported role named
   * by a literal ARN, in a stack whose account is unknown at synth), and what to set. A grant that
   * then changes nothing on either side, principal or resource, fails synth with it: never a
   * silent no-op.
   * @default - undefined: the principal is changed, or left unchanged on purpose (`mutable: false`)
   */
  readonly unchangedWithoutAsking?: string;
}
