import * as fs from "fs";
import * as path from "path";
import { AWS_REGIONS } from "./regions";
import { SchemaProblem, Spec, check, s } from "./schema";
import { sourcePathProblem } from "../modules/shared/source-path";
import { looksLikeSecret } from "../modules/shared/secret-names";
import { MAX_SCANNING_FILTERS, MAX_SCANNING_RULES, SCAN_FREQUENCIES, SCANNING_FILTER_RULE, isScanningFilter } from "../modules/ecr-registry-scanning/ecr-registry-scanning";
import {
  PULL_THROUGH_CREDENTIAL_PATTERN,
  PULL_THROUGH_CREDENTIAL_RULE,
  PULL_THROUGH_PREFIX_PATTERN,
  PULL_THROUGH_PREFIX_RULE,
  PULL_THROUGH_UPSTREAMS,
} from "../modules/ecr-pull-through-cache/ecr-pull-through-cache";
import { JsonSyntaxError, describeSyntaxError, parseJsonWithComments } from "./json-with-comments";
import { WEBHOOK_EVENTS_BY_SOURCE, regexProblem } from "../modules/shared/triggers";
import { MULTI_ARCH_PLATFORMS } from "../modules/codebuild-privileged-project/multi-arch";
import type { MultiArchPlatform } from "../modules/codebuild-privileged-project/multi-arch";
import type { WebhookEvent } from "../modules/shared/triggers";

/** Options of one CodeBuild project, as the environments file declares them. */
export interface ProjectConfig {
  readonly projectName: string;
  readonly imageTag?: string;
  /** The Dockerfile, relative to the source root (the construct's default: `Dockerfile`). */
  readonly dockerfile?: string;
  /** The build context, relative to the source root (the construct's default: `.`). */
  readonly buildContext?: string;
  readonly image?: string;
  readonly computeType?: string;
  readonly buildTimeoutMinutes?: number;
  readonly queuedTimeoutMinutes?: number;
  readonly logRetentionDays?: number;
  readonly concurrentBuildLimit?: number;
  readonly badge?: boolean;
  readonly source?:
    | { readonly type: "GITHUB" | "GITHUB_ENTERPRISE" | "BITBUCKET"; readonly location: string; readonly branch?: string; readonly connectionArn?: string }
    | { readonly type: "CODECOMMIT"; readonly location: string; readonly branch?: string }
    | { readonly type: "S3"; readonly bucketName: string; readonly objectKey: string };
  /** Webhook triggers (real environments only: moto has no webhooks); the construct's `triggers`, patterns as strings. */
  readonly triggers?: TriggersConfig;
  readonly environmentVariables?: Record<string, { readonly value: string; readonly type?: "PLAINTEXT" | "PARAMETER_STORE" | "SECRETS_MANAGER" }>;
}

/** A webhook filter group as the environments file declares it (the construct's, with string patterns). */
export interface FilterGroupConfig {
  readonly events: readonly WebhookEvent[];
  readonly headRef?: string;
  readonly baseRef?: string;
  readonly filePath?: string;
  readonly actorAccountId?: string;
}

/** A project's webhook triggers as the environments file declares them. */
export interface TriggersConfig {
  readonly branch?: string;
  /** The project's filter groups (default: pushes to the branch). */
  readonly push?: readonly FilterGroupConfig[];
  /** The pull request project's filter groups (default: pull requests against the branch). */
  readonly pullRequest?: readonly FilterGroupConfig[];
  readonly pullRequestProjectName?: string;
  /** false: no webhook on the project itself (the construct's `push: false`). */
  readonly pushBuilds?: boolean;
  /** false: no pull request project (the construct's `pullRequest: false`). */
  readonly pullRequestBuilds?: boolean;
}

/** Options of the docker:dind project. */
export interface DindProjectConfig extends ProjectConfig {
  readonly registryCredentialSecretArn?: string;
}

/** Options of the ECR repository. */
export interface RepositoryConfig {
  readonly tagMutability?: "IMMUTABLE" | "MUTABLE";
  readonly scanOnPush?: boolean;
  readonly kmsKeyArn?: string;
  readonly forceDelete?: boolean;
  readonly keepTaggedImages?: number;
  readonly untaggedImageExpiryDays?: number;
  readonly pullAccountIds?: string[];
  readonly pullOrganizationId?: string;
}

/** What each stack of an environment builds. */
export interface BuildConfig {
  readonly repositoryName: string;
  /**
   * Regions of the environment that receive the image by ECR replication from the one building
   * region (the primary) instead of building it: they hold the repository, no projects.
   */
  readonly replicaRegions?: string[];
  /**
   * Other environments (accounts) that receive replicas in each of their regions; each of them
   * gets a registry policy allowing this account to replicate into it.
   */
  readonly replicateToEnvironments?: string[];
  readonly repository?: RepositoryConfig;
  readonly privilegedProject: ProjectConfig;
  readonly dindProject: DindProjectConfig;
  /**
   * ECR pull-through cache rules in the building region, used by the projects: the dind image
   * (unless `dindImage` is false) and the Dockerfile's base images (`baseImages`). Real accounts
   * only: moto has no pull-through cache, so a local environment may not set it.
   */
  readonly pullThroughCache?: PullThroughCacheConfig;
  /**
   * The privileged project builds a multi-arch image of these platforms (at least two): a
   * CodeBuild batch build, one build per platform, then the manifest list (the construct's
   * `multiArch`). Real accounts only: moto has no batch builds, so a local environment may not set it.
   */
  readonly platforms?: MultiArchPlatform[];
}

/** The owner's ECR pull-through cache and what its projects pull through it. */
export interface PullThroughCacheConfig {
  readonly rules: {
    readonly upstream: string;
    readonly prefix?: string;
    readonly credentialSecretArn?: string;
    readonly azureRegistryName?: string;
  }[];
  /** Pull the dind project's image through the cache (SERVICE_ROLE credentials). Default: true. */
  readonly dindImage?: boolean;
  /** Dockerfile build args (e.g. `BUILDER_IMAGE`) → upstream image references, pulled through the cache by both projects. */
  readonly baseImages?: Record<string, string>;
}

/** The registry scanning configuration of an environment's account, in each of its regions. */
export interface RegistryScanningConfig {
  readonly scanType: "BASIC" | "ENHANCED";
  /** At most two; BASIC allows SCAN_ON_PUSH and MANUAL, ENHANCED SCAN_ON_PUSH and CONTINUOUS_SCAN. */
  readonly rules?: { readonly frequency: "SCAN_ON_PUSH" | "CONTINUOUS_SCAN" | "MANUAL"; readonly filters: string[] }[];
}

/** Where an environment keeps its Terraform state. */
export interface StateConfig {
  /** S3 bucket (created beforehand; `npm start` creates it on the local AWS). */
  readonly bucket: string;
  /** Region of the bucket. Default: the environment's first region. */
  readonly region?: string;
  /** Prefix before `<env>/<region>/terraform.tfstate`. Default: none. */
  readonly keyPrefix?: string;
  /** Optional DynamoDB lock table, in addition to the S3 native lockfile. */
  readonly dynamodbTable?: string;
  /** Optional KMS key ARN that encrypts the state object (else SSE-S3). */
  readonly kmsKeyArn?: string;
  /** Optional role the backend assumes to reach the bucket (central state account). */
  readonly roleArn?: string;
}

/** One environment: an AWS account and the regions it deploys to. */
export interface EnvironmentConfig {
  readonly name: string;
  readonly description?: string;
  /** True for the embedded local AWS (moto); real accounts leave it unset. */
  readonly local?: boolean;
  readonly accountId: string;
  readonly regions: string[];
  readonly assumeRoleArn?: string;
  readonly state: StateConfig;
  readonly tags?: Record<string, string>;
  /** The image pipeline this environment owns (repository and both projects). */
  readonly build?: BuildConfig;
  /**
   * The environment whose repository this one pulls from: it gets pull roles for its workloads
   * (an ECS task execution role and a role EC2/EKS workloads assume), and the owner's repository
   * policy names them.
   */
  readonly pullFrom?: string;
  /**
   * The registry scanning configuration of the account, set in each region of the environment
   * (one per account and region). Unset: the registry's scanning is not managed here.
   */
  readonly registryScanning?: RegistryScanningConfig;
}

/** The account moto answers as; a local environment must use it. */
export const LOCAL_ACCOUNT_ID = "123456789012";

const ACCOUNT_ID = /^\d{12}$/;
const ENV_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,64}$/;
const BUCKET = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REPO_NAME = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
const TABLE = /^[A-Za-z0-9_.-]{3,255}$/;
const KEY_PREFIX = /^[A-Za-z0-9!_.*'()/-]{1,512}[^/]$|^[A-Za-z0-9]$/;

const region = s.str((v) => AWS_REGIONS.includes(v), "is not a known AWS region (see config/regions.ts)");
const sourcePath = s.str(
  (v) => sourcePathProblem(v) === undefined,
  `must be a path relative to the source root: not empty, not absolute, without ".." segments, not starting with "-"`,
);

const filterPattern = s.str((v) => v.length > 0 && regexProblem(v) === undefined, "must be a non-empty regular expression that compiles (checked with JavaScript's RegExp; CodeBuild has its own flavour)");
const filterGroups = s.array(
  s.obj({
    events: s.req(s.array(s.oneOf(WEBHOOK_EVENTS_BY_SOURCE.GITHUB), { minItems: 1, unique: "event" })),
    headRef: filterPattern,
    baseRef: filterPattern,
    filePath: filterPattern,
    actorAccountId: filterPattern,
  }),
  { minItems: 1 },
);
const CONNECTION_ARN = /^arn:aws[a-z-]*:codeconnections:[a-z0-9-]+:\d{12}:connection\/[0-9a-f-]{36}$/;

const projectFields = {
  projectName: s.req(s.pattern(PROJECT_NAME, "must be 2-255 letters, digits, '-' or '_', starting with a letter or digit (CodeBuild naming rules)")),
  imageTag: s.pattern(IMAGE_TAG, "must be a Docker tag: 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"),
  dockerfile: sourcePath,
  buildContext: sourcePath,
  image: s.str(),
  computeType: s.oneOf(["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE", "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE"]),
  buildTimeoutMinutes: s.int(5, 2160),
  queuedTimeoutMinutes: s.int(5, 480),
  logRetentionDays: s.int(1, 3653, [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]),
  concurrentBuildLimit: s.int(1, 10000),
  badge: s.bool(),
  source: s.obj({
    type: s.req(s.oneOf(["GITHUB", "GITHUB_ENTERPRISE", "BITBUCKET", "CODECOMMIT", "S3"])),
    location: s.pattern(/^https:\/\//, "must be an https:// clone URL"),
    connectionArn: s.pattern(CONNECTION_ARN, "must be a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)"),
    branch: s.str((v) => v.length > 0, "must not be empty"),
    bucketName: s.pattern(BUCKET, "must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')"),
    objectKey: s.str((v) => v.length > 0 && !v.includes("*"), "must be an exact object key"),
  }),
  triggers: s.obj({
    branch: s.str((v) => v.length > 0 && !/\s/.test(v), "must be a branch name"),
    push: filterGroups,
    pullRequest: filterGroups,
    pullRequestProjectName: s.pattern(PROJECT_NAME, "must be 2-255 letters, digits, '-' or '_', starting with a letter or digit (CodeBuild naming rules)"),
    pushBuilds: s.bool(),
    pullRequestBuilds: s.bool(),
  }),
  environmentVariables: s.map(
    s.obj({ value: s.req(s.str()), type: s.oneOf(["PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"]) }),
    (k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k),
    "letters, digits and '_', not starting with a digit",
  ),
};

/** The schema of one environment. */
export const ENVIRONMENT_SPEC: Spec = s.obj({
  description: s.str(),
  local: s.bool(),
  accountId: s.req(s.pattern(ACCOUNT_ID, "must be exactly 12 digits (an AWS account ID)")),
  regions: s.req(s.array(region, { minItems: 1, unique: "region" })),
  assumeRoleArn: s.pattern(ROLE_ARN, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
  state: s.req(
    s.obj({
      bucket: s.req(s.pattern(BUCKET, "must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')")),
      region,
      keyPrefix: s.pattern(KEY_PREFIX, "must be an S3 key prefix without a trailing '/'"),
      dynamodbTable: s.pattern(TABLE, "must be a DynamoDB table name (3-255 letters, digits, '_', '-', '.')"),
      kmsKeyArn: s.pattern(KMS_ARN, "must be a KMS key or alias ARN"),
      roleArn: s.pattern(ROLE_ARN, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
    }),
  ),
  tags: s.map(
    s.str((v) => v.length <= 256, "must be at most 256 characters (AWS tag values)"),
    (k) => k.length >= 1 && k.length <= 128 && !k.toLowerCase().startsWith("aws:"),
    "AWS tag keys are 1-128 characters and must not start with aws:",
  ),
  pullFrom: s.pattern(ENV_NAME, "must be the name of another environment of this file"),
  registryScanning: s.obj({
    scanType: s.req(s.oneOf(["BASIC", "ENHANCED"])),
    rules: s.array(
      s.obj({
        frequency: s.req(s.oneOf(["SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL"])),
        filters: s.req(
          s.array(s.str(isScanningFilter, SCANNING_FILTER_RULE), {
            minItems: 1,
            maxItems: MAX_SCANNING_FILTERS,
            unique: "filter",
          }),
        ),
      }),
      { maxItems: MAX_SCANNING_RULES },
    ),
  }),
  build: s.obj({
      repositoryName: s.req(
        s.pattern(REPO_NAME, "must be 2-256 lowercase characters: parts of letters and digits separated by '.', '_' or '-', with optional 'namespace/' prefixes (ECR naming rules)"),
      ),
      repository: s.obj({
        tagMutability: s.oneOf(["IMMUTABLE", "MUTABLE"]),
        scanOnPush: s.bool(),
        kmsKeyArn: s.pattern(KMS_ARN, "must be a KMS key or alias ARN"),
        forceDelete: s.bool(),
        keepTaggedImages: s.int(1, 10000),
        untaggedImageExpiryDays: s.int(1, 3650),
        pullAccountIds: s.array(s.pattern(ACCOUNT_ID, "must be exactly 12 digits (an AWS account ID)"), { unique: "account ID" }),
        pullOrganizationId: s.pattern(/^o-[a-z0-9]{10,32}$/, 'must be an AWS Organization ID ("o-" and 10-32 lowercase letters or digits)'),
      }),
      replicaRegions: s.array(region, { unique: "region" }),
      replicateToEnvironments: s.array(s.pattern(ENV_NAME, "must be the name of another environment of this file"), { unique: "environment" }),
      privilegedProject: s.req(s.obj(projectFields)),
      dindProject: s.req(
        s.obj({
          ...projectFields,
          registryCredentialSecretArn: s.pattern(SECRET_ARN, "must be a Secrets Manager secret ARN"),
        }),
      ),
      platforms: s.array(s.oneOf([...MULTI_ARCH_PLATFORMS]), { unique: "platform", minItems: 2 }),
      pullThroughCache: s.obj({
        rules: s.req(
          s.array(
            s.obj({
              upstream: s.req(s.oneOf(Object.keys(PULL_THROUGH_UPSTREAMS))),
              prefix: s.str((v) => v.length >= 2 && v.length <= 30 && PULL_THROUGH_PREFIX_PATTERN.test(v), PULL_THROUGH_PREFIX_RULE),
              credentialSecretArn: s.pattern(PULL_THROUGH_CREDENTIAL_PATTERN, PULL_THROUGH_CREDENTIAL_RULE),
              azureRegistryName: s.pattern(/^[a-z0-9]{5,50}$/i, "must be the Azure registry name: 5-50 letters and digits (<name>.azurecr.io)"),
            }),
            { minItems: 1 },
          ),
        ),
        dindImage: s.bool(),
        baseImages: s.map(s.str((v) => v.length > 0, "must be an upstream image reference, e.g. golang:1.23-bookworm"), (k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k), "a build arg name: letters, digits and '_', not starting with a digit"),
      }),
    }),
});

/** Whether field `a` and field `b` (dotted paths, `[i]` for items) are the same, or one holds the other. */
function overlaps(a: string, b: string): boolean {
  const holds = (outer: string, inner: string) => outer === "" || inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return holds(a, b) || holds(b, a);
}

/** A plain object (not null, not an array). */
function isObject(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Rules that span fields of one environment. Each rule runs when the fields it reads passed the
 * schema (`schemaProblems`), so a bad field elsewhere (a bad region) hides no other problem (a
 * role in another account); a rule is skipped only when a field it reads is itself reported.
 */
function crossFieldProblems(env: unknown, schemaProblems: readonly SchemaProblem[] = []): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  if (!isObject(env)) return out;
  /** Whether none of `fields` (nor a part or a holder of one) broke the schema. */
  const valid = (...fields: string[]) => fields.every((f) => !schemaProblems.some((p) => overlaps(f, p.path)));
  const accountId = env.accountId;
  if (typeof env.assumeRoleArn === "string" && typeof accountId === "string" && valid("assumeRoleArn", "accountId")) {
    const m = ROLE_ARN.exec(env.assumeRoleArn);
    if (m && m[1] !== accountId) out.push({ path: "assumeRoleArn", value: env.assumeRoleArn, rule: `must be a role in the environment's account ${accountId}` });
  }
  // moto answers as its default account, or as the account of a role assumed through its STS.
  const localAccount = valid("local", "accountId", "assumeRoleArn");
  if (localAccount && env.local === true && accountId !== LOCAL_ACCOUNT_ID && env.assumeRoleArn === undefined) {
    out.push({
      path: "accountId",
      value: accountId,
      rule: `needs assumeRoleArn (a role in ${accountId}) in a local environment: moto answers as ${LOCAL_ACCOUNT_ID}, or as the account of a role assumed through its STS`,
    });
  }
  if (localAccount && env.local === true && accountId === LOCAL_ACCOUNT_ID && env.assumeRoleArn !== undefined) {
    out.push({ path: "assumeRoleArn", value: env.assumeRoleArn, rule: `must not be set in a local environment of moto's default account ${LOCAL_ACCOUNT_ID}` });
  }
  const build = isObject(env.build) ? env.build : undefined;
  for (const project of ["privilegedProject", "dindProject"]) {
    const src = isObject(build?.[project]) ? build?.[project].source : undefined;
    const at = `build.${project}.source`;
    if (!isObject(src) || !valid(`${at}.type`)) continue;
    const needs = src.type === "S3" ? ["bucketName", "objectKey"] : ["location"];
    const forbidden = src.type === "S3" ? ["location", "branch", "connectionArn"] : src.type === "CODECOMMIT" ? ["bucketName", "objectKey", "connectionArn"] : ["bucketName", "objectKey"];
    for (const k of needs) if (src[k] === undefined) out.push({ path: `${at}.${k}`, value: undefined, rule: `is required for a ${src.type} source` });
    for (const k of forbidden) if (src[k] !== undefined && valid(`${at}.${k}`)) out.push({ path: `${at}.${k}`, value: src[k], rule: `does not apply to a ${src.type} source` });
  }
  for (const project of ["privilegedProject", "dindProject"]) {
    const triggers = isObject(build?.[project]) ? build?.[project].triggers : undefined;
    const at = `build.${project}.triggers`;
    if (triggers === undefined) continue;
    // moto has no webhooks: a local environment cannot deploy one.
    if (env.local === true && valid("local")) out.push({ path: at, value: triggers, rule: "must not be set in a local environment: moto has no webhooks (they deploy to AWS only)" });
    if (!isObject(triggers)) continue;
    if (triggers.pushBuilds === false && triggers.push !== undefined && valid(`${at}.push`, `${at}.pushBuilds`)) {
      out.push({ path: `${at}.push`, value: triggers.push, rule: "does not apply when pushBuilds is false" });
    }
    if (triggers.pullRequestBuilds === false && triggers.pullRequest !== undefined && valid(`${at}.pullRequest`, `${at}.pullRequestBuilds`)) {
      out.push({ path: `${at}.pullRequest`, value: triggers.pullRequest, rule: "does not apply when pullRequestBuilds is false" });
    }
  }
  if (env.build === undefined && env.pullFrom === undefined) {
    out.push({ path: "build", value: undefined, rule: "or pullFrom is required (an environment owns an image pipeline, pulls from one, or both)" });
  }
  const replicas: unknown = build?.replicaRegions;
  if (Array.isArray(replicas) && Array.isArray(env.regions) && valid("regions")) {
    replicas.forEach((r, i) => {
      if (valid(`build.replicaRegions[${i}]`) && !env.regions.includes(r)) {
        out.push({ path: "build.replicaRegions", value: r, rule: `is not one of the environment's regions (${env.regions.join(", ")})` });
      }
    });
    if (replicas.length > 0 && valid("build.replicaRegions") && env.regions.filter((r: string) => !replicas.includes(r)).length !== 1) {
      out.push({
        path: "build.replicaRegions",
        value: replicas,
        rule: "must leave exactly one region that builds (the primary, the source of the replication)",
      });
    }
  }
  const pullAccounts: unknown = isObject(build?.repository) ? build?.repository.pullAccountIds : undefined;
  const at = "build.repository.pullAccountIds";
  if (Array.isArray(pullAccounts) && typeof accountId === "string" && valid("accountId") && pullAccounts.some((a, i) => a === accountId && valid(`${at}[${i}]`))) {
    out.push({
      path: at,
      value: accountId,
      rule: "is the environment's own account: a repository policy entry for it would let every principal of the account pull; grant the roles that need it instead (their own IAM policies suffice in the same account)",
    });
  }
  const p = isObject(build?.privilegedProject) ? build?.privilegedProject.projectName : undefined;
  const d = isObject(build?.dindProject) ? build?.dindProject.projectName : undefined;
  if (typeof p === "string" && p === d && valid("build.privilegedProject.projectName", "build.dindProject.projectName")) {
    out.push({ path: "build.dindProject.projectName", value: d, rule: "must differ from build.privilegedProject.projectName" });
  }
  if (build?.platforms !== undefined && env.local === true && valid("local")) {
    out.push({ path: "build.platforms", value: undefined, rule: "must not be set in a local environment: moto has no CodeBuild batch builds, which multi-arch images are (set it in real environments only)" });
  }
  const cache = isObject(build?.pullThroughCache) ? build?.pullThroughCache : undefined;
  if (cache !== undefined && env.local === true && valid("local")) {
    out.push({ path: "build.pullThroughCache", value: undefined, rule: "must not be set in a local environment: moto has no ECR pull-through cache (set it in real environments only)" });
  }
  if (cache !== undefined && Array.isArray(cache.rules)) {
    const seen = new Map<string, number>();
    cache.rules.forEach((r: unknown, i: number) => {
      const at = `build.pullThroughCache.rules[${i}]`;
      if (!isObject(r) || !valid(`${at}.upstream`) || typeof r.upstream !== "string") return;
      const info = PULL_THROUGH_UPSTREAMS[r.upstream as keyof typeof PULL_THROUGH_UPSTREAMS];
      if (seen.has(r.upstream)) out.push({ path: `${at}.upstream`, value: r.upstream, rule: `is already cached by rules[${seen.get(r.upstream)}] (one rule per upstream)` });
      else seen.set(r.upstream, i);
      if (r.credentialSecretArn === undefined && info.credential === "required") {
        out.push({ path: `${at}.credentialSecretArn`, value: undefined, rule: `is required for upstream ${r.upstream} (a Secrets Manager secret named ecr-pullthroughcache/<name>)` });
      }
      if (r.credentialSecretArn !== undefined && info.credential === "none") {
        out.push({ path: `${at}.credentialSecretArn`, value: r.credentialSecretArn, rule: `must not be set for upstream ${r.upstream} (ECR pulls ${info.url} without a credential)` });
      }
    });
    const dind = isObject(build?.dindProject) ? build?.dindProject : undefined;
    if (cache.dindImage !== false && dind?.registryCredentialSecretArn !== undefined && valid("build.pullThroughCache.dindImage")) {
      out.push({
        path: "build.dindProject.registryCredentialSecretArn",
        value: dind.registryCredentialSecretArn,
        rule: "must not be set when the dind image is pulled through build.pullThroughCache (set pullThroughCache.dindImage to false to keep it)",
      });
    }
    for (const project of ["privilegedProject", "dindProject"]) {
      const vars = isObject(build?.[project]) && isObject(build?.[project].environmentVariables) ? build?.[project].environmentVariables : {};
      for (const name of Object.keys(isObject(cache.baseImages) ? cache.baseImages : {})) {
        if (Object.hasOwn(vars, name)) out.push({ path: `build.${project}.environmentVariables.${name}`, value: name, rule: "is set by build.pullThroughCache.baseImages" });
      }
    }
  }
  const scanning = isObject(env.registryScanning) ? env.registryScanning : undefined;
  if (scanning !== undefined && Array.isArray(scanning.rules) && valid("registryScanning.scanType")) {
    const allowed: readonly string[] = SCAN_FREQUENCIES[scanning.scanType as keyof typeof SCAN_FREQUENCIES];
    scanning.rules.forEach((r: unknown, i: number) => {
      const at = `registryScanning.rules[${i}].frequency`;
      if (isObject(r) && r.frequency !== undefined && valid(at) && !allowed.includes(r.frequency)) {
        out.push({ path: at, value: r.frequency, rule: `is not allowed with scanType ${scanning.scanType} (allowed: ${allowed.join(", ")})` });
      }
    });
  }
  return out;
}

/**
 * Rules between environments (checked on the environments that are valid on their own): whom
 * an environment pulls from, where an owner replicates to, and no cycles.
 */
export function topologyProblems(envs: readonly EnvironmentConfig[], declared: readonly string[] = envs.map((e) => e.name)): (SchemaProblem & { env: string })[] {
  const out: (SchemaProblem & { env: string })[] = [];
  const byName = new Map(envs.map((e) => [e.name, e]));
  // An environment declared but invalid on its own has its own lines: no follow-on lines here.
  const invalid = (name: string) => declared.includes(name) && !byName.has(name);
  for (const env of envs) {
    if (env.pullFrom !== undefined && !invalid(env.pullFrom)) {
      const owner = byName.get(env.pullFrom);
      if (env.pullFrom === env.name) {
        out.push({ env: env.name, path: "pullFrom", value: env.pullFrom, rule: "names the environment itself: an environment does not pull the repository it owns" });
      } else if (owner === undefined) {
        out.push({ env: env.name, path: "pullFrom", value: env.pullFrom, rule: `is not an environment of this file (known: ${declared.join(", ")})` });
      } else if (owner.build === undefined) {
        out.push({ env: env.name, path: "pullFrom", value: env.pullFrom, rule: `names an environment that owns no image pipeline (it has no build)` });
      } else if (owner.local !== env.local) {
        out.push({ env: env.name, path: "pullFrom", value: env.pullFrom, rule: "names an environment on the other side of local/real (a local environment pulls only from a local one, and a real one from a real one)" });
      }
    }
    for (const target of (env.build?.replicateToEnvironments ?? []).filter((t) => !invalid(t))) {
      const dest = byName.get(target);
      const at = { env: env.name, path: "build.replicateToEnvironments", value: target };
      if (target === env.name) out.push({ ...at, rule: "names the environment itself (its own other regions are build.replicaRegions)" });
      else if (dest === undefined) out.push({ ...at, rule: `is not an environment of this file (known: ${declared.join(", ")})` });
      else if (dest.accountId === env.accountId) out.push({ ...at, rule: `is in the same account ${env.accountId}: list its regions in build.replicaRegions of one environment instead` });
      else if (dest.build?.repositoryName === env.build?.repositoryName) {
        out.push({ ...at, rule: `owns a repository of the same name ${JSON.stringify(dest.build?.repositoryName)}, which replication would write into` });
      }
    }
  }
  // A cycle of pullFrom (a pulls from b, b pulls from a): the pull roles of each must exist before
  // the other's repository policy names them, so no order can deploy it.
  for (const start of envs) {
    const seen: string[] = [start.name];
    let next = start.pullFrom;
    while (next !== undefined && byName.has(next) && next !== start.name && !seen.includes(next)) {
      seen.push(next);
      next = byName.get(next)?.pullFrom;
    }
    if (next === start.name && seen.length > 1 && start.name === [...seen].sort()[0]) {
      out.push({ env: start.name, path: "pullFrom", value: start.pullFrom, rule: `forms a cycle: ${[...seen, start.name].join(" -> ")} (each must be deployed before the other)` });
    }
  }
  return out;
}

/** The environments that pull from `owner`. */
export function consumersOf(owner: EnvironmentConfig, all: readonly EnvironmentConfig[]): EnvironmentConfig[] {
  return all.filter((e) => e.pullFrom === owner.name);
}

/** The regions of an owner that hold its repository; the first is the primary (it builds). */
export function repositoryRegions(owner: EnvironmentConfig): string[] {
  const replicas = owner.build?.replicaRegions ?? [];
  const building = owner.regions.filter((r) => !replicas.includes(r));
  return [...building, ...replicas];
}

/** The name suffix of each kind of pull role a consumer gets. */
export const PULL_ROLE_SUFFIXES = { ecsExecution: "ecs-execution", workload: "workload" } as const;

/**
 * The name of a pull role of a consumer of `owner`: fixed and derived from the config only, so
 * the owner's stacks name it without reading the consumer's state.
 */
export function pullRoleName(owner: string, kind: keyof typeof PULL_ROLE_SUFFIXES): string {
  return `ecr-pull-${owner}-${PULL_ROLE_SUFFIXES[kind]}`;
}

/** The ARNs of the pull roles of one consumer (both kinds). */
export function pullRoleArns(owner: EnvironmentConfig, consumer: EnvironmentConfig): string[] {
  return (Object.keys(PULL_ROLE_SUFFIXES) as (keyof typeof PULL_ROLE_SUFFIXES)[]).map((k) => `arn:aws:iam::${consumer.accountId}:role/${pullRoleName(owner.name, k)}`);
}

/** The ARN of an owner's repository in one of its regions, from the config. */
export function repositoryArn(owner: EnvironmentConfig, region: string): string {
  return `arn:aws:ecr:${region}:${owner.accountId}:repository/${owner.build?.repositoryName}`;
}

/** A config file that breaks its rules; `problems` holds one line per bad field. */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
}

/** The value of an environment variable whose name looks like a secret is never printed. */
function shownValue(p: SchemaProblem): string {
  const variable = /(?:^|\.)environmentVariables\.([^.]+)(?:\.value)?$/.exec(p.path)?.[1];
  if (variable !== undefined && looksLikeSecret(variable)) return "(value not shown: the name looks like a secret)";
  return show(p.value);
}

function line(file: string, env: string | undefined, p: SchemaProblem): string {
  const where = env === undefined ? `${file}: ` : `${file}: environment "${env}": `;
  const subject = [p.path, p.value === undefined ? "" : shownValue(p)].filter(Boolean).join(" ");
  return `${where}${subject} ${p.rule}`;
}

/** An environment the file declares, valid or not: its name and whether it is marked `"local": true`. */
export interface DeclaredEnvironment {
  readonly name: string;
  readonly local: boolean;
}

/** What checking an environments file found: every problem, and the environments that can be built. */
export interface ConfigCheck {
  /**
   * The environments that can be built, in file order: each valid on its own (schema and
   * cross-field rules), breaking no rule between environments and naming (in pullFrom and
   * build.replicateToEnvironments) only environments that can be built. Every environment when
   * `problems` is empty.
   */
  readonly environments: EnvironmentConfig[];
  /** Every environment the file declares, in file order (none when the file is no object of environments). */
  readonly declared: DeclaredEnvironment[];
  /** One line per problem; empty when the file is valid. */
  readonly problems: string[];
}

/**
 * Checks a parsed environments file as a whole: every rule (schema, cross-field, between
 * environments) of every environment, and returns the problems and the environments that can be
 * built despite them. {@link validateConfig} is the strict form.
 */
export function checkConfig(raw: unknown, file: string): ConfigCheck {
  const lines: string[] = [];
  if (!isObject(raw)) {
    return { environments: [], declared: [], problems: [`${file}: the file must hold a JSON object with an "environments" object`] };
  }
  const top: SchemaProblem[] = [];
  // Environments are checked one by one below; here only the top level (unknown keys, presence).
  const topLevel = "environments" in raw ? { ...raw, environments: {} } : raw;
  check(s.obj({ $schema: s.str(), environments: s.req(s.map(s.obj({}))) }), topLevel, "", top);
  lines.push(...top.map((p) => line(file, undefined, p)));
  const envs = raw.environments;
  if (!isObject(envs)) {
    if ("environments" in raw) lines.push(`${file}: environments ${show(envs)} must be an object of environments by name`);
    return { environments: [], declared: [], problems: lines };
  }
  const declared = Object.entries(envs).map(([name, env]) => ({ name, local: isObject(env) && env.local === true }));
  // Valid on its own (the rules between environments see these); `named` also has a valid name.
  const result: EnvironmentConfig[] = [];
  const named = new Set<string>();
  for (const [name, env] of Object.entries(envs)) {
    const nameOk = ENV_NAME.test(name);
    if (!nameOk) {
      lines.push(`${file}: environment ${show(name)} has an invalid name: must be 1-32 lowercase letters, digits or '-', starting with a letter`);
    }
    const problems: SchemaProblem[] = [];
    check(ENVIRONMENT_SPEC, env, "", problems);
    const crossField = crossFieldProblems(env, problems);
    lines.push(...[...problems, ...crossField].map((p) => line(file, name, p)));
    if (problems.length === 0 && crossField.length === 0) {
      result.push({ ...(env as Omit<EnvironmentConfig, "name">), name });
      if (nameOk) named.add(name);
    }
  }
  if (declared.length === 0) lines.push(`${file}: environments {} must declare at least one environment`);
  const topology = topologyProblems(result, declared.map((d) => d.name));
  lines.push(...topology.map((p) => line(file, p.env, p)));
  // Buildable: valid, no rule between environments broken, and referring only to buildable ones
  // (repeated until nothing changes: a cycle or a chain of references falls as a whole).
  const buildable = new Set([...named].filter((n) => !topology.some((p) => p.env === n)));
  const refersTo = (e: EnvironmentConfig) => [...(e.pullFrom === undefined ? [] : [e.pullFrom]), ...(e.build?.replicateToEnvironments ?? [])];
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of result) {
      if (buildable.has(e.name) && refersTo(e).some((n) => !buildable.has(n))) {
        buildable.delete(e.name);
        changed = true;
      }
    }
  }
  return { environments: result.filter((e) => buildable.has(e.name)), declared, problems: lines };
}

/**
 * Validates a parsed environments file as a whole and returns its environments. Throws a
 * {@link ConfigError} listing every bad field, one line each.
 */
export function validateConfig(raw: unknown, file: string): EnvironmentConfig[] {
  const checked = checkConfig(raw, file);
  if (checked.problems.length) throw new ConfigError(checked.problems);
  return checked.environments;
}

/**
 * Reads and checks an environments file (see {@link loadConfigFile}), returning its problems and
 * the environments that can be built despite them. An unreadable file or a syntax error is one
 * problem and no environments.
 */
export function checkConfigFile(file: string): ConfigCheck {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    return { environments: [], declared: [], problems: [`${file}: cannot read the environments file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`] };
  }
  let raw: unknown;
  try {
    raw = parseJsonWithComments(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    return { environments: [], declared: [], problems: [describeSyntaxError(file, text, e)] };
  }
  return checkConfig(raw, file);
}

/**
 * Reads and validates an environments file: JSON with comments (`//` and `/* *\/`, no trailing
 * commas). A syntax error is one problem naming the file, line and column, with the offending line.
 * Throws a {@link ConfigError} on any problem.
 */
export function loadConfigFile(file: string): EnvironmentConfig[] {
  const checked = checkConfigFile(file);
  if (checked.problems.length) throw new ConfigError(checked.problems);
  return checked.environments;
}

/**
 * Picks the environments named by `selection` (comma-separated names, or `all`).
 * @param all the environments to pick from
 * @param selection the `ENVIRONMENTS` variable; unset selects every local environment
 *   (`"local": true`), the organization `npm start` deploys; set but empty is an error
 * @param declared the environments the file declares, against which the names are checked:
 *   for a file with problems, `all` holds only the environments that can be built, and a name
 *   of another declared one selects nothing instead of being unknown @default - those of `all`
 */
export function selectEnvironments(
  all: EnvironmentConfig[],
  selection: string | undefined,
  file: string,
  declared: readonly DeclaredEnvironment[] = all.map((e) => ({ name: e.name, local: e.local === true })),
): EnvironmentConfig[] {
  const known = declared.map((e) => e.name);
  if (selection !== undefined && selection.trim() === "") {
    throw new ConfigError([
      `ENVIRONMENTS is set but empty (${JSON.stringify(selection)}): unset it to select every local environment ("local": true), or name environments, comma-separated (known: ${known.join(", ")}), or all`,
    ]);
  }
  if (selection === undefined) {
    const local = declared.filter((e) => e.local).map((e) => e.name);
    if (local.length === 0) {
      throw new ConfigError([
        `ENVIRONMENTS is unset, which selects every local environment ("local": true), but ${file} declares none (known: ${known.join(", ")}); set ENVIRONMENTS to a name or all`,
      ]);
    }
    return all.filter((e) => local.includes(e.name));
  }
  if (selection.trim() === "all") return all;
  const names = selection.split(",").map((n) => n.trim());
  const problems = names
    .filter((n) => !known.includes(n))
    .map((n) => `ENVIRONMENTS: ${JSON.stringify(n)} is not an environment of ${file} (known: ${known.join(", ")}, or all)`);
  if (problems.length) throw new ConfigError(problems);
  return all.filter((e) => names.includes(e.name));
}

/** The project's root folder (the one holding `config/`), from this file upwards. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "cdktf.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

/** The environments file: `CONFIG_FILE`, else `config/environments.json` of the project. */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CONFIG_FILE ?? path.join("config", "environments.json");
}
