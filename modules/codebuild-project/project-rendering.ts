import { Construct } from "constructs";
import { Fn, TerraformLocal } from "cdktf";
import {
  CodebuildProjectCache,
  CodebuildProjectSource,
} from "@cdktf/provider-aws/lib/codebuild-project";
import { AwsContext } from "../shared/aws-context";
import { BuildSpec } from "../shared/buildspec";
import { isToken, literal } from "../shared/validation";
import { type ProjectSource, type ProjectCache } from "./codebuild-docker-project-props";

// How a project's props become provider blocks and ARNs: the source, the cache, SSM and Secrets
// Manager references.

/**
 * The ARN of an SSM parameter given by name (`/app/db-url`, `app/db-url`) or ARN. A name only
 * known at apply (a token, e.g. `param.name`) becomes a Terraform local whose expression keeps an
 * ARN as it is and drops one leading `/` of a name, as the literal path does. (A local keeps the
 * policy document valid JSON before Terraform evaluates it, so the policy pack can read it.)
 */
export function parameterArn(scope: Construct, id: string, context: AwsContext, nameOrArn: string): string {
  if (isToken(nameOrArn)) {
    const arn = context.arn("ssm", `parameter/${Fn.trimprefix(nameOrArn, "/")}`);
    return new TerraformLocal(scope, id, Fn.conditional(Fn.startswith(nameOrArn, "arn:"), nameOrArn, arn)).asString;
  }
  if (nameOrArn.startsWith("arn:")) return nameOrArn;
  return context.arn("ssm", `parameter/${nameOrArn.replace(/^\//, "")}`);
}

/**
 * The ARN of the secret a SECRETS_MANAGER variable reads. The reference is
 * `secret-id[:json-key[:version-stage[:version-id]]]`; a secret given by name matches the
 * six random characters Secrets Manager appends (`-??????`). A reference only known at apply
 * (a token, e.g. `secret.arn`) becomes a Terraform local with the equivalent expression.
 */
export function secretArn(scope: Construct, id: string, context: AwsContext, reference: string): string {
  if (isToken(reference)) {
    const parts = Fn.split(":", reference);
    const byName = context.arn("secretsmanager", `secret:${Fn.element(parts, 0)}-??????`);
    return new TerraformLocal(scope, id, Fn.conditional(Fn.startswith(reference, "arn:"), Fn.join(":", Fn.slice(parts, 0, 7)), byName)).asString;
  }
  if (reference.startsWith("arn:")) return reference.split(":").slice(0, 7).join(":");
  const name = reference.split(":")[0];
  return context.arn("secretsmanager", `secret:${name}-??????`);
}

export function renderSource(source: ProjectSource, spec: BuildSpec): CodebuildProjectSource {
  const buildSpec = { value: literal(spec.value) };
  switch (source.type) {
    case "NO_SOURCE":
      return { type: "NO_SOURCE", buildspec: buildSpec.value };
    case "GITHUB":
    case "GITHUB_ENTERPRISE":
    case "BITBUCKET":
      return {
        type: source.type,
        location: source.location,
        gitCloneDepth: source.cloneDepth ?? 1,
        reportBuildStatus: source.reportBuildStatus ?? false,
        buildspec: buildSpec.value,
        ...(source.connectionArn === undefined ? {} : { auth: { type: "CODECONNECTIONS", resource: source.connectionArn } }),
      };
    case "CODECOMMIT":
      return { type: "CODECOMMIT", location: source.location, gitCloneDepth: source.cloneDepth ?? 1, buildspec: buildSpec.value };
    case "S3":
      return { type: "S3", location: `${source.bucketName}/${source.objectKey}`, buildspec: buildSpec.value };
  }
}

/** The S3 cache prefix: `cache.prefix`, else the project name; with `-pr` appended for the pull request project. */
export function s3CachePrefix(cache: ProjectCache, projectName: string, pullRequest: boolean): string {
  const base = (cache.type === "S3" ? cache.prefix : undefined) ?? projectName;
  return pullRequest ? `${base}-pr` : base;
}

export function renderCache(cache: ProjectCache, prefix: string): CodebuildProjectCache {
  switch (cache.type) {
    case "LOCAL":
      return { type: "LOCAL", modes: ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"] };
    case "S3":
      return { type: "S3", location: `${cache.bucketName}/${prefix}` };
    case "NONE":
      return { type: "NO_CACHE" };
  }
}
