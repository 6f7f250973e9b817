import { Construct, IConstruct } from "constructs";
import { Annotations, TerraformStack } from "cdktf";
import { AwsContext } from "../shared/aws-context";
import { ECR_AUTH_ACTIONS, ECR_PULL_ACTIONS, ECR_PUSH_ACTIONS, ECR_READ_ACTIONS, IGrantee } from "../shared/iam";
import { isToken, readable, show } from "../shared/validation";
import { IMAGE_TAG_PATTERN } from "../shared/patterns";
import { eventRule, type EventRule, type OnEventOptions } from "../shared/events";

/** Whether tags can be overwritten. */
export enum TagMutability {
  /** A tag, once pushed, always names the same image (the secure default). */
  IMMUTABLE = "IMMUTABLE",
  /** Tags can be moved to a new image by a later push. */
  MUTABLE = "MUTABLE",
}

/** An image tag: up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`. */
const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/**
 * An ECR repository: one this app creates ({@link EcrRepo}) or an existing one imported with
 * `EcrRepo.fromRepositoryName`, `fromRepositoryArn` or `fromRepositoryAttributes`.
 */
export interface IEcrRepository extends IConstruct {
  /** The repository's name, e.g. `team/app`. */
  readonly repositoryName: string;
  /** The repository's ARN. */
  readonly repositoryArn: string;
  /** The repository's URL, `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
  readonly repositoryUrl: string;
  /** The registry (account) ID that holds the repository. */
  readonly registryId: string;
  /**
   * The repository's tag mutability, when known.
   * @default - unknown (an import that was not told)
   */
  readonly tagMutability?: TagMutability;

  /** The image URI of a tag, `<url>:<tag>` (the URL alone when no tag is given). */
  repositoryUriForTag(tag?: string): string;
  /** The image URI of a digest, `<url>@sha256:…` (the URL alone when no digest is given). */
  repositoryUriForDigest(digest?: string): string;
  /** An image by tag, or by digest when the argument is a `sha256:` digest. */
  repositoryUriForTagOrDigest(tagOrDigest?: string): string;
  /** An EventBridge rule for every ECR event of the repository. */
  onEvent(id: string, options: OnEventOptions): EventRule;
  /** An EventBridge rule for each completed image scan ("ECR Image Scan", COMPLETE). */
  onImageScanCompleted(id: string, options: OnEventOptions & { readonly imageTags?: readonly string[] }): EventRule;
  /** An EventBridge rule for each image pushed, as CloudTrail records it (PutImage). */
  onCloudTrailImagePushed(id: string, options: OnEventOptions & { readonly imageTag?: string }): EventRule;

  /**
   * Lets `grantee` pull images (and get a registry token). A grantee of another account is also
   * named in the repository policy (for a repository this app manages).
   */
  /** Lets `grantee` read the repository's and its images' metadata. */
  grantRead(grantee: IGrantee): void;
  /** Lets `grantee` call exactly `actions` (ECR actions) on the repository, on both sides as grantPull does. */
  grant(grantee: IGrantee, ...actions: string[]): void;
  grantPull(grantee: IGrantee): void;
  /** Lets `grantee` push images and read their scan findings (and get a registry token). */
  grantPush(grantee: IGrantee): void;
  /** Lets `grantee` pull and push: what a build that reuses the previous image as cache needs. */
  grantPullPush(grantee: IGrantee): void;
}

/** A statement a grant adds to the repository's own policy: actions for one principal. */
export interface RepositoryPolicyGrant {
  /** The statement ID (statements with the same sid are merged). */
  readonly sid: string;
  /** ECR actions. */
  readonly actions: readonly string[];
  /** The principal's ARN. */
  readonly principalArn: string;
}

/**
 * The grants and URIs every repository has. A grant always adds the identity-policy statements
 * to the grantee; when the grantee is in another account (or in a stack whose account is not
 * known at synth), it also adds a statement naming the grantee to the repository policy.
 */
export abstract class EcrRepositoryBase extends Construct implements IEcrRepository {
  public abstract readonly repositoryName: string;
  public abstract readonly repositoryArn: string;
  public abstract readonly repositoryUrl: string;
  public abstract readonly registryId: string;
  public abstract readonly tagMutability?: TagMutability;

  /** The construct's class name in messages. */
  protected abstract readonly kind: string;

  /** The repository's account when known at synth, for telling same- and cross-account grants apart. */
  protected abstract knownAccountId(): string | undefined;

  /**
   * The repository's ARN as another stack should reference it: a literal when it is known at
   * synth (no cross-stack reference), else the attribute.
   */
  protected abstract arnForOtherStacks(): string;

  /**
   * Adds a statement naming another account's principal to the repository policy.
   * @returns false when this repository's policy is not managed here (an import)
   */
  protected abstract addToResourcePolicy(grant: RepositoryPolicyGrant): boolean;

  public repositoryUriForTag(tag?: string): string {
    if (tag === undefined) return this.repositoryUrl;
    if (!isToken(tag) && !IMAGE_TAG_PATTERN.test(tag)) {
      throw new Error(`${this.kind} '${this.node.id}': repositoryUriForTag tag ${show(tag)} must be 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'`);
    }
    return `${this.repositoryUrl}:${tag}`;
  }

  public repositoryUriForDigest(digest?: string): string {
    if (digest === undefined) return this.repositoryUrl;
    if (!isToken(digest) && !DIGEST_PATTERN.test(digest)) {
      throw new Error(`${this.kind} '${this.node.id}': repositoryUriForDigest digest ${show(digest)} must be sha256: and 64 lowercase hex digits`);
    }
    return `${this.repositoryUrl}@${digest}`;
  }

  /** The repository's name as event patterns and messages show it: the literal where it is known at synth. */
  protected nameForPatterns(): string {
    return this.repositoryName;
  }

  /** An image of this repository by tag, or by digest when `tagOrDigest` is a `sha256:` digest (as aws-cdk-lib's). */
  public repositoryUriForTagOrDigest(tagOrDigest?: string): string {
    return tagOrDigest?.startsWith("sha256:") ? this.repositoryUriForDigest(tagOrDigest) : this.repositoryUriForTag(tagOrDigest);
  }

  /** An EventBridge rule for every event ECR sends about this repository (source `aws.ecr`). */
  public onEvent(id: string, options: OnEventOptions): EventRule {
    return eventRule(this, id, this.kind, { source: ["aws.ecr"], detail: { "repository-name": [this.nameForPatterns()] } }, options, `ECR events of ${readable(this, this.nameForPatterns())}`);
  }

  /**
   * An EventBridge rule for each completed image scan of this repository ("ECR Image Scan",
   * scan-status COMPLETE), optionally only of images with one of `imageTags`.
   */
  public onImageScanCompleted(id: string, options: OnEventOptions & { readonly imageTags?: readonly string[] }): EventRule {
    const detail: Record<string, unknown> = { "repository-name": [this.nameForPatterns()], "scan-status": ["COMPLETE"] };
    if (options.imageTags?.length) detail["image-tags"] = [...options.imageTags];
    return eventRule(this, id, this.kind, { source: ["aws.ecr"], "detail-type": ["ECR Image Scan"], detail }, options, `completed image scans of ${readable(this, this.nameForPatterns())}`);
  }

  /**
   * An EventBridge rule for each image pushed to this repository, as CloudTrail records it
   * (PutImage; the account needs a CloudTrail trail), optionally only of `imageTag`.
   */
  public onCloudTrailImagePushed(id: string, options: OnEventOptions & { readonly imageTag?: string }): EventRule {
    const requestParameters: Record<string, unknown> = { repositoryName: [this.nameForPatterns()] };
    if (options.imageTag !== undefined) requestParameters.imageTag = [options.imageTag];
    return eventRule(
      this,
      id,
      this.kind,
      { source: ["aws.ecr"], "detail-type": ["AWS API Call via CloudTrail"], detail: { eventSource: ["ecr.amazonaws.com"], eventName: ["PutImage"], requestParameters } },
      options,
      `images pushed to ${readable(this, this.nameForPatterns())} (CloudTrail)`,
    );
  }

  public grantPull(grantee: IGrantee): void {
    this.grantActions(grantee, "EcrPull", ECR_PULL_ACTIONS);
  }

  public grantPush(grantee: IGrantee): void {
    this.grantActions(grantee, "EcrPush", ECR_PUSH_ACTIONS);
  }

  public grantPullPush(grantee: IGrantee): void {
    this.grantPull(grantee);
    this.grantPush(grantee);
  }

  /** Lets `grantee` read the repository's and its images' metadata (`ecr:DescribeImages`, `ecr:DescribeRepositories`), not pull them. */
  public grantRead(grantee: IGrantee): void {
    this.grantActions(grantee, "EcrRead", ECR_READ_ACTIONS);
  }

  /**
   * Lets `grantee` call exactly `actions` (ECR actions, no wildcards) on this repository, on both
   * sides as grantPull does: its identity policy, and the repository policy when it crosses accounts.
   */
  public grant(grantee: IGrantee, ...actions: string[]): void {
    const bad = actions.filter((a) => !/^ecr:[A-Za-z]+$/.test(a));
    if (actions.length === 0 || bad.length) {
      throw new Error(`${this.kind} '${this.node.id}': grant actions ${show(actions)} must be one or more exact ECR actions (ecr:<Action>, no wildcards)${bad.length ? `; not: ${bad.join(", ")}` : ""}`);
    }
    this.grantActions(grantee, "EcrActions", [...new Set(actions)].sort());
  }

  private grantActions(grantee: IGrantee, sid: string, actions: readonly string[]): void {
    const sameStack = TerraformStack.of(grantee) === TerraformStack.of(this);
    // A literal ARN wherever it is known at synth (reviewers read it, and messages print it), else the attribute.
    const arn = this.arnForOtherStacks();
    const token = grantee.addToPrincipalPolicy({ sid: "EcrAuthToken", actions: ECR_AUTH_ACTIONS, resources: ["*"] });
    const principalSide = grantee.addToPrincipalPolicy({ sid, actions, resources: [arn] }) || token;
    const method = ({ EcrPull: "grantPull", EcrPush: "grantPush", EcrRead: "grantRead" } as Record<string, string>)[sid] ?? "grant";
    const nothing = (repositorySide: string) => {
      if (principalSide || grantee.unchangedWithoutAsking === undefined) return;
      throw new Error(`${this.kind} '${this.node.id}': ${method} to ${grantee.node.path} would change nothing: ${repositorySide}, and ${grantee.unchangedWithoutAsking}`);
    };
    if (!this.crossesAccounts(grantee, sameStack)) {
      nothing("the grantee is in the repository's account, where only its own policy grants");
      return;
    }

    if (!sameStack && isToken(grantee.principalArn)) {
      throw new Error(
        `${this.kind} '${this.node.id}': ${method} to ${grantee.node.path} crosses accounts ` +
          `(or stacks whose accounts are unknown at synth), so the repository policy must name the principal, but its ARN is only known at apply: ` +
          `import the role by its literal ARN in the repository's stack (ImportedRole.fromRoleArn), or give both stacks' providers allowed_account_ids`,
      );
    }
    const added = this.addToResourcePolicy({ sid: `CrossAccount${sid}`, actions, principalArn: grantee.principalArn });
    if (!added) {
      nothing("the repository is imported (its policy is not managed here)");
      Annotations.of(this).addInfo(
        `${this.kind} '${this.node.id}' is not managed here: its owner must allow ${readable(this, grantee.principalArn)} ${actions.join(", ")} in the repository policy of ${readable(this, this.repositoryArn)}`,
      );
    }
  }

  /** Whether `grantee` is (or may be) in another account than the repository. */
  private crossesAccounts(grantee: IGrantee, sameStack: boolean): boolean {
    const mine = this.knownAccountId();
    const literal = (a: string | undefined) => (a !== undefined && !isToken(a) ? a : undefined);
    const theirs = literal(grantee.principalAccount) ?? (sameStack ? undefined : AwsContext.knownAccountIdOf(grantee));
    if (theirs === undefined) return !sameStack; // same stack, same provider: same account
    return mine === undefined || theirs !== mine;
  }
}
