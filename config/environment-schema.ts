/**
 * The one definition of `config/environments.json`: a zod schema from which the TypeScript types,
 * the shape's validation and the JSON Schema for editors come.
 *
 * The schema decides the shape (types, enums, required and unknown keys) and the fields no
 * construct of the stacks receives (account, regions, state backend, default tags, the
 * environments' references to each other). The rules of the fields that become construct props
 * (names, ARNs, tags of a tag, ranges, source URLs, …) are the constructs' own: the config's check
 * runs the constructs' prop checks (./construct-rules) and reports their problems here, at the
 * field. Their patterns and ranges appear in the JSON Schema as editor hints only ({@link hint}),
 * from the same constants the constructs use.
 */
import { z } from "zod";
import { AWS_REGIONS } from "./regions";
import {
  AZURE_REGISTRY_NAME_PATTERN,
  BUCKET_NAME_PATTERN,
  BUCKET_NAME_RULE,
  CONNECTION_ARN_PATTERN,
  IMAGE_TAG_PATTERN,
  KMS_KEY_OR_ALIAS_ARN_PATTERN,
  KMS_KEY_OR_ALIAS_ARN_RULE,
  PROJECT_NAME_PATTERN,
  REPOSITORY_NAME_PATTERN,
  ROLE_ARN_PATTERN,
  ROLE_ARN_RULE,
  SECRET_ARN_PATTERN,
  VARIABLE_NAME_PATTERN,
} from "../modules/shared/patterns";
import { ACCOUNT_ID_PATTERN, ORGANIZATION_ID_PATTERN } from "../modules/shared/validation";
import { WEBHOOK_EVENTS_BY_SOURCE, type WebhookEvent } from "../modules/shared/triggers";
import { MULTI_ARCH_PLATFORMS } from "../modules/codebuild-privileged-project/multi-arch";
import type { MultiArchPlatform } from "../modules/codebuild-privileged-project/multi-arch";
import { COMPUTE_TYPES, EnvironmentVariableType, LOG_RETENTION_DAYS } from "../modules/codebuild-project/codebuild-docker-project";
import { TagMutability } from "../modules/ecr-repo/repository-base";
import { MAX_SCANNING_FILTERS, MAX_SCANNING_RULES, RegistryScanType, ScanFrequency } from "../modules/ecr-registry-scanning/ecr-registry-scanning";
import {
  PULL_THROUGH_CREDENTIAL_PATTERN,
  PULL_THROUGH_PREFIX_PATTERN,
  PULL_THROUGH_UPSTREAMS,
  type PullThroughUpstream,
} from "../modules/ecr-pull-through-cache/ecr-pull-through-cache";

/** An environment's name (the key in `environments`). */
export const ENVIRONMENT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
/** The rule {@link ENVIRONMENT_NAME_PATTERN} states. */
export const ENVIRONMENT_NAME_RULE = "must be 1-32 lowercase letters, digits or '-', starting with a letter";
const ACCOUNT_ID_RULE = "must be exactly 12 digits (an AWS account ID)";

/** A zod error option whose text applies only to a present value (a missing one "is required"). */
function present(rule: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? undefined : rule) };
}

/** An object that refuses keys it does not know, naming the ones it does. */
function obj<T extends z.ZodRawShape>(shape: T, unknownKeyRule?: string) {
  const rule = unknownKeyRule ?? `is an unknown key (known: ${Object.keys(shape).join(", ")})`;
  return z.strictObject(shape, { error: (issue) => (issue.code === "unrecognized_keys" ? rule : undefined) });
}

const pattern = (re: RegExp, rule: string) => z.string().regex(re, { error: rule });

/**
 * A string a construct checks: any string passes the schema, the construct's check decides (and
 * says why); the JSON Schema carries the construct's pattern as a hint for editors.
 */
const hint = (re: RegExp) => z.string().meta({ pattern: re.source });

/** A number a construct checks; the JSON Schema carries its range (whole numbers) as a hint for editors. */
const hintInt = (minimum: number, maximum: number) => z.number().meta({ type: "integer", minimum, maximum });

/** An array whose items are distinct; a repeat is reported at its index. */
function unique<T extends z.ZodType>(items: z.ZodArray<T>, what: string) {
  return items
    .superRefine((list, ctx) =>
      list.forEach((item, i) => {
        if (list.indexOf(item) !== i) ctx.addIssue({ code: "custom", path: [i], message: `is a duplicate ${what}`, input: item });
      }),
    )
    .meta({ uniqueItems: true });
}

const region = z.enum(AWS_REGIONS as [string, ...string[]], present("is not a known AWS region (see config/regions.ts)"));
const accountId = pattern(ACCOUNT_ID_PATTERN, ACCOUNT_ID_RULE);
const roleArn = pattern(ROLE_ARN_PATTERN, ROLE_ARN_RULE);
const kmsArn = pattern(KMS_KEY_OR_ALIAS_ARN_PATTERN, KMS_KEY_OR_ALIAS_ARN_RULE);
const bucket = pattern(BUCKET_NAME_PATTERN, BUCKET_NAME_RULE);
const projectName = hint(PROJECT_NAME_PATTERN);
const environmentName = pattern(ENVIRONMENT_NAME_PATTERN, "must be the name of another environment of this file");
const sourcePath = z.string();
const variableName = hint(VARIABLE_NAME_PATTERN);

const filterPattern = z.string().meta({ minLength: 1 });
const filterGroups = z
  .array(
    obj({
      events: z.array(z.enum(WEBHOOK_EVENTS_BY_SOURCE.GITHUB as [WebhookEvent, ...WebhookEvent[]])).meta({ minItems: 1, uniqueItems: true }),
      headRef: filterPattern.optional(),
      baseRef: filterPattern.optional(),
      filePath: filterPattern.optional(),
      actorAccountId: filterPattern.optional(),
    }),
  )
  .meta({ minItems: 1 });

/** A source field every source of `kind` needs. */
const requiredFor = (kind: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required for a ${kind} source` : undefined) });
/** One kind of source: its own fields; the fields of the other kinds do not apply to it. */
function sourceOf<K extends string, T extends z.ZodRawShape>(type: K, shape: T) {
  return obj({ type: z.literal(type), ...shape }, `does not apply to a ${type} source`);
}
const gitFields = (type: string) => ({
  location: z.string(requiredFor(type)).meta({ pattern: "^https://" }),
  branch: z.string().min(1, { error: "must not be empty" }).optional(),
});
/** A git source read through CodeBuild's credential or a CodeConnections connection. */
const gitSource = <K extends "GITHUB" | "GITHUB_ENTERPRISE" | "BITBUCKET">(type: K) =>
  sourceOf(type, { ...gitFields(type), connectionArn: hint(CONNECTION_ARN_PATTERN).optional() });
const source = z
  .discriminatedUnion("type", [
    gitSource("GITHUB"),
    gitSource("GITHUB_ENTERPRISE"),
    gitSource("BITBUCKET"),
    sourceOf("CODECOMMIT", gitFields("CODECOMMIT")),
    sourceOf("S3", {
      bucketName: z.string(requiredFor("S3")).meta({ pattern: BUCKET_NAME_PATTERN.source }),
      objectKey: z.string(requiredFor("S3")).meta({ minLength: 1 }),
    }),
  ])
  .describe("Where the build's source comes from: a git repository (GITHUB, GITHUB_ENTERPRISE, BITBUCKET, CODECOMMIT; connectionArn not on CODECOMMIT) or a zip bundle in S3.");

const triggers = obj({
  branch: z.string().optional().describe("The default branch the default filter groups name. Default: source.branch, else main."),
  push: filterGroups.optional().describe("The project's filter groups. Default: pushes to the branch."),
  pullRequest: filterGroups.optional().describe("The pull request project's filter groups. Default: pull requests against the branch."),
  pullRequestProjectName: projectName.optional().describe("The pull request project's name. Default: <projectName>-pr."),
  pushBuilds: z.boolean().optional().describe("false: no webhook on the project itself."),
  pullRequestBuilds: z.boolean().optional().describe("false: no pull request project."),
}).describe("Webhook triggers on a GITHUB, GITHUB_ENTERPRISE or BITBUCKET source read through source.connectionArn (real accounts only).");

const projectFields = {
  projectName: projectName.describe("The CodeBuild project's name."),
  imageTag: hint(IMAGE_TAG_PATTERN).optional().describe("An extra fixed tag every build pushes besides its own."),
  dockerfile: sourcePath.optional().describe("The Dockerfile, relative to the source root. Default: Dockerfile."),
  buildContext: sourcePath.optional().describe("The build context, relative to the source root. Default: the source root."),
  image: z.string().optional().describe("The build image."),
  computeType: z.string().meta({ enum: COMPUTE_TYPES }).optional(),
  buildTimeoutMinutes: hintInt(5, 2160).optional(),
  queuedTimeoutMinutes: hintInt(5, 480).optional(),
  logRetentionDays: z.number().meta({ enum: LOG_RETENTION_DAYS }).optional(),
  concurrentBuildLimit: hintInt(1, 10000).optional(),
  badge: z.boolean().optional(),
  source: source.optional(),
  triggers: triggers.optional(),
  environmentVariables: z
    .record(variableName, obj({ value: z.string(), type: z.enum(EnvironmentVariableType).optional() }))
    .optional()
    .describe("Extra environment variables of the build by name: { value, type (PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER) }."),
};

const pullThroughCache = obj({
  rules: z
    .array(
      obj({
        upstream: z.enum(Object.keys(PULL_THROUGH_UPSTREAMS) as [PullThroughUpstream, ...PullThroughUpstream[]]),
        prefix: hint(PULL_THROUGH_PREFIX_PATTERN).meta({ minLength: 2, maxLength: 30 }).optional(),
        credentialSecretArn: hint(PULL_THROUGH_CREDENTIAL_PATTERN).optional(),
        azureRegistryName: hint(AZURE_REGISTRY_NAME_PATTERN).optional(),
      }),
    )
    .meta({ minItems: 1 }),
  dindImage: z.boolean().optional().describe("Pull the dind project's image through the cache (SERVICE_ROLE credentials). Default: true."),
  baseImages: z
    .record(hint(VARIABLE_NAME_PATTERN), z.string().meta({ minLength: 1 }))
    .optional()
    .describe("Dockerfile build args (e.g. BUILDER_IMAGE) to upstream image references, pulled through the cache by both projects."),
}).describe("ECR pull-through cache rules in the building region, used by the projects (real accounts only).");

const build = obj({
  repositoryName: hint(REPOSITORY_NAME_PATTERN).describe("The ECR repository the projects push to."),
  repository: obj({
    tagMutability: z.enum(TagMutability).optional(),
    scanOnPush: z.boolean().optional(),
    kmsKeyArn: hint(KMS_KEY_OR_ALIAS_ARN_PATTERN).optional(),
    forceDelete: z.boolean().optional(),
    keepTaggedImages: hintInt(1, 10000).optional(),
    untaggedImageExpiryDays: hintInt(1, 3650).optional(),
    pullAccountIds: z.array(hint(ACCOUNT_ID_PATTERN)).meta({ uniqueItems: true }).optional().describe("Other accounts whose principals may pull (not the environment's own)."),
    pullOrganizationId: hint(ORGANIZATION_ID_PATTERN).optional(),
  }).optional(),
  replicaRegions: unique(z.array(region), "region")
    .optional()
    .describe("Regions of the environment that receive the image by ECR replication from the one building region instead of building it."),
  replicateToEnvironments: unique(z.array(environmentName), "environment")
    .optional()
    .describe("Other environments (accounts) that receive replicas in each of their regions."),
  privilegedProject: obj(projectFields).describe("The project on the CodeBuild managed image."),
  dindProject: obj({ ...projectFields, registryCredentialSecretArn: hint(SECRET_ARN_PATTERN).optional() }).describe("The project on docker:dind."),
  platforms: z
    .array(z.enum(MULTI_ARCH_PLATFORMS as [MultiArchPlatform, ...MultiArchPlatform[]]))
    .meta({ minItems: 2, uniqueItems: true })
    .optional()
    .describe("Build a multi-arch image of these platforms as a CodeBuild batch build (real accounts only)."),
  pullThroughCache: pullThroughCache.optional(),
}).describe("The image pipeline this environment owns: the repository and both projects.");

/** The GitHub environment name rule (letters, digits, space, '-', '_', '.'; at most 255). */
export const GITHUB_ENVIRONMENT_PATTERN = /^[A-Za-z0-9 _.-]{1,255}$/;

const ci = obj({
  planRoleArn: roleArn.describe(
    "The read-only role CI plans with (pull requests and the nightly run), in accountId; trusted by GitHub's OIDC provider for pull_request and refs/heads/main.",
  ),
  deployRoleArn: roleArn.describe("The role CI deploys with, in accountId; trusted by GitHub's OIDC provider for environment:<githubEnvironment> only."),
  githubEnvironment: pattern(GITHUB_ENVIRONMENT_PATTERN, "must be a GitHub environment name: 1-255 letters, digits, space, '-', '_' or '.'")
    .optional()
    .describe("The GitHub environment whose required reviewers approve this environment's deploys. Default: the environment's name."),
}).describe("The roles GitHub Actions assumes in this account with OIDC (docs/ci.md). Not with assumeRoleArn: CI authenticates straight into the account.");

const registryScanning = obj({
  scanType: z.enum(RegistryScanType),
  rules: z
    .array(
      obj({
        frequency: z.enum(ScanFrequency),
        filters: z.array(z.string()).meta({ minItems: 1, maxItems: MAX_SCANNING_FILTERS, uniqueItems: true }),
      }),
    )
    .meta({ maxItems: MAX_SCANNING_RULES })
    .optional(),
}).describe("The registry scanning configuration of the account, set in each region of the environment.");

/** One environment: an AWS account and the regions it deploys to. */
export const ENVIRONMENT_SCHEMA = obj({
  description: z.string().optional(),
  local: z.boolean().optional().describe("true: the endpoint and credentials come from the local AWS; real accounts leave it unset."),
  accountId: accountId.describe("The environment's AWS account (12 digits)."),
  regions: unique(z.array(region).min(1), "region").describe("The regions it deploys to: one stack <env>-<region> each."),
  assumeRoleArn: roleArn.optional().describe("A role in accountId that the provider assumes (local and profile deploys; not with ci)."),
  ci: ci.optional(),
  state: obj({
    bucket: bucket.describe("The S3 bucket of the Terraform state (created beforehand)."),
    region: region.optional().describe("The bucket's region. Default: the environment's first region."),
    keyPrefix: pattern(/^[A-Za-z0-9!_.*'()/-]{1,512}[^/]$|^[A-Za-z0-9]$/, "must be an S3 key prefix without a trailing '/'").optional(),
    dynamodbTable: pattern(/^[A-Za-z0-9_.-]{3,255}$/, "must be a DynamoDB table name (3-255 letters, digits, '_', '-', '.')").optional(),
    kmsKeyArn: kmsArn.optional().describe("The KMS key that encrypts the state object. Default: SSE-S3."),
    roleArn: roleArn.optional().describe("A role the backend assumes to reach the bucket (central state account)."),
  }).describe("Where the environment keeps its Terraform state."),
  tags: z
    .record(
      pattern(/^(?![aA][wW][sS]:).{1,128}$/, "AWS tag keys are 1-128 characters and must not start with aws:"),
      z.string().max(256, { error: "must be at most 256 characters (AWS tag values)" }),
    )
    .optional()
    .describe("Default tags of every resource."),
  pullFrom: environmentName.optional().describe("The environment whose repository this one pulls from, with pull roles of its own."),
  registryScanning: registryScanning.optional(),
  build: build.optional(),
});

/** The whole file: `$schema` (for editors) and the environments by name. */
export const CONFIG_FILE_SCHEMA = obj({
  $schema: z.string().optional(),
  environments: z.record(pattern(ENVIRONMENT_NAME_PATTERN, ENVIRONMENT_NAME_RULE), ENVIRONMENT_SCHEMA),
});

/** One environment as the file declares it, with its name (the key in `environments`). */
export type EnvironmentConfig = z.output<typeof ENVIRONMENT_SCHEMA> & { readonly name: string };
/** What each stack of an environment builds. */
export type BuildConfig = NonNullable<EnvironmentConfig["build"]>;
/** Options of the privileged CodeBuild project. */
export type ProjectConfig = BuildConfig["privilegedProject"];
/** Options of the docker:dind project. */
export type DindProjectConfig = BuildConfig["dindProject"];
/** Options of the ECR repository. */
export type RepositoryConfig = NonNullable<BuildConfig["repository"]>;
/** A project's source. */
export type SourceConfig = NonNullable<ProjectConfig["source"]>;
/** A project's webhook triggers. */
export type TriggersConfig = NonNullable<ProjectConfig["triggers"]>;
/** A webhook filter group (the construct's, with string patterns). */
export type FilterGroupConfig = NonNullable<TriggersConfig["push"]>[number];
/** The owner's ECR pull-through cache and what its projects pull through it. */
export type PullThroughCacheConfig = NonNullable<BuildConfig["pullThroughCache"]>;
/** The registry scanning configuration of an environment's account. */
export type RegistryScanningConfig = NonNullable<EnvironmentConfig["registryScanning"]>;
/** The roles GitHub Actions assumes in an environment's account. */
export type CiConfig = NonNullable<EnvironmentConfig["ci"]>;
/** Where an environment keeps its Terraform state. */
export type StateConfig = EnvironmentConfig["state"];
