import { BuildSpec } from "../shared/buildspec";
import { looksLikeSecret } from "../shared/secret-names";
import { HiddenValue, PropProblems, type PropProblemDetail, checkIntRange, isToken, recordedProblems } from "../shared/validation";
import { sourcePathProblem } from "../shared/source-path";
import {
  PUSH_IMAGE_VARIABLE,
  validateTriggers,
} from "../shared/triggers";
import {
  BUCKET_NAME_PATTERN,
  BUCKET_NAME_RULE,
  CONNECTION_ARN_PATTERN,
  CONNECTION_ARN_RULE,
  IMAGE_TAG_PATTERN,
  IMAGE_TAG_RULE,
  KMS_KEY_ARN_PATTERN,
  PROJECT_NAME_PATTERN,
  PROJECT_NAME_RULE,
  VARIABLE_NAME_PATTERN,
} from "../shared/patterns";
import { EnvironmentVariableType, COMPUTE_TYPES, LOG_RETENTION_DAYS, SAMPLE_ENVIRONMENT_VARIABLES, DOCKER_BUILD_ENVIRONMENT_VARIABLES, type CodeBuildDockerProjectProps, type DockerBuildEnvironment } from "./codebuild-docker-project-props";

// The pure check of a Docker project's props: the constructor throws what it returns, and the
// environments file's check reports it at the config's fields.

const GITHUB_URL = /^https:\/\/github\.com\/[\w.-]+\/[\w.-]+?(\.git)?$/;
const GITHUB_ENTERPRISE_URL = /^https:\/\/[a-z0-9.-]+(:\d+)?\/[\w.-]+\/[\w.-]+?(\.git)?$/;
const BITBUCKET_URL = /^https:\/\/bitbucket\.org\/[\w.-]+\/[\w.-]+?(\.git)?$/;
export const CODECOMMIT_URL = /^https:\/\/git-codecommit\.([a-z0-9-]+)\.amazonaws\.com\/v1\/repos\/([\w.-]+)$/;

/** A project's props as its pure check reads them: the repository may be missing (the config's check has none yet). */
export type DockerProjectPropsToCheck = Omit<CodeBuildDockerProjectProps, "repository"> & { readonly repository?: CodeBuildDockerProjectProps["repository"] };

/**
 * The problems of a Docker project's props, as data (prop path, value, rule): the project's
 * constructor throws them; the environments file's check reports them at the config's fields.
 * Internal: not exported from the package.
 */
export function dockerProjectPropProblems(
  id: string,
  props: DockerProjectPropsToCheck,
  env: DockerBuildEnvironment,
  buildSpec: BuildSpec = props.buildSpec ?? env.defaultBuildSpec(),
): readonly PropProblemDetail[] {
  const p = new PropProblems(env.constructName, id);
  p.check(
    typeof props.projectName === "string" && PROJECT_NAME_PATTERN.test(props.projectName),
    "projectName",
    props.projectName,
    PROJECT_NAME_RULE,
  );
  if (props.repository === undefined) p.add("repository", undefined, "is required (the EcrRepo the build pushes to)");
  if (props.imageTag !== undefined) {
    p.check(IMAGE_TAG_PATTERN.test(props.imageTag), "imageTag", props.imageTag, IMAGE_TAG_RULE);
  }
  for (const [prop, value] of [["dockerfile", props.dockerfile], ["buildContext", props.buildContext]] as const) {
    const problem = value === undefined ? undefined : sourcePathProblem(value);
    if (problem !== undefined) p.check(false, prop, value, `must be a path relative to the source root, ${problem}`);
  }
  if (props.computeType !== undefined) {
    p.check(COMPUTE_TYPES.includes(props.computeType), "computeType", props.computeType, `must be one of ${COMPUTE_TYPES.join(", ")} (privileged builds need EC2 compute)`);
  }
  checkIntRange(p, "buildTimeoutMinutes", props.buildTimeoutMinutes, 5, 2160, "minutes");
  checkIntRange(p, "queuedTimeoutMinutes", props.queuedTimeoutMinutes, 5, 480, "minutes");
  checkIntRange(p, "concurrentBuildLimit", props.concurrentBuildLimit, 1, 10000, "builds");
  if (props.logRetentionDays !== undefined) {
    p.check(LOG_RETENTION_DAYS.includes(props.logRetentionDays), "logRetentionDays", props.logRetentionDays, `must be one of CloudWatch's retention values (${LOG_RETENTION_DAYS.join(", ")})`);
  }
  if (props.logKmsKeyArn !== undefined) {
    p.check(KMS_KEY_ARN_PATTERN.test(props.logKmsKeyArn), "logKmsKeyArn", props.logKmsKeyArn, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)");
  }

  for (const [name, v] of Object.entries(props.environmentVariables ?? {})) {
    const where = `environmentVariables.${name}`;
    p.check(VARIABLE_NAME_PATTERN.test(name), "environmentVariables name", name, "must be letters, digits and '_', not starting with a digit");
    p.check(!name.startsWith("CODEBUILD_"), "environmentVariables name", name, "must not start with CODEBUILD_ (reserved by CodeBuild)");
    p.check(name !== PUSH_IMAGE_VARIABLE, "environmentVariables name", name, "is set by the construct (false in the pull request project of triggers)");
    p.check(
      !(SAMPLE_ENVIRONMENT_VARIABLES as readonly string[]).includes(name),
      "environmentVariables name",
      name,
      "is set by the construct (from the stack and the repository; use imageTag for IMAGE_TAG)",
    );
    if (Object.hasOwn(DOCKER_BUILD_ENVIRONMENT_VARIABLES, name)) {
      const prop = DOCKER_BUILD_ENVIRONMENT_VARIABLES[name as keyof typeof DOCKER_BUILD_ENVIRONMENT_VARIABLES];
      p.add("environmentVariables name", name, `is set by the construct (use the ${prop} prop)`);
    }
    p.check(name !== "DOCKER_CONTEXT", "environmentVariables name", name, "is read by the docker CLI as the name of a Docker context, so docker login, build and push would fail with \"context not found\" (the build context is the buildContext prop)");
    const type = v.type ?? EnvironmentVariableType.PLAINTEXT;
    p.check(Object.values(EnvironmentVariableType).includes(type), `${where}.type`, type, "must be PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER");
    // A value is never printed when its name looks like a secret, nor where a secret lives.
    const secretName = looksLikeSecret(name);
    const shown =
      secretName || type !== EnvironmentVariableType.PLAINTEXT
        ? new HiddenValue(secretName ? "the name looks like a secret" : `a ${type} reference`)
        : v.value;
    p.check(
      !(type === EnvironmentVariableType.PLAINTEXT && secretName) || isToken(v.value),
      where,
      shown,
      "is PLAINTEXT but its name looks like a secret: store it in SSM Parameter Store or Secrets Manager and set type PARAMETER_STORE or SECRETS_MANAGER",
    );
    p.check((typeof v.value === "string" && v.value.length > 0) || isToken(v.value), `${where}.value`, shown, "must be a non-empty string");
  }

  const source = props.source ?? { type: "NO_SOURCE" };
  if (source.type === "NO_SOURCE") {
    p.check(buildSpec.inlineContent !== undefined, "buildSpec", buildSpec.origin, "must be inline (BuildSpec.fromFile/fromInline/bundled) when the source is NO_SOURCE");
  } else if (source.type === "GITHUB") {
    p.check(GITHUB_URL.test(source.location), "source.location", source.location, "must be https://github.com/<owner>/<repo>.git");
  } else if (source.type === "GITHUB_ENTERPRISE") {
    p.check(GITHUB_ENTERPRISE_URL.test(source.location), "source.location", source.location, "must be https://<host>/<owner>/<repo>.git");
  } else if (source.type === "BITBUCKET") {
    p.check(BITBUCKET_URL.test(source.location), "source.location", source.location, "must be https://bitbucket.org/<workspace>/<repo>.git");
  } else if (source.type === "CODECOMMIT") {
    p.check(CODECOMMIT_URL.test(source.location), "source.location", source.location, "must be https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>");
  } else if (source.type === "S3") {
    p.check(BUCKET_NAME_PATTERN.test(source.bucketName), "source.bucketName", source.bucketName, BUCKET_NAME_RULE);
    p.check(source.objectKey.length > 0 && !source.objectKey.includes("*"), "source.objectKey", source.objectKey, "must be an exact object key (no wildcards)");
  } else {
    p.add("source.type", (source as { type: unknown }).type, "must be NO_SOURCE, GITHUB, GITHUB_ENTERPRISE, BITBUCKET, CODECOMMIT or S3");
  }
  if ("connectionArn" in source && source.connectionArn !== undefined) {
    p.check(CONNECTION_ARN_PATTERN.test(source.connectionArn), "source.connectionArn", source.connectionArn, CONNECTION_ARN_RULE);
  }
  if (props.triggers !== undefined) {
    validateTriggers(p, props.triggers, props.projectName, source.type, "connectionArn" in source ? source.connectionArn : undefined);
  }
  if ("cloneDepth" in source) checkIntRange(p, "source.cloneDepth", source.cloneDepth, 0, 1000000);
  if (props.badge) {
    p.check(source.type === "GITHUB" || source.type === "CODECOMMIT", "badge", true, `needs a GITHUB or CODECOMMIT source (CodeBuild has no badge for ${source.type})`);
  }
  for (const problem of buildSpec.problems()) p.add("buildSpec", buildSpec.origin, problem);
  env.validate?.(p);

  const cache = props.cache ?? { type: "LOCAL" };
  if (cache.type === "S3") {
    p.check(BUCKET_NAME_PATTERN.test(cache.bucketName), "cache.bucketName", cache.bucketName, BUCKET_NAME_RULE);
  } else if (cache.type !== "LOCAL" && cache.type !== "NONE") {
    p.add("cache.type", (cache as { type: unknown }).type, "must be LOCAL, S3 or NONE");
  }

  if (props.vpc) {
    p.check(/^vpc-[0-9a-f]{8,17}$/.test(props.vpc.vpcId), "vpc.vpcId", props.vpc.vpcId, "must be a VPC ID (vpc-…)");
    p.check(props.vpc.subnetIds.length >= 1, "vpc.subnetIds", props.vpc.subnetIds, "must name at least one subnet");
    props.vpc.subnetIds.forEach((s, i) => p.check(/^subnet-[0-9a-f]{8,17}$/.test(s), `vpc.subnetIds[${i}]`, s, "must be a subnet ID (subnet-…)"));
    p.check(props.vpc.securityGroupIds.length >= 1 && props.vpc.securityGroupIds.length <= 5, "vpc.securityGroupIds", props.vpc.securityGroupIds, "must name 1 to 5 security groups");
    props.vpc.securityGroupIds.forEach((s, i) => p.check(/^sg-[0-9a-f]{8,17}$/.test(s), `vpc.securityGroupIds[${i}]`, s, "must be a security group ID (sg-…)"));
  }
  return recordedProblems(p);
}
