import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BatchGetProjectsCommand, CodeBuildClient, ListProjectsCommand } from "@aws-sdk/client-codebuild";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetRegistryPolicyCommand,
  GetRegistryScanningConfigurationCommand,
  GetRepositoryPolicyCommand,
} from "@aws-sdk/client-ecr";
import { GetRolePolicyCommand, IAMClient } from "@aws-sdk/client-iam";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { EnvironmentConfig, consumersOf, loadConfigFile, pullRoleArns, repositoryRegions, selectEnvironments } from "../../config/environments";
import { stackName } from "../../stacks/regional-stack";
import { clientConfig, localAwsEnv } from "./clients";
import { terraformEnv } from "../terraform/env";
import { terraformOk } from "../terraform/run";
import { terraformWithSharedProvider } from "../terraform/shared-provider";
import { explainLocalAwsFailure } from "./limits";
import { recordAppliedState } from "../plan-review/state-record";
import { createBucket, ensureLockTable, ensureStateBucket } from "../recovery/state-bucket";
import { awsConfig, type ClientSettings } from "../recovery/account";

/** One stack of a local environment, as synthesized. */
export interface LocalStack {
  readonly environment: EnvironmentConfig;
  readonly region: string;
  readonly name: string;
  /** Its folder in the synth output. */
  readonly dir: string;
}

/** What deploying one stack produced. */
export interface StackResult {
  readonly stack: LocalStack;
  readonly outputs: Record<string, string>;
  readonly initSeconds: number;
  /** The plan and the apply of the saved plan, together. */
  readonly applySeconds: number;
}

/** Options shared by the steps. */
export interface LocalDeployOptions {
  /** The local AWS endpoint. */
  readonly endpoint: string;
  /** The project root (holds dist/ and config/). */
  readonly root: string;
  /** The synth output folder. */
  readonly outdir: string;
  /** The environments file. @default config/environments.json */
  readonly configFile?: string;
  /** Comma-separated names of local environments. @default - every local environment of the file */
  readonly environments?: string;
}

/**
 * The local environments selected (`environments`, comma-separated; unset: every
 * environment of the file marked `"local": true`; set but empty: an error), each of which must be local.
 */
export function selectLocalEnvironments(opts: Pick<LocalDeployOptions, "root" | "configFile" | "environments">): EnvironmentConfig[] {
  const file = opts.configFile ?? path.join("config", "environments.json");
  const all = loadConfigFile(path.resolve(opts.root, file));
  // Unset selects every local environment; set but empty is an error (selectEnvironments says so).
  const selection = opts.environments !== undefined ? opts.environments : all.filter((e) => e.local === true).map((e) => e.name).join(",") || undefined;
  const envs = selectEnvironments(all, selection, file);
  const real = envs.filter((e) => e.local !== true);
  if (real.length) {
    throw new Error(
      `environment(s) ${real.map((e) => JSON.stringify(e.name)).join(", ")} are not local ("local": true): ` +
        "the local deploy only targets the embedded local AWS; deploy real accounts with `cdktf deploy` or terraform",
    );
  }
  return envs;
}

/** The stacks of the given environments, one per region. */
export function localStacks(envs: EnvironmentConfig[], outdir: string): LocalStack[] {
  return envs.flatMap((environment) =>
    environment.regions.map((region) => {
      const name = stackName(environment.name, region);
      return { environment, region, name, dir: path.join(outdir, "stacks", name) };
    }),
  );
}

/** The environment Terraform runs with against the local AWS. */
export function localTerraformEnv(opts: LocalDeployOptions, region: string): NodeJS.ProcessEnv {
  return { ...terraformEnv(path.join(opts.root, ".tmp", "terraform")), ...localAwsEnv(opts.endpoint, region) };
}

/** Synthesizes the selected environments with the local endpoint (the app validates everything first). */
export function synthesize(opts: LocalDeployOptions): void {
  const result = spawnSync(process.execPath, [path.join(opts.root, "dist", "main.js")], {
    cwd: opts.root,
    env: {
      ...process.env,
      AWS_ENDPOINT_URL: opts.endpoint,
      ENVIRONMENTS: opts.environments ?? selectLocalEnvironments(opts).map((e) => e.name).join(","),
      CDKTF_OUTDIR: opts.outdir,
      ...(opts.configFile ? { CONFIG_FILE: opts.configFile } : {}),
    },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`synth failed:\n${result.stderr.trim()}`);
  // The constructs' warnings (one line each): shown by every command that synthesizes.
  if (result.stderr) process.stderr.write(result.stderr);
}

function sourceBundle(root: string): Buffer {
  // A zip of what a build of this repository needs; python3's zipfile is there wherever moto is.
  const folders = ["docker", "buildspecs"].filter((d) => fs.existsSync(path.join(root, d)));
  return execFileSync("python3", ["-c", ZIP_SCRIPT, ...folders], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
}
const ZIP_SCRIPT = `
import io, os, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for top in sys.argv[1:]:
        for d, _, files in os.walk(top):
            for f in sorted(files):
                z.write(os.path.join(d, f))
sys.stdout.buffer.write(buf.getvalue())
`;

/**
 * Creates what must exist before Terraform runs: the state bucket and (if configured) the lock
 * table of each environment, to the standard of `npm run bootstrap-state` (versioned, encrypted,
 * public access blocked, owner-enforced; not TLS-only: the local AWS is plain http and enforces
 * the statement: scripts/recovery/state-bucket.ts), and the S3
 * source buckets the projects read, with the source bundle. Idempotent.
 */
export async function bootstrap(opts: LocalDeployOptions, envs: EnvironmentConfig[]): Promise<void> {
  let bundle: Buffer | undefined;
  for (const env of envs) {
    const stateRegion = env.state.region ?? env.regions[0];
    const s3 = new S3Client(clientConfig({ region: stateRegion, endpoint: opts.endpoint }));
    await ensureStateBucket(s3, { bucket: env.state.bucket, region: stateRegion, kmsKeyArn: env.state.kmsKeyArn, tlsOnly: false });
    if (env.state.dynamodbTable) await ensureLockTable(new DynamoDBClient(clientConfig({ region: stateRegion, endpoint: opts.endpoint })), env.state.dynamodbTable);
    for (const region of env.regions) {
      for (const project of env.build ? [env.build.privilegedProject, env.build.dindProject] : []) {
        const src = project.source;
        if (src?.type !== "S3") continue;
        const rs3 = new S3Client(clientConfig({ region, endpoint: opts.endpoint }));
        await createBucket(rs3, src.bucketName, region);
        bundle ??= sourceBundle(opts.root);
        await rs3.send(new PutObjectCommand({ Bucket: src.bucketName, Key: src.objectKey, Body: bundle }));
      }
    }
  }
}

/**
 * `terraform init`, `terraform plan -out` and `terraform apply` of that saved plan for one stack;
 * returns its outputs. The plan and the apply each run against one AWS provider process of their
 * own, seen through the schema-trimming proxy (shared-provider.ts): `apply -auto-approve` would
 * start the provider three times and read its whole schema each time (BENCHMARKS.md, "Local
 * organization"). A state that holds a type the configuration no longer names is planned and applied
 * with the whole schema. With `log`, each phase says when it starts and ends, with a heartbeat
 * every 10 s while it runs. A failure that is a known gap of the local AWS says so first (see
 * {@link explainLocalAwsFailure}).
 */
export async function deployStack(opts: LocalDeployOptions, stack: LocalStack, log?: (line: string) => void): Promise<StackResult> {
  const env = localTerraformEnv(opts, stack.region);
  const progress = log && { label: stack.name, log };
  const warn = log ?? ((line: string) => process.stderr.write(line));
  const planFile = path.join(stack.dir, ".terraform", "deploy.tfplan");
  try {
    const init = await terraformOk(["init", "-input=false", "-no-color"], stack.dir, env, { progress });
    const plan = await terraformWithSharedProvider(["plan", "-input=false", "-no-color", `-out=${planFile}`], stack.dir, env, warn, stack.name, { progress });
    const apply = await terraformWithSharedProvider(["apply", "-input=false", "-no-color", planFile], stack.dir, env, warn, stack.name, { progress, wholeSchema: plan.wholeSchema });
    // What the state holds now, for the next plan review (backend-change, state-empty).
    await recordAppliedState(stack.name, stack.dir, env, "apply");
    return { stack, outputs: await readOutputs(opts, stack), initSeconds: init.seconds, applySeconds: plan.result.seconds + apply.result.seconds };
  } catch (e) {
    throw explainLocalAwsFailure(e);
  } finally {
    fs.rmSync(planFile, { force: true });
  }
}

/** The outputs of a deployed stack, as strings. */
export async function readOutputs(opts: LocalDeployOptions, stack: LocalStack): Promise<Record<string, string>> {
  const out = await terraformOk(["output", "-json"], stack.dir, localTerraformEnv(opts, stack.region));
  const parsed = JSON.parse(out.stdout) as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v.value)]));
}

/** What the API reports about a deployed stack's projects and repository. */
export interface Verification {
  readonly stack: string;
  /** Empty in a stack that builds nothing (a replica region, a consumer). */
  readonly projects: { name: string; image: string; privileged: boolean; serviceRole: string }[];
  /** Absent in a stack that holds no repository (a consumer). */
  readonly repository?: { name: string; uri: string; tagMutability: string; scanOnPush: boolean; encryption: string };
}

/** Reads the projects and repository of a deployed stack back through the CodeBuild and ECR APIs. */
export async function verify(opts: LocalDeployOptions, result: StackResult): Promise<Verification> {
  const target = await accountConfig(opts.endpoint, result.stack.environment, result.stack.region);
  const names = [result.outputs.privileged_project_name, result.outputs.dind_project_name].filter((n): n is string => n !== undefined);
  let projects: Verification["projects"] = [];
  if (names.length) {
    const cb = await new CodeBuildClient(target).send(new BatchGetProjectsCommand({ names }));
    if ((cb.projectsNotFound ?? []).length) throw new Error(`CodeBuild does not know ${cb.projectsNotFound!.join(", ")}`);
    projects = (cb.projects ?? []).map((p) => ({
      name: p.name!,
      image: p.environment!.image!,
      privileged: p.environment!.privilegedMode === true,
      serviceRole: p.serviceRole!,
    }));
  }
  if (result.outputs.repository_url === undefined) return { stack: result.stack.name, projects };
  const repoName = result.outputs.repository_url.split("/").slice(1).join("/");
  const ecr = await new ECRClient(target).send(new DescribeRepositoriesCommand({ repositoryNames: [repoName] }));
  const repo = ecr.repositories![0];
  return {
    stack: result.stack.name,
    projects,
    repository: {
      name: repo.repositoryName!,
      uri: repo.repositoryUri!,
      tagMutability: repo.imageTagMutability!,
      scanOnPush: repo.imageScanningConfiguration?.scanOnPush === true,
      encryption: repo.encryptionConfiguration?.encryptionType ?? "none",
    },
  };
}

/**
 * The stacks in deploy order: waves of stacks deployed together. A consumer's stacks come before
 * its owner's, because the owner's repository policy names the consumer's pull roles, and a real
 * repository policy must name principals that exist. (The config refuses pullFrom cycles.)
 */
export function deployWaves(stacks: readonly LocalStack[], organization: readonly EnvironmentConfig[]): LocalStack[][] {
  const wave = new Map<string, number>();
  const waveOf = (env: EnvironmentConfig, depth = 0): number => {
    if (wave.has(env.name)) return wave.get(env.name)!;
    if (depth > organization.length) throw new Error(`pullFrom cycle through ${env.name}`);
    const consumers = consumersOf(env, organization);
    const w = consumers.length === 0 ? 0 : 1 + Math.max(...consumers.map((c) => waveOf(c, depth + 1)));
    wave.set(env.name, w);
    return w;
  };
  const waves: LocalStack[][] = [];
  for (const s of stacks) (waves[waveOf(s.environment)] ??= []).push(s);
  return waves.filter((w) => w !== undefined && w.length > 0);
}

/**
 * Client settings for calls in an environment's account: the base credentials, or a role assumed
 * there through the local STS (once per endpoint and role, then reused for every region).
 */
function accountConfig(endpoint: string, env: EnvironmentConfig, region: string): Promise<ClientSettings> {
  return awsConfig({ region, endpoint, roleArn: env.assumeRoleArn, session: "npm-start-verify" });
}

/** What one account holds after the deploy, read back through the APIs in that account. */
export interface AccountReport {
  readonly environment: string;
  readonly accountId: string;
  /** One line per fact, for the summary. */
  readonly lines: string[];
  /** Differences from what the config says; empty when everything matches. */
  readonly problems: string[];
}

const same = (a: readonly string[], b: readonly string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/**
 * Reads back, in each account, what the topology promises: the owner's repository policy names
 * exactly its consumers' pull roles (every region that holds the repository); each pull role may
 * pull exactly the owner's repository ARNs; the primary region replicates to the configured
 * destinations; each cross-account destination has its registry policy; only the owner's
 * primary region has projects; each region of an environment that sets `registryScanning` has
 * exactly that scanning configuration.
 */
export async function verifyTopology(endpoint: string, envs: readonly EnvironmentConfig[], organization: readonly EnvironmentConfig[]): Promise<AccountReport[]> {
  const reports: AccountReport[] = [];
  for (const env of envs) {
    const lines: string[] = [];
    const problems: string[] = [];
    const build = env.build;
    if (build) {
      const regions = repositoryRegions(env);
      const expected = consumersOf(env, organization).flatMap((c) => pullRoleArns(env, c));
      for (const region of regions) {
        const cfg = await accountConfig(endpoint, env, region);
        const ecr = new ECRClient(cfg);
        const primary = region === regions[0];
        let principals: string[] = [];
        try {
          const policy = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: build.repositoryName }));
          // Every principal of every statement: an extra one anywhere is a difference too.
          principals = JSON.parse(policy.policyText ?? "{}").Statement.flatMap((s: any) => asList(s.Principal?.AWS ?? s.Principal));
        } catch (e) {
          if ((e as Error).name === "RepositoryNotFoundException") {
            problems.push(`${region}: the repository ${build.repositoryName} does not exist`);
            continue;
          }
          if ((e as Error).name !== "RepositoryPolicyNotFoundException") throw e;
        }
        if (!same(principals, expected)) problems.push(`${region}: the repository policy names [${principals.join(", ")}], expected [${expected.join(", ")}]`);
        const projects = (await new CodeBuildClient(cfg).send(new ListProjectsCommand({}))).projects ?? [];
        // Every region that is not a replica builds (one region when there are replicas).
        const building = !(build.replicaRegions ?? []).includes(region);
        if (building !== projects.length > 0) problems.push(`${region}: ${projects.length} projects, expected ${building ? "the two" : "none (a replica region)"}`);
        lines.push(`${region}: ${build.repositoryName} (${building ? `builds: ${projects.join(", ")}` : "replica, no projects"}); repository policy names ${principals.length} pull role(s)`);
        if (primary) {
          const registry = await ecr.send(new DescribeRegistryCommand({}));
          const got = (registry.replicationConfiguration?.rules ?? []).flatMap((r) => (r.destinations ?? []).map((d) => `${d.registryId}/${d.region}`));
          const want = [
            ...(build.replicaRegions ?? []).map((r) => `${env.accountId}/${r}`),
            ...(build.replicateToEnvironments ?? []).flatMap((n) => (organization.find((o) => o.name === n)?.regions ?? []).map((r) => `${organization.find((o) => o.name === n)!.accountId}/${r}`)),
          ];
          if (!same(got, want)) problems.push(`${region}: replicates to [${got.join(", ")}], expected [${want.join(", ")}]`);
          if (got.length) lines.push(`${region}: replicates ${build.repositoryName} to ${got.join(", ")}`);
        }
      }
    }
    const owner = organization.find((o) => o.name === env.pullFrom);
    if (owner?.build) {
      const cfg = await accountConfig(endpoint, env, env.regions[0]);
      const iam = new IAMClient(cfg);
      const want = repositoryRegions(owner).map((r) => `arn:aws:ecr:${r}:${owner.accountId}:repository/${owner.build!.repositoryName}`);
      for (const arn of pullRoleArns(owner, env)) {
        const roleName = arn.split("/").pop()!;
        const doc = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: "ecr-pull" })).catch((e: Error) => {
          if (e.name === "NoSuchEntityException" || e.name === "NoSuchEntity") return undefined;
          throw e;
        });
        if (doc === undefined) {
          problems.push(`pull role ${roleName} or its ecr-pull policy does not exist`);
          continue;
        }
        const statements = JSON.parse(decodeURIComponent(doc.PolicyDocument!)).Statement as any[];
        const got = statements.filter((s) => s.Sid === "EcrPull").flatMap((s) => asList(s.Resource));
        if (!same(got, want)) problems.push(`pull role ${roleName} may pull [${got.join(", ")}], expected [${want.join(", ")}]`);
        lines.push(`pull role ${arn} may pull ${got.join(", ")}`);
      }
    }
    const sources = organization.filter((o) => (o.build?.replicateToEnvironments ?? []).includes(env.name));
    for (const region of sources.length ? env.regions : []) {
      const policy = await new ECRClient(await accountConfig(endpoint, env, region)).send(new GetRegistryPolicyCommand({})).catch((e: Error) => {
        if (e.name === "RegistryPolicyNotFoundException") return undefined;
        throw e;
      });
      if (policy === undefined) {
        problems.push(`${region}: no registry policy lets ${sources.map((o) => o.accountId).join(", ")} replicate into this account`);
        continue;
      }
      const allowed = JSON.parse(policy.policyText ?? "{}").Statement.flatMap((s: any) => asList(s.Principal?.AWS));
      const want = sources.map((o) => `arn:aws:iam::${o.accountId}:root`);
      if (!same(allowed, want)) problems.push(`${region}: the registry policy allows [${allowed.join(", ")}] to replicate, expected [${want.join(", ")}]`);
      lines.push(`${region}: registry policy lets ${sources.map((o) => o.accountId).join(", ")} replicate into this account`);
    }
    for (const region of env.registryScanning ? env.regions : []) {
      const got = (await new ECRClient(await accountConfig(endpoint, env, region)).send(new GetRegistryScanningConfigurationCommand({}))).scanningConfiguration;
      const difference = scanningDifference(env.registryScanning!, got);
      if (difference !== undefined) problems.push(`${region}: the registry scanning configuration is ${difference}`);
      else lines.push(`${region}: registry scanning ${describeScanning(env.registryScanning!)}`);
    }
    reports.push({ environment: env.name, accountId: env.accountId, lines, problems });
  }
  return reports;
}

/** A scanning configuration in one line: `ENHANCED: CONTINUOUS_SCAN [a/*]; SCAN_ON_PUSH [*]`. */
export function describeScanning(c: { scanType?: string; rules?: readonly { frequency?: string; filters?: readonly string[] }[] }): string {
  const rules = (c.rules ?? []).map((r) => `${r.frequency} [${(r.filters ?? []).join(", ")}]`);
  return `${c.scanType}${rules.length ? `: ${rules.join("; ")}` : ", no rules"}`;
}

/**
 * How a registry scanning configuration read back (GetRegistryScanningConfiguration) differs from
 * the config: `"<got>, expected <want>"`, or undefined when they match (rules and filters in any order).
 */
export function scanningDifference(
  want: NonNullable<EnvironmentConfig["registryScanning"]>,
  got: { scanType?: string; rules?: { scanFrequency?: string; repositoryFilters?: { filter?: string; filterType?: string }[] }[] } | undefined,
): string | undefined {
  const gotConfig = {
    scanType: got?.scanType,
    rules: (got?.rules ?? []).map((r) => ({
      frequency: r.scanFrequency,
      filters: (r.repositoryFilters ?? []).map((f) => (f.filterType === "WILDCARD" ? f.filter! : `${f.filter} (${f.filterType})`)),
    })),
  };
  const key = (c: { scanType?: string; rules?: readonly { frequency?: string; filters?: readonly string[] }[] }) =>
    JSON.stringify([c.scanType, (c.rules ?? []).map((r) => `${r.frequency} ${[...(r.filters ?? [])].sort().join(",")}`).sort()]);
  return key(gotConfig) === key(want) ? undefined : `${describeScanning(gotConfig)}, expected ${describeScanning(want)}`;
}

/** Every environment of the config file (the organization the selected ones belong to). */
export function organizationOf(opts: Pick<LocalDeployOptions, "root" | "configFile">): EnvironmentConfig[] {
  return loadConfigFile(path.resolve(opts.root, opts.configFile ?? path.join("config", "environments.json")));
}
