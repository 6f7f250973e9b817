import { Construct } from "constructs";
import { S3Backend, TerraformOutput, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { EnvironmentConfig } from "../config/environments";
import { CONSTRUCT_IDS, dindProjectProps, privilegedProjectProps, pullThroughCacheProps, registryScanningProps, repositoryProps } from "./construct-props";
import { grantConsumers, pullRoles, replication, replicationDestinationPolicy } from "./topology";
import { EcrRepo } from "../modules/ecr-repo";
import { CodeBuildPrivilegedProject } from "../modules/codebuild-privileged-project";
import { CodeBuildDindProject } from "../modules/codebuild-dind-project";
import { EcrPullThroughCache, PullThroughUpstream } from "../modules/ecr-pull-through-cache";
import { EcrRegistryScanning } from "../modules/ecr-registry-scanning";
import { CodeBuildDockerProject, CodeBuildDockerProjectProps } from "../modules/codebuild-project/codebuild-docker-project";
import { PropValidationError, combinedPropValidationError } from "../modules/shared/validation";
import { PolicyPack } from "../modules/policy-pack/policy-pack";
import { DEFAULT_LOCAL_ENDPOINT, localBackendSettings, localProviderSettings, synthLocalAwsConfig } from "./custom-endpoint";

/** Properties of a {@link RegionalStack}. */
export interface RegionalStackProps {
  /** The environment (account) the stack belongs to. */
  readonly environment: EnvironmentConfig;
  /** The region it deploys to; one of the environment's regions. */
  readonly region: string;
  /**
   * The endpoint a `local` environment reaches AWS through (a local AWS).
   * @default DEFAULT_LOCAL_ENDPOINT ("http://127.0.0.1:5000")
   */
  readonly localEndpoint?: string;
  /**
   * Every environment of the config (not only the selected ones): who pulls from this
   * environment, and who replicates into it, is read from it.
   * @default - only this environment
   */
  readonly organization?: readonly EnvironmentConfig[];
}

/** The name of the stack of an environment in a region: `<env>-<region>`. */
export function stackName(environment: string, region: string): string {
  return `${environment}-${region}`;
}

/** The state key of a stack: `[<prefix>/]<env>/<region>/terraform.tfstate`. */
export function stateKey(env: EnvironmentConfig, region: string): string {
  const prefix = env.state.keyPrefix ? `${env.state.keyPrefix}/` : "";
  return `${prefix}${env.name}/${region}/terraform.tfstate`;
}

/**
 * Everything one environment deploys to one region: the AWS provider (optionally assuming a
 * role in the target account), the S3 state backend with native locking, and what the topology
 * gives the region: for an owner, the ECR repository (naming its consumers' pull roles), the
 * privileged and docker:dind CodeBuild projects in a building region (none in a replica region)
 * and the replication of the primary region; for a consumer, its pull roles (first region); for a
 * destination of cross-account replication, the registry policy that allows it; the registry
 * scanning configuration where the environment sets one (every region). And the outputs.
 */
export class RegionalStack extends TerraformStack {
  /** The repository the projects push to (owners only). */
  public readonly repository?: EcrRepo;
  /** The project on the CodeBuild managed image (building regions of owners only). */
  public readonly privilegedProject?: CodeBuildPrivilegedProject;
  /** The project on docker:dind (building regions of owners only). */
  public readonly dindProject?: CodeBuildDindProject;
  /** The ECR pull-through cache (building regions of owners that set `build.pullThroughCache`). */
  public readonly pullThroughCache?: EcrPullThroughCache;
  /** The registry scanning configuration of the account in this region (environments that set `registryScanning`). */
  public readonly registryScanning?: EcrRegistryScanning;

  constructor(scope: Construct, props: RegionalStackProps) {
    const { environment: env, region } = props;
    super(scope, stackName(env.name, region));
    const local = env.local === true ? localProviderSettings() : {};
    if (env.local === true) synthLocalAwsConfig(this, props.localEndpoint ?? DEFAULT_LOCAL_ENDPOINT);

    new AwsProvider(this, "aws", {
      ...local,
      region,
      // Refuse to touch any other account, whatever credentials the caller has.
      // Refuse any other account, local ones too: a local AWS answers GetCallerIdentity with the
      // account the credentials act in (its default, or the one of an assumed role).
      allowedAccountIds: [env.accountId],
      assumeRole: env.assumeRoleArn ? [{ roleArn: env.assumeRoleArn, sessionName: "cdktf-codebuild-docker" }] : undefined,
      defaultTags: [
        {
          tags: {
            ...env.tags,
            Environment: env.name,
            ManagedBy: "cdktf",
            Stack: stackName(env.name, region),
          },
        },
      ],
    });

    const backend = new S3Backend(this, {
      bucket: env.state.bucket,
      key: stateKey(env, region),
      region: env.state.region ?? env.regions[0],
      encrypt: true,
      kmsKeyId: env.state.kmsKeyArn,
      dynamodbTable: env.state.dynamodbTable,
      assumeRole: env.state.roleArn ? { roleArn: env.state.roleArn, sessionName: "cdktf-state" } : undefined,
      ...(env.local === true ? localBackendSettings(props.localEndpoint ?? DEFAULT_LOCAL_ENDPOINT) : {}),
    });
    // Terraform 1.10+ native S3 locking; cdktf 0.21's S3Backend has no typed field for it.
    backend.addOverride("use_lockfile", true);
    // Every resource of the stack is checked at synth (secure defaults, least privilege, state).
    PolicyPack.applyTo(this);

    // Every construct validates its own props; collect them all so one synth reports every problem.
    const problems: PropValidationError[] = [];
    const collect = <T>(create: () => T): T | undefined => {
      try {
        return create();
      } catch (e) {
        if (!(e instanceof PropValidationError)) throw e;
        problems.push(e);
        return undefined;
      }
    };

    const organization = props.organization ?? [env];
    replicationDestinationPolicy(this, env, region, organization);
    if (env.pullFrom !== undefined && region === env.regions[0]) pullRoles(this, env, organization);

    // A registry setting: one per account and region, so one in each stack of the environment.
    const scanning = env.registryScanning;
    if (scanning !== undefined) {
      this.registryScanning = collect(
        () =>
          new EcrRegistryScanning(this, CONSTRUCT_IDS.registryScanning, registryScanningProps(scanning)),
      );
    }

    const build = env.build;
    if (build === undefined) {
      if (problems.length) throw combinedPropValidationError(problems);
      return;
    }
    const repository = collect(
      () =>
        new EcrRepo(this, CONSTRUCT_IDS.repository, repositoryProps(build)),
    );
    // The projects need the repository; without it there is nothing more to check.
    if (repository === undefined) throw combinedPropValidationError(problems);
    this.repository = repository;
    grantConsumers(this, repository, env, organization);
    new TerraformOutput(this, "repository_url", {
      value: repository.repositoryUrl,
      description: "URL of the ECR repository (docker push target)",
    });
    new TerraformOutput(this, "repository_arn", {
      value: repository.repositoryArn,
      description: "ARN of the ECR repository",
    });
    // A replica region holds the repository and receives the images; it builds nothing.
    if ((build.replicaRegions ?? []).includes(region)) {
      if (problems.length) throw combinedPropValidationError(problems);
      return;
    }
    replication(this, env, organization);

    // The owner's pull-through cache: the dind image and the Dockerfile's base images come through it.
    const ptc = build.pullThroughCache;
    const cache =
      ptc === undefined
        ? undefined
        : collect(
            () =>
              new EcrPullThroughCache(this, CONSTRUCT_IDS.pullThroughCache, pullThroughCacheProps(ptc)),
          );
    const wantedBaseImages = ptc?.baseImages;
    const baseImages = cache !== undefined && wantedBaseImages !== undefined ? collect(() => cache.buildArgs(wantedBaseImages)) : undefined;
    const baseUpstreams = [...new Set(Object.values(ptc?.baseImages ?? {}).map((ref) => cache?.upstreamOf(ref)))].filter((u): u is PullThroughUpstream => u !== undefined);
    const withBaseImages = <P extends CodeBuildDockerProjectProps>(p: P): P =>
      baseImages === undefined ? p : { ...p, environmentVariables: { ...p.environmentVariables, ...baseImages } };

    const privileged = collect(
      () =>
        new CodeBuildPrivilegedProject(this, CONSTRUCT_IDS.privilegedProject, withBaseImages({ ...privilegedProjectProps(build), repository })),
    );
    const dind = collect(
      () =>
        new CodeBuildDindProject(
          this,
          CONSTRUCT_IDS.dindProject,
          withBaseImages({ ...dindProjectProps(build), repository, pullThroughCache: ptc?.dindImage === false ? undefined : cache }),
        ),
    );
    if (privileged === undefined || dind === undefined || problems.length) throw combinedPropValidationError(problems);
    if (cache !== undefined && baseUpstreams.length > 0) {
      for (const project of [privileged, dind]) {
        for (const role of [project.role, project.pullRequestRole]) if (role) cache.grantPullThrough(role, baseUpstreams);
      }
    }
    this.pullThroughCache = cache;
    this.privilegedProject = privileged;
    this.dindProject = dind;
    this.projectOutputs("privileged", "privileged (managed image)", privileged);
    this.projectOutputs("dind", "docker:dind", dind);
  }

  private projectOutputs(prefix: string, label: string, project: CodeBuildDockerProject): void {
    new TerraformOutput(this, `${prefix}_project_name`, {
      value: project.projectName,
      description: `Name of the ${label} CodeBuild project`,
    });
    new TerraformOutput(this, `${prefix}_project_arn`, {
      value: project.projectArn,
      description: `ARN of the ${label} CodeBuild project`,
    });
    new TerraformOutput(this, `${prefix}_role_arn`, {
      value: project.role.roleArn,
      description: `ARN of the service role of the ${label} CodeBuild project`,
    });
    if (project.badgeUrl !== undefined) {
      new TerraformOutput(this, `${prefix}_badge_url`, {
        value: project.badgeUrl,
        description: `Build badge URL of the ${label} CodeBuild project`,
      });
    }
  }
}
