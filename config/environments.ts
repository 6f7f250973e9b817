import * as fs from "fs";
import * as path from "path";
import { AWS_REGIONS } from "./regions";
import { SchemaProblem, Spec, check, s } from "./schema";
import { sourcePathProblem } from "../modules/shared/source-path";
import { looksLikeSecret } from "../modules/shared/secret-names";
import { JsonSyntaxError, describeSyntaxError, parseJsonWithComments } from "./json-with-comments";

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
    | { readonly type: "GITHUB" | "CODECOMMIT"; readonly location: string; readonly branch?: string }
    | { readonly type: "S3"; readonly bucketName: string; readonly objectKey: string };
  readonly environmentVariables?: Record<string, { readonly value: string; readonly type?: "PLAINTEXT" | "PARAMETER_STORE" | "SECRETS_MANAGER" }>;
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
    type: s.req(s.oneOf(["GITHUB", "CODECOMMIT", "S3"])),
    location: s.pattern(/^https:\/\//, "must be an https:// clone URL"),
    branch: s.str((v) => v.length > 0, "must not be empty"),
    bucketName: s.pattern(BUCKET, "must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')"),
    objectKey: s.str((v) => v.length > 0 && !v.includes("*"), "must be an exact object key"),
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
    }),
});

/** Rules that span fields of one environment. */
function crossFieldProblems(env: Record<string, any>): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const accountId = env.accountId;
  if (typeof env.assumeRoleArn === "string" && typeof accountId === "string") {
    const m = ROLE_ARN.exec(env.assumeRoleArn);
    if (m && m[1] !== accountId) out.push({ path: "assumeRoleArn", value: env.assumeRoleArn, rule: `must be a role in the environment's account ${accountId}` });
  }
  // moto answers as its default account, or as the account of a role assumed through its STS.
  if (env.local === true && accountId !== LOCAL_ACCOUNT_ID && env.assumeRoleArn === undefined) {
    out.push({
      path: "accountId",
      value: accountId,
      rule: `needs assumeRoleArn (a role in ${accountId}) in a local environment: moto answers as ${LOCAL_ACCOUNT_ID}, or as the account of a role assumed through its STS`,
    });
  }
  if (env.local === true && accountId === LOCAL_ACCOUNT_ID && env.assumeRoleArn !== undefined) {
    out.push({ path: "assumeRoleArn", value: env.assumeRoleArn, rule: `must not be set in a local environment of moto's default account ${LOCAL_ACCOUNT_ID}` });
  }
  for (const project of ["privilegedProject", "dindProject"]) {
    const src = env.build?.[project]?.source;
    if (src === undefined) continue;
    const at = `build.${project}.source`;
    const needs = src.type === "S3" ? ["bucketName", "objectKey"] : ["location"];
    const forbidden = src.type === "S3" ? ["location", "branch"] : ["bucketName", "objectKey"];
    for (const k of needs) if (src[k] === undefined) out.push({ path: `${at}.${k}`, value: undefined, rule: `is required for a ${src.type} source` });
    for (const k of forbidden) if (src[k] !== undefined) out.push({ path: `${at}.${k}`, value: src[k], rule: `does not apply to a ${src.type} source` });
  }
  if (env.build === undefined && env.pullFrom === undefined) {
    out.push({ path: "build", value: undefined, rule: "or pullFrom is required (an environment owns an image pipeline, pulls from one, or both)" });
  }
  const replicas: string[] = env.build?.replicaRegions ?? [];
  for (const r of replicas) {
    if (Array.isArray(env.regions) && !env.regions.includes(r)) {
      out.push({ path: "build.replicaRegions", value: r, rule: `is not one of the environment's regions (${env.regions.join(", ")})` });
    }
  }
  if (replicas.length > 0 && Array.isArray(env.regions) && env.regions.filter((r: string) => !replicas.includes(r)).length !== 1) {
    out.push({
      path: "build.replicaRegions",
      value: replicas,
      rule: "must leave exactly one region that builds (the primary, the source of the replication)",
    });
  }
  const pullAccounts = env.build?.repository?.pullAccountIds;
  if (Array.isArray(pullAccounts) && typeof accountId === "string" && pullAccounts.includes(accountId)) {
    out.push({
      path: "build.repository.pullAccountIds",
      value: accountId,
      rule: "is the environment's own account: a repository policy entry for it would let every principal of the account pull; grant the roles that need it instead (their own IAM policies suffice in the same account)",
    });
  }
  const p = env.build?.privilegedProject?.projectName;
  const d = env.build?.dindProject?.projectName;
  if (typeof p === "string" && p === d) {
    out.push({ path: "build.dindProject.projectName", value: d, rule: "must differ from build.privilegedProject.projectName" });
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

/**
 * Validates a parsed environments file as a whole and returns its environments. Throws a
 * {@link ConfigError} listing every bad field, one line each.
 */
export function validateConfig(raw: unknown, file: string): EnvironmentConfig[] {
  const lines: string[] = [];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError([`${file}: the file must hold a JSON object with an "environments" object`]);
  }
  const top: SchemaProblem[] = [];
  // Environments are checked one by one below; here only the top level (unknown keys, presence).
  const topLevel = "environments" in raw ? { ...raw, environments: {} } : raw;
  check(s.obj({ $schema: s.str(), environments: s.req(s.map(s.obj({}))) }), topLevel, "", top);
  lines.push(...top.map((p) => line(file, undefined, p)));
  const envs = (raw as Record<string, unknown>).environments;
  if (typeof envs !== "object" || envs === null || Array.isArray(envs)) {
    if ("environments" in raw) lines.push(`${file}: environments ${show(envs)} must be an object of environments by name`);
    throw new ConfigError(lines);
  }
  const result: EnvironmentConfig[] = [];
  for (const [name, env] of Object.entries(envs as Record<string, unknown>)) {
    if (!ENV_NAME.test(name)) {
      lines.push(`${file}: environment ${show(name)} has an invalid name: must be 1-32 lowercase letters, digits or '-', starting with a letter`);
    }
    const problems: SchemaProblem[] = [];
    check(ENVIRONMENT_SPEC, env, "", problems);
    if (problems.length === 0) problems.push(...crossFieldProblems(env as Record<string, unknown>));
    lines.push(...problems.map((p) => line(file, name, p)));
    if (problems.length === 0) result.push({ ...(env as Omit<EnvironmentConfig, "name">), name });
  }
  if (Object.keys(envs as object).length === 0) lines.push(`${file}: environments {} must declare at least one environment`);
  lines.push(...topologyProblems(result, Object.keys(envs as object)).map((p) => line(file, p.env, p)));
  if (lines.length) throw new ConfigError(lines);
  return result;
}

/**
 * Reads and validates an environments file: JSON with comments (`//` and `/* *\/`, no trailing
 * commas). A syntax error is one problem naming the file, line and column, with the offending line.
 */
export function loadConfigFile(file: string): EnvironmentConfig[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError([`${file}: cannot read the environments file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  let raw: unknown;
  try {
    raw = parseJsonWithComments(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw new ConfigError([describeSyntaxError(file, text, e)]);
  }
  return validateConfig(raw, file);
}

/**
 * Picks the environments named by `selection` (comma-separated names, or `all`).
 * @param selection the `ENVIRONMENTS` variable; unset (or empty) selects every local environment
 *   (`"local": true`), the organization `npm start` deploys
 */
export function selectEnvironments(all: EnvironmentConfig[], selection: string | undefined, file: string): EnvironmentConfig[] {
  const known = all.map((e) => e.name);
  if (selection !== undefined && selection.trim() === "") {
    throw new ConfigError([
      `ENVIRONMENTS is set but empty (${JSON.stringify(selection)}): unset it to select every local environment ("local": true), or name environments, comma-separated (known: ${known.join(", ")}), or all`,
    ]);
  }
  if (selection === undefined) {
    const local = all.filter((e) => e.local === true);
    if (local.length === 0) {
      throw new ConfigError([
        `ENVIRONMENTS is unset, which selects every local environment ("local": true), but ${file} declares none (known: ${known.join(", ")}); set ENVIRONMENTS to a name or all`,
      ]);
    }
    return local;
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
