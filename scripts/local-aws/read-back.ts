/**
 * The read-back of `npm start`: what the local AWS holds after the deploy, asked through the
 * CodeBuild, ECR and IAM APIs in each account, compared with what the config and the topology promise.
 */
import { BatchGetProjectsCommand, CodeBuildClient, ListProjectsCommand } from "@aws-sdk/client-codebuild";
import {
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetRegistryPolicyCommand,
  GetRegistryScanningConfigurationCommand,
  GetRepositoryPolicyCommand,
} from "@aws-sdk/client-ecr";
import { GetRolePolicyCommand, IAMClient } from "@aws-sdk/client-iam";
import { EnvironmentConfig, consumersOf, pullRoleArns, repositoryRegions } from "../../config/environments";
import { awsConfig, type ClientSettings } from "../recovery/account";

/** One stack of a local environment, as synthesized. */
export interface LocalStack {
  readonly environment: EnvironmentConfig;
  readonly region: string;
  readonly name: string;
  /** Its folder in the synth output. */
  readonly dir: string;
}

/** A deployed stack and its outputs. */
export interface StackResult {
  readonly stack: LocalStack;
  readonly outputs: Record<string, string>;
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
export async function verify(endpoint: string, result: StackResult): Promise<Verification> {
  const target = await accountConfig(endpoint, result.stack.environment, result.stack.region);
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
