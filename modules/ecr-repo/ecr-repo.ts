import { Construct } from "constructs";
import { Fn } from "cdktf";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { EcrRepositoryPolicy } from "@cdktf/provider-aws/lib/ecr-repository-policy";
import { AwsContext } from "../shared/aws-context";
import { ECR_PULL_ACTIONS } from "../shared/iam";
import { sameCopy } from "../shared/one-copy";
import { DocumentStatement, renderPolicyDocument } from "../shared/policy-document";
import { ACCOUNT_ID_PATTERN, PropProblems, isToken, throwPropProblems } from "../shared/validation";
import { checkRepositoryName, ecrRepoPropProblems } from "./ecr-repo-props";
import { EcrRepositoryBase, IEcrRepository, RepositoryPolicyGrant, TagMutability } from "./repository-base";
import { REPOSITORY_NAME_PARTS_PATTERN } from "../shared/patterns";

export { TagMutability } from "./repository-base";

/**
 * ECR repository names: 2-256 characters, lowercase, optional `namespace/` parts, each part
 * letters and digits separated by single `.`, `_` or `-`.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
 */
export const ECR_REPOSITORY_NAME_PATTERN: RegExp = REPOSITORY_NAME_PARTS_PATTERN;

/** How the repository's images are encrypted at rest. */
export enum RepositoryEncryption {
  /** KMS: the AWS managed key `aws/ecr`, or the customer managed key given as `kmsKeyArn` (the secure default). */
  KMS = "KMS",
  /**
   * AES-256 with keys ECR manages (ECR's own default). Exists to adopt existing repositories
   * without replacing them; the policy pack flags it (CKV_AWS_136) unless suppressed with a reason.
   */
  AES256 = "AES256",
}

/** What identifies an existing repository, for {@link EcrRepo.fromRepositoryAttributes}. */
export interface EcrRepositoryAttributes {
  /** The repository's name. */
  readonly repositoryName: string;
  /** The repository's ARN. */
  readonly repositoryArn: string;
  /**
   * The repository's URL.
   * @default - `<registryId>.dkr.ecr.<region of the ARN>.<partition DNS suffix>/<repositoryName>`
   */
  readonly repositoryUrl?: string;
  /**
   * The registry (account) ID.
   * @default - the account of the ARN
   */
  readonly registryId?: string;
  /**
   * The repository's tag mutability, when known (projects warn about fixed tags on IMMUTABLE).
   * @default - unknown
   */
  readonly tagMutability?: TagMutability;
}

/** `arn:<partition>:ecr:<region>:<account>:repository/<name>` */
const REPOSITORY_ARN_PATTERN = /^arn:(aws[a-z-]*):ecr:([a-z0-9-]+):(\d{12}):repository\/(.+)$/;
/** The DNS suffix of a partition's ECR endpoints. */
const PARTITION_DNS_SUFFIX: Record<string, string> = { "aws": "amazonaws.com", "aws-cn": "amazonaws.com.cn", "aws-us-gov": "amazonaws.com" };

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
   * How images are encrypted at rest. AES256 exists to adopt an existing repository without
   * replacing it (the encryption of a repository cannot change).
   * @default RepositoryEncryption.KMS
   */
  readonly encryption?: RepositoryEncryption;

  /**
   * ARN of a customer managed KMS key that encrypts the images (KMS encryption only).
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
   * Other AWS accounts whose principals may pull images, as whole accounts (`:root`; each
   * account's IAM then decides who). To name single roles instead, grant them:
   * `repo.grantPull(ImportedRole.fromRoleArn(...))`.
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
 * repo.grantPullPush(buildRole);
 * repo.grantPull(ImportedRole.fromRoleArn(this, "Task", "arn:aws:iam::222222222222:role/app-task", { mutable: false }));
 */
export class EcrRepo extends EcrRepositoryBase {
  /**
   * Imports an existing repository of the stack's account and region by name. Creates nothing;
   * grants change only the grantee (the repository's policy is not managed here).
   */
  public static fromRepositoryName(scope: Construct, id: string, repositoryName: string): IEcrRepository {
    const p = new PropProblems("EcrRepo.fromRepositoryName", id);
    checkRepositoryName(p, repositoryName);
    p.throwIfAny();
    sameCopy(scope, "EcrRepo.fromRepositoryName", id);
    const context = AwsContext.of(scope);
    const account = context.knownAccountId ?? context.accountId;
    const region = context.knownRegion ?? context.region;
    return new ImportedRepository(scope, id, {
      repositoryName,
      repositoryArn: context.arn("ecr", `repository/${repositoryName}`, { account, region }),
      registryId: account,
      repositoryUrl: `${account}.dkr.ecr.${region}.${context.dnsSuffix}/${repositoryName}`,
    });
  }

  /**
   * Imports an existing repository by ARN, in this account or another (for a cross-account
   * pull, the owner's repository policy must allow the grantee). Creates nothing.
   */
  public static fromRepositoryArn(scope: Construct, id: string, repositoryArn: string): IEcrRepository {
    sameCopy(scope, "EcrRepo.fromRepositoryArn", id);
    if (isToken(repositoryArn)) {
      const parts = Fn.split(":", repositoryArn);
      const registryId = Fn.element(parts, 4);
      const repositoryName = Fn.trimprefix(Fn.element(parts, 5), "repository/");
      return new ImportedRepository(scope, id, {
        repositoryName,
        repositoryArn,
        registryId,
        repositoryUrl: `${registryId}.dkr.ecr.${Fn.element(parts, 3)}.${AwsContext.of(scope).dnsSuffix}/${repositoryName}`,
      });
    }
    const m = REPOSITORY_ARN_PATTERN.exec(repositoryArn);
    const p = new PropProblems("EcrRepo.fromRepositoryArn", id);
    if (!m) p.add("repositoryArn", repositoryArn, "must be an ECR repository ARN (arn:aws:ecr:<region>:<account>:repository/<name>)");
    else checkRepositoryName(p, m[4] as string);
    p.throwIfAny();
    const [, partition, region, account, name] = m as RegExpExecArray;
    return new ImportedRepository(scope, id, {
      repositoryName: name as string,
      repositoryArn,
      registryId: account as string,
      repositoryUrl: `${account}.dkr.ecr.${region}.${PARTITION_DNS_SUFFIX[partition as string] ?? "amazonaws.com"}/${name}`,
    });
  }

  /** Imports an existing repository from its attributes. Creates nothing. */
  public static fromRepositoryAttributes(scope: Construct, id: string, attrs: EcrRepositoryAttributes): IEcrRepository {
    const base = EcrRepo.fromRepositoryArn(scope, id, attrs.repositoryArn) as ImportedRepository;
    const p = new PropProblems("EcrRepo.fromRepositoryAttributes", id);
    checkRepositoryName(p, attrs.repositoryName);
    if (attrs.registryId !== undefined) p.check(ACCOUNT_ID_PATTERN.test(attrs.registryId), "registryId", attrs.registryId, "must be an AWS account ID of exactly 12 digits");
    if (attrs.tagMutability !== undefined) {
      p.check(Object.values(TagMutability).includes(attrs.tagMutability), "tagMutability", attrs.tagMutability, "must be IMMUTABLE or MUTABLE");
    }
    p.throwIfAny();
    base.override({
      repositoryName: attrs.repositoryName,
      registryId: attrs.registryId ?? base.registryId,
      repositoryUrl: attrs.repositoryUrl ?? base.repositoryUrl.replace(/\/[^]*$/, "") + `/${attrs.repositoryName}`,
      tagMutability: attrs.tagMutability,
    });
    return base;
  }

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
  /** How the images are encrypted. */
  public readonly encryption: RepositoryEncryption;
  /** The repository policy, when there is one (cross-account pulls or grants). */
  public policy?: EcrRepositoryPolicy;

  protected readonly kind = "EcrRepo";
  private readonly literalName: string;
  private readonly policyStatements: DocumentStatement[] = [];
  private readonly grantStatements = new Map<string, { actions: readonly string[]; principals: Set<string> }>();

  constructor(scope: Construct, id: string, props: EcrRepoProps) {
    super(sameCopy(scope, "EcrRepo", id), id);
    throwPropProblems(ecrRepoPropProblems(id, props));
    this.tagMutability = props.tagMutability ?? TagMutability.IMMUTABLE;
    this.encryption = props.encryption ?? RepositoryEncryption.KMS;
    this.literalName = props.repositoryName;

    this.resource = new EcrRepository(this, "Resource", {
      name: props.repositoryName,
      imageTagMutability: this.tagMutability,
      imageScanningConfiguration: { scanOnPush: props.scanOnPush ?? true },
      encryptionConfiguration: [{ encryptionType: this.encryption, kmsKey: props.kmsKeyArn }],
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
    if (pullAccounts.length > 0) {
      const partition = AwsContext.of(this).partition;
      this.policyStatements.push({
        sid: "CrossAccountPull",
        actions: ECR_PULL_ACTIONS,
        principals: [{ type: "AWS", identifiers: pullAccounts.map((a) => `arn:${partition}:iam::${a}:root`) }],
      });
    }
    if (props.pullOrganizationId !== undefined) {
      this.policyStatements.push({
        sid: "OrganizationPull",
        actions: ECR_PULL_ACTIONS,
        principals: [{ type: "AWS", identifiers: ["*"] }],
        conditions: [{ test: "StringEquals", variable: "aws:PrincipalOrgID", values: [props.pullOrganizationId] }],
      });
    }
    if (this.policyStatements.length > 0) this.renderPolicy();
  }

  protected knownAccountId(): string | undefined {
    return AwsContext.knownAccountIdOf(this);
  }

  protected override nameForPatterns(): string {
    return this.literalName;
  }

  protected arnForOtherStacks(): string {
    return AwsContext.literalArnOf(this, "ecr", `repository/${this.literalName}`) ?? this.repositoryArn;
  }

  protected addToResourcePolicy(grant: RepositoryPolicyGrant): boolean {
    const existing = this.grantStatements.get(grant.sid) ?? { actions: grant.actions, principals: new Set<string>() };
    existing.principals.add(grant.principalArn);
    this.grantStatements.set(grant.sid, existing);
    this.renderPolicy();
    return true;
  }

  private renderPolicy(): void {
    const statements: DocumentStatement[] = [
      ...this.policyStatements,
      ...[...this.grantStatements.entries()].map(([sid, g]) => ({
        sid,
        actions: [...g.actions].sort(),
        principals: [{ type: "AWS", identifiers: [...g.principals] }],
      })),
    ];
    const policy = renderPolicyDocument(statements);
    if (this.policy) this.policy.policy = policy;
    else this.policy = new EcrRepositoryPolicy(this, "PullPolicy", { repository: this.resource.name, policy });
  }
}

/** An existing repository: referenced, never created or changed. */
class ImportedRepository extends EcrRepositoryBase {
  public repositoryName: string;
  public readonly repositoryArn: string;
  public repositoryUrl: string;
  public registryId: string;
  public tagMutability?: TagMutability;
  protected readonly kind = "EcrRepo import";

  constructor(scope: Construct, id: string, attrs: { repositoryName: string; repositoryArn: string; registryId: string; repositoryUrl: string }) {
    super(scope, id);
    this.repositoryName = attrs.repositoryName;
    this.repositoryArn = attrs.repositoryArn;
    this.registryId = attrs.registryId;
    this.repositoryUrl = attrs.repositoryUrl;
  }

  /** Sets what fromRepositoryAttributes was told. */
  public override(attrs: { repositoryName: string; registryId: string; repositoryUrl: string; tagMutability: TagMutability | undefined }): void {
    this.repositoryName = attrs.repositoryName;
    this.registryId = attrs.registryId;
    this.repositoryUrl = attrs.repositoryUrl;
    this.tagMutability = attrs.tagMutability;
  }

  protected knownAccountId(): string | undefined {
    return isToken(this.registryId) ? undefined : this.registryId;
  }

  protected arnForOtherStacks(): string {
    return this.repositoryArn;
  }

  protected addToResourcePolicy(): boolean {
    return false;
  }
}
