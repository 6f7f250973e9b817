import { Construct } from "constructs";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { EcrRepositoryPolicy } from "@cdktf/provider-aws/lib/ecr-repository-policy";
import { AwsContext } from "../shared/aws-context";
import { ECR_AUTH_ACTIONS, ECR_PULL_ACTIONS, ECR_PUSH_ACTIONS, IGrantable } from "../shared/iam";
import { DocumentStatement, renderPolicyDocument } from "../shared/policy-document";
import { ACCOUNT_ID_PATTERN, ORGANIZATION_ID_PATTERN, PropProblems, checkIntRange } from "../shared/validation";

/**
 * ECR repository names: 2-256 characters, lowercase, optional `namespace/` parts, each part
 * letters and digits separated by single `.`, `_` or `-`.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
 */
export const ECR_REPOSITORY_NAME_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Whether tags can be overwritten. */
export enum TagMutability {
  /** A tag, once pushed, always names the same image (the secure default). */
  IMMUTABLE = "IMMUTABLE",
  /** Tags can be moved to a new image by a later push. */
  MUTABLE = "MUTABLE",
}

/** One rule of an ECR lifecycle policy, in the JSON shape ECR expects. */
export interface EcrLifecycleRule {
  /** Rules are evaluated in ascending priority; a rule with `tagStatus: "any"` must be last. */
  readonly rulePriority: number;
  /** What the rule is for, shown in the console. */
  readonly description: string;
  /** Which images the rule counts. */
  readonly selection: {
    readonly tagStatus: "tagged" | "untagged" | "any";
    readonly tagPatternList?: string[];
    readonly tagPrefixList?: string[];
    readonly countType: "imageCountMoreThan" | "sinceImagePushed";
    readonly countUnit?: "days";
    readonly countNumber: number;
  };
  /** Always `expire`. */
  readonly action: { readonly type: "expire" };
}

/** Ready-made lifecycle rules; {@link EcrRepo} uses them for its defaults. */
export class EcrLifecycleRules {
  /** Expires images without a tag `days` days after they were pushed. */
  public static expireUntaggedAfterDays(days: number, rulePriority = 1): EcrLifecycleRule {
    return {
      rulePriority,
      description: `Expire untagged images ${days} days after push`,
      selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: days },
      action: { type: "expire" },
    };
  }

  /** Keeps the `count` most recently pushed tagged images and expires older ones. */
  public static keepLastTagged(count: number, rulePriority = 2): EcrLifecycleRule {
    return {
      rulePriority,
      description: `Keep the last ${count} tagged images`,
      selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: count },
      action: { type: "expire" },
    };
  }
}

/** Properties of an {@link EcrRepo}. */
export interface EcrRepoProps {
  /** The repository name, e.g. `team/app` (ECR naming rules: 2-256 characters, lowercase). */
  readonly repositoryName: string;

  /**
   * Whether tags can be overwritten. Immutable tags make a tag a trustworthy name for one image.
   * @default TagMutability.IMMUTABLE
   */
  readonly tagMutability?: TagMutability;

  /**
   * Whether pushed images are scanned for vulnerabilities.
   * @default true
   */
  readonly scanOnPush?: boolean;

  /**
   * ARN of a customer managed KMS key that encrypts the images.
   * @default - KMS encryption with the AWS managed key `aws/ecr`
   */
  readonly kmsKeyArn?: string;

  /**
   * Whether `terraform destroy` deletes the repository even when it still holds images.
   * @default false
   */
  readonly forceDelete?: boolean;

  /**
   * How many tagged images to keep; older ones expire. Ignored when `lifecycleRules` is set.
   * @default 30
   */
  readonly keepTaggedImages?: number;

  /**
   * Days after which untagged images expire. Ignored when `lifecycleRules` is set.
   * @default 7
   */
  readonly untaggedImageExpiryDays?: number;

  /**
   * The complete list of lifecycle rules, replacing the two default ones.
   * @default - expire untagged images after `untaggedImageExpiryDays`, keep the last `keepTaggedImages` tagged images
   */
  readonly lifecycleRules?: EcrLifecycleRule[];

  /**
   * Other AWS accounts whose principals may pull images (a repository policy is created).
   * @default - no cross-account access
   */
  readonly pullAccountIds?: string[];

  /**
   * An AWS Organization whose principals may pull images (`aws:PrincipalOrgID` condition).
   * @default - no organization-wide access
   */
  readonly pullOrganizationId?: string;

  /**
   * Tags of the repository, merged with the provider's default tags.
   * @default - the provider's default tags only
   */
  readonly tags?: Record<string, string>;
}

/**
 * A private ECR repository, secure by default: immutable tags, scan on push, KMS encryption,
 * a lifecycle policy, no force delete, no cross-account access unless asked for.
 *
 * @example
 * const repo = new EcrRepo(this, "Repo", { repositoryName: "team/app" });
 * repo.grantPush(role);
 */
export class EcrRepo extends Construct {
  /** The underlying `aws_ecr_repository`. */
  public readonly resource: EcrRepository;
  /** The repository's name. */
  public readonly repositoryName: string;
  /** The repository's ARN. */
  public readonly repositoryArn: string;
  /** The repository's URL, `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
  public readonly repositoryUrl: string;
  /** The registry (account) ID that holds the repository. */
  public readonly registryId: string;
  /** The tag mutability the repository was created with. */
  public readonly tagMutability: TagMutability;

  constructor(scope: Construct, id: string, props: EcrRepoProps) {
    super(scope, id);
    validateProps(id, props);
    this.tagMutability = props.tagMutability ?? TagMutability.IMMUTABLE;

    this.resource = new EcrRepository(this, "Resource", {
      name: props.repositoryName,
      imageTagMutability: this.tagMutability,
      imageScanningConfiguration: { scanOnPush: props.scanOnPush ?? true },
      encryptionConfiguration: [{ encryptionType: "KMS", kmsKey: props.kmsKeyArn }],
      forceDelete: props.forceDelete ?? false,
      tags: props.tags,
    });
    this.repositoryName = this.resource.name;
    this.repositoryArn = this.resource.arn;
    this.repositoryUrl = this.resource.repositoryUrl;
    this.registryId = this.resource.registryId;

    const rules = props.lifecycleRules ?? [
      EcrLifecycleRules.expireUntaggedAfterDays(props.untaggedImageExpiryDays ?? 7, 1),
      EcrLifecycleRules.keepLastTagged(props.keepTaggedImages ?? 30, 2),
    ];
    if (rules.length > 0) {
      new EcrLifecyclePolicy(this, "LifecyclePolicy", {
        repository: this.resource.name,
        policy: JSON.stringify({ rules }),
      });
    }

    const pullAccounts = props.pullAccountIds ?? [];
    if (pullAccounts.length > 0 || props.pullOrganizationId !== undefined) {
      this.createPullPolicy(pullAccounts, props.pullOrganizationId);
    }
  }

  /** Lets `grantee` pull images from this repository (and get a registry token). */
  public grantPull(grantee: IGrantable): void {
    grantee.addToPrincipalPolicy({ sid: "EcrAuthToken", actions: ECR_AUTH_ACTIONS, resources: ["*"] });
    grantee.addToPrincipalPolicy({ sid: "EcrPull", actions: ECR_PULL_ACTIONS, resources: [this.repositoryArn] });
  }

  /** Lets `grantee` push (and pull) images to this repository, and read its scan findings. */
  public grantPush(grantee: IGrantable): void {
    grantee.addToPrincipalPolicy({ sid: "EcrAuthToken", actions: ECR_AUTH_ACTIONS, resources: ["*"] });
    grantee.addToPrincipalPolicy({ sid: "EcrPush", actions: ECR_PUSH_ACTIONS, resources: [this.repositoryArn] });
  }

  private createPullPolicy(accountIds: string[], organizationId: string | undefined): void {
    const partition = AwsContext.of(this).partition;
    const statements: DocumentStatement[] = [];
    if (accountIds.length > 0) {
      statements.push({
        sid: "CrossAccountPull",
        actions: ECR_PULL_ACTIONS,
        principals: [{ type: "AWS", identifiers: accountIds.map((a) => `arn:${partition}:iam::${a}:root`) }],
      });
    }
    if (organizationId !== undefined) {
      statements.push({
        sid: "OrganizationPull",
        actions: ECR_PULL_ACTIONS,
        principals: [{ type: "AWS", identifiers: ["*"] }],
        conditions: [{ test: "StringEquals", variable: "aws:PrincipalOrgID", values: [organizationId] }],
      });
    }
    new EcrRepositoryPolicy(this, "PullPolicy", { repository: this.resource.name, policy: renderPolicyDocument(statements) });
  }
}

function validateProps(id: string, props: EcrRepoProps): void {
  const p = new PropProblems("EcrRepo", id);
  const name = props.repositoryName;
  if (typeof name !== "string") {
    p.add("repositoryName", name, "is required and must be a string");
  } else {
    p.check(name.length >= 2 && name.length <= 256, "repositoryName", name, "must be 2-256 characters long (ECR naming rules)");
    p.check(name === name.toLowerCase(), "repositoryName", name, "must be lowercase (ECR naming rules)");
    p.check(
      name !== name.toLowerCase() || ECR_REPOSITORY_NAME_PATTERN.test(name),
      "repositoryName",
      name,
      "must be parts of letters and digits separated by single '.', '_' or '-', with optional 'namespace/' prefixes (ECR naming rules)",
    );
  }
  if (props.tagMutability !== undefined) {
    p.check(Object.values(TagMutability).includes(props.tagMutability), "tagMutability", props.tagMutability, "must be IMMUTABLE or MUTABLE");
  }
  if (props.kmsKeyArn !== undefined) {
    p.check(
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/.test(props.kmsKeyArn),
      "kmsKeyArn",
      props.kmsKeyArn,
      "must be a KMS key or alias ARN (arn:aws:kms:<region>:<account>:key/<id>)",
    );
  }
  checkIntRange(p, "keepTaggedImages", props.keepTaggedImages, 1, 10000, "images");
  checkIntRange(p, "untaggedImageExpiryDays", props.untaggedImageExpiryDays, 1, 3650, "days");
  (props.pullAccountIds ?? []).forEach((a, i) =>
    p.check(ACCOUNT_ID_PATTERN.test(a), `pullAccountIds[${i}]`, a, "must be an AWS account ID of exactly 12 digits"),
  );
  if (props.pullOrganizationId !== undefined) {
    p.check(
      ORGANIZATION_ID_PATTERN.test(props.pullOrganizationId),
      "pullOrganizationId",
      props.pullOrganizationId,
      'must be an AWS Organization ID ("o-" and 10-32 lowercase letters or digits)',
    );
  }
  if (props.lifecycleRules !== undefined) {
    const priorities = props.lifecycleRules.map((r) => r.rulePriority);
    p.check(new Set(priorities).size === priorities.length, "lifecycleRules rulePriority", priorities, "must be unique");
    const anyRule = props.lifecycleRules.find((r) => r.selection.tagStatus === "any");
    if (anyRule) {
      p.check(
        anyRule.rulePriority === Math.max(...priorities),
        "lifecycleRules rulePriority",
        anyRule.rulePriority,
        'of the tagStatus "any" rule must be the highest (ECR lifecycle rules)',
      );
    }
  }
  p.throwIfAny();
}
