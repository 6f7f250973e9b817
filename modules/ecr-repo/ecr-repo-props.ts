/**
 * The pure prop check of an {@link EcrRepo}. Internal: the package exports the construct, not
 * these functions.
 */
import { ACCOUNT_ID_PATTERN, ORGANIZATION_ID_PATTERN, PropProblems, type PropProblemDetail, checkIntRange, recordedProblems } from "../shared/validation";
import { KMS_KEY_OR_ALIAS_ARN_PATTERN, KMS_KEY_OR_ALIAS_ARN_RULE, REPOSITORY_NAME_PARTS_PATTERN } from "../shared/patterns";
import { TagMutability } from "./repository-base";
import { type EcrRepo, type EcrRepoProps, RepositoryEncryption } from "./ecr-repo";

/** Checks a repository name (ECR naming rules). */
export function checkRepositoryName(p: PropProblems, name: unknown): void {
  if (typeof name !== "string") {
    p.add("repositoryName", name, "is required and must be a string");
    return;
  }
  p.check(name.length >= 2 && name.length <= 256, "repositoryName", name, "must be 2-256 characters long (ECR naming rules)");
  p.check(name === name.toLowerCase(), "repositoryName", name, "must be lowercase (ECR naming rules)");
  p.check(
    name !== name.toLowerCase() || REPOSITORY_NAME_PARTS_PATTERN.test(name),
    "repositoryName",
    name,
    "must be parts of letters and digits separated by single '.', '_' or '-', with optional 'namespace/' prefixes (ECR naming rules)",
  );
}

/**
 * The problems of an {@link EcrRepo}'s props, as data (prop, value, rule): what its constructor
 * throws, without a construct (the environments file's check reports them at the config's fields).
 */
export function ecrRepoPropProblems(id: string, props: EcrRepoProps): readonly PropProblemDetail[] {
  const p = new PropProblems("EcrRepo", id);
  checkRepositoryName(p, props.repositoryName);
  if (props.tagMutability !== undefined) {
    p.check(Object.values(TagMutability).includes(props.tagMutability), "tagMutability", props.tagMutability, "must be IMMUTABLE or MUTABLE");
  }
  if (props.encryption !== undefined) {
    p.check(Object.values(RepositoryEncryption).includes(props.encryption), "encryption", props.encryption, "must be KMS or AES256");
  }
  if (props.kmsKeyArn !== undefined && props.encryption === RepositoryEncryption.AES256) {
    p.add("kmsKeyArn", props.kmsKeyArn, "needs encryption KMS (AES256 uses keys ECR manages)");
  } else if (props.kmsKeyArn !== undefined) {
    p.check(
      KMS_KEY_OR_ALIAS_ARN_PATTERN.test(props.kmsKeyArn),
      "kmsKeyArn",
      props.kmsKeyArn,
      KMS_KEY_OR_ALIAS_ARN_RULE,
    );
  }
  checkIntRange(p, "keepTaggedImages", props.keepTaggedImages, 1, 10000, "images");
  checkIntRange(p, "untaggedImageExpiryDays", props.untaggedImageExpiryDays, 1, 3650, "days");
  (props.pullAccountIds ?? []).forEach((a, i, all) => {
    p.check(ACCOUNT_ID_PATTERN.test(a), `pullAccountIds[${i}]`, a, "must be an AWS account ID of exactly 12 digits");
    if (all.indexOf(a) !== i) p.add(`pullAccountIds[${i}]`, a, "is a duplicate account ID");
  });
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
  return recordedProblems(p);
}
