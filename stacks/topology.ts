import { Construct } from "constructs";
import { TerraformOutput } from "cdktf";
import { EcrRegistryPolicy } from "@cdktf/provider-aws/lib/ecr-registry-policy";
import { EcrReplicationConfiguration } from "@cdktf/provider-aws/lib/ecr-replication-configuration";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { EnvironmentConfig, consumersOf, pullRoleArns, pullRoleName, repositoryArn, repositoryRegions } from "../config/environments";

export { pullRoleArns, pullRoleName, repositoryArn } from "../config/environments";
import { EcrRepo, IEcrRepository } from "../modules/ecr-repo";
import { ImportedRole } from "../modules/service-role";

/** What the two pull roles of a consumer trust, by kind. */
const PULL_ROLES = {
  ecsExecution: {
    description: "ECS task execution role: pulls the image",
    principals: ["ecs-tasks.amazonaws.com"],
    actions: ["sts:AssumeRole"],
  },
  workload: {
    description: "Role EC2 instances and EKS pods (Pod Identity) assume to pull the image",
    principals: ["ec2.amazonaws.com", "pods.eks.amazonaws.com"],
    actions: ["sts:AssumeRole", "sts:TagSession"],
  },
} as const;

/** Lets each consumer's pull roles pull from `repo` (the repository policy names them, not `:root`). */
export function grantConsumers(scope: Construct, repo: EcrRepo, owner: EnvironmentConfig, organization: readonly EnvironmentConfig[]): void {
  for (const consumer of consumersOf(owner, organization)) {
    pullRoleArns(owner, consumer).forEach((arn, i) => {
      repo.grantPull(ImportedRole.fromRoleArn(scope, `Consumer-${consumer.name}-${i}`, arn, { mutable: false }));
    });
  }
}

/**
 * The replication of an owner's primary region: one rule, filtered to its repository, to each
 * replica region of its own account and to each region of the environments it replicates to.
 */
export function replication(scope: Construct, owner: EnvironmentConfig, organization: readonly EnvironmentConfig[]): EcrReplicationConfiguration | undefined {
  const build = owner.build;
  if (build === undefined) return undefined;
  const destinations = [
    ...(build.replicaRegions ?? []).map((region) => ({ region, registryId: owner.accountId })),
    ...(build.replicateToEnvironments ?? []).flatMap((name) => {
      const dest = organization.find((e) => e.name === name);
      return (dest?.regions ?? []).map((region) => ({ region, registryId: dest!.accountId }));
    }),
  ];
  if (destinations.length === 0) return undefined;
  const config = new EcrReplicationConfiguration(scope, "Replication", {
    replicationConfiguration: {
      rule: [{ destination: destinations, repositoryFilter: [{ filter: build.repositoryName, filterType: "PREFIX_MATCH" }] }],
    },
  });
  new TerraformOutput(scope, "replication_destinations", {
    value: destinations.map((d) => `${d.registryId}/${d.region}`).join(","),
    description: "Where the primary region replicates the repository (<registry>/<region>, comma-separated)",
  });
  return config;
}

/**
 * The registry policy of a destination of cross-account replication: it lets each owner that
 * replicates into this environment create the repository and replicate images here.
 */
export function replicationDestinationPolicy(scope: Construct, env: EnvironmentConfig, region: string, organization: readonly EnvironmentConfig[]): EcrRegistryPolicy | undefined {
  const sources = organization.filter((o) => (o.build?.replicateToEnvironments ?? []).includes(env.name));
  if (sources.length === 0) return undefined;
  return new EcrRegistryPolicy(scope, "ReplicationDestinationPolicy", {
    policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: sources.map((o) => ({
        Sid: `ReplicationFrom${o.accountId}`,
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${o.accountId}:root` },
        Action: ["ecr:CreateRepository", "ecr:ReplicateImage"],
        Resource: `arn:aws:ecr:${region}:${env.accountId}:repository/${o.build?.repositoryName}`,
      })),
    }),
  });
}

/**
 * The pull roles of a consumer (created in its first region: IAM is global), each allowed to
 * pull exactly the owner's repository in every region that holds it.
 */
export function pullRoles(scope: Construct, consumer: EnvironmentConfig, organization: readonly EnvironmentConfig[]): IamRole[] {
  const owner = organization.find((e) => e.name === consumer.pullFrom);
  if (owner?.build === undefined) return [];
  const repos: IEcrRepository[] = repositoryRegions(owner).map((region) =>
    EcrRepo.fromRepositoryArn(scope, `Pulled-${owner.name}-${region}`, repositoryArn(owner, region)),
  );
  return (Object.keys(PULL_ROLES) as (keyof typeof PULL_ROLES)[]).map((kind) => {
    const spec = PULL_ROLES[kind];
    const role = new IamRole(scope, `PullRole-${kind}`, {
      name: pullRoleName(owner.name, kind),
      description: `${spec.description} from ${owner.name}'s repository (managed by cdktf)`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "WorkloadAssumeRole",
            Effect: "Allow",
            Principal: { Service: spec.principals.length === 1 ? spec.principals[0] : [...spec.principals] },
            Action: [...spec.actions],
            Condition: { StringEquals: { "aws:SourceAccount": consumer.accountId } },
          },
        ],
      }),
    });
    const grantee = ImportedRole.fromIamRole(scope, `PullRole-${kind}-Grants`, role, { policyName: "ecr-pull" });
    for (const repo of repos) repo.grantPull(grantee);
    new TerraformOutput(scope, `pull_role_${kind === "ecsExecution" ? "ecs_execution" : "workload"}_arn`, {
      value: role.arn,
      description: `ARN of the ${spec.description.charAt(0).toLowerCase()}${spec.description.slice(1)} from ${owner.name}`,
    });
    return role;
  });
}

/** Anything that belongs to one environment of the organization, e.g. one of its stacks. */
export interface OfEnvironment {
  readonly environment: EnvironmentConfig;
}

/**
 * The stacks in apply order: waves of stacks applied together, in the order of `stacks` within a
 * wave. A consumer's stacks come before its owner's, because the owner's repository policy names
 * the consumer's pull roles, and a real repository policy must name principals that exist. A
 * destroy runs the waves the other way round. (The config refuses pullFrom cycles.)
 */
export function applyWaves<S extends OfEnvironment>(stacks: readonly S[], organization: readonly EnvironmentConfig[]): S[][] {
  const wave = organizationWaves(organization, stacks.map((s) => s.environment));
  const waves: S[][] = [];
  for (const s of stacks) (waves[wave.get(s.environment.name)!] ??= []).push(s);
  return waves.filter((w) => w !== undefined && w.length > 0);
}

/**
 * The wave of each environment (0 first): 0 for an environment nobody pulls from, else one more
 * than the latest of its consumers. The numbers are the organization's, so they do not change
 * with a selection (a selection may skip a wave).
 * @param also environments outside `organization` to number too @default - none
 */
export function organizationWaves(organization: readonly EnvironmentConfig[], also: readonly EnvironmentConfig[] = []): Map<string, number> {
  const wave = new Map<string, number>();
  const waveOf = (env: EnvironmentConfig, depth = 0): number => {
    if (wave.has(env.name)) return wave.get(env.name)!;
    if (depth > organization.length) throw new Error(`pullFrom cycle through ${env.name}`);
    const consumers = consumersOf(env, organization);
    const w = consumers.length === 0 ? 0 : 1 + Math.max(...consumers.map((c) => waveOf(c, depth + 1)));
    wave.set(env.name, w);
    return w;
  };
  for (const env of [...organization, ...also]) waveOf(env);
  return wave;
}
