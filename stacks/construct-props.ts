/**
 * The props of the constructs of a RegionalStack, from an environment of the config: one mapping,
 * used by the stack to build them and by the config's check to run their prop checks on every
 * environment of the file without a synth. The ids are the constructs' ids in the stack, which
 * stacks/config-paths.ts maps to config fields.
 */
import type { BuildConfig, EnvironmentConfig, ProjectConfig, PullThroughCacheConfig, RegistryScanningConfig, TriggersConfig } from "../config/environments";
import type { EcrRepoProps } from "../modules/ecr-repo";
import type { EcrRegistryScanningProps } from "../modules/ecr-registry-scanning";
import type { EcrPullThroughCacheProps } from "../modules/ecr-pull-through-cache";
import type { DockerProjectPropsToCheck } from "../modules/codebuild-project/codebuild-docker-project";
import type { PrivilegedProjectPropsToCheck } from "../modules/codebuild-privileged-project/privileged-environment";
import type { DindProjectPropsToCheck } from "../modules/codebuild-dind-project/dind-environment";
import type { ProjectTriggers } from "../modules/shared/triggers";

/** The ids of the constructs of a RegionalStack built from the config. */
export const CONSTRUCT_IDS = {
  repository: "Repository",
  privilegedProject: "PrivilegedProject",
  dindProject: "DindProject",
  pullThroughCache: "PullThroughCache",
  registryScanning: "RegistryScanning",
} as const;

/** The registry scanning configuration's props. */
export function registryScanningProps(scanning: RegistryScanningConfig): EcrRegistryScanningProps {
  return { scanType: scanning.scanType, rules: scanning.rules };
}

/** The repository's props: its config fields are the construct's props by name. */
export function repositoryProps(build: BuildConfig): EcrRepoProps {
  return { repositoryName: build.repositoryName, ...build.repository };
}

/** The pull-through cache's props. */
export function pullThroughCacheProps(cache: PullThroughCacheConfig): EcrPullThroughCacheProps {
  return { rules: cache.rules };
}

/** The privileged project's props, but the repository (and the cache's build args) the stack adds. */
export function privilegedProjectProps(build: BuildConfig): PrivilegedProjectPropsToCheck {
  return {
    ...projectProps(build.privilegedProject),
    image: build.privilegedProject.image,
    multiArch: build.platforms === undefined ? undefined : { platforms: build.platforms },
  };
}

/** The dind project's props, but the repository, the cache and its build args, which the stack adds. */
export function dindProjectProps(build: BuildConfig): DindProjectPropsToCheck {
  return {
    ...projectProps(build.dindProject),
    image: build.dindProject.image,
    registryCredentialSecretArn: build.dindProject.registryCredentialSecretArn,
  };
}

/** The regions of an environment that build (not a replica region): where the projects and the cache are. */
export function buildingRegions(env: EnvironmentConfig): string[] {
  return env.regions.filter((r) => !(env.build?.replicaRegions ?? []).includes(r));
}

/** The construct props of a project, field by field from its config. */
function projectProps(cfg: ProjectConfig): DockerProjectPropsToCheck {
  return {
    projectName: cfg.projectName,
    imageTag: cfg.imageTag,
    dockerfile: cfg.dockerfile,
    buildContext: cfg.buildContext,
    computeType: cfg.computeType,
    buildTimeoutMinutes: cfg.buildTimeoutMinutes,
    queuedTimeoutMinutes: cfg.queuedTimeoutMinutes,
    logRetentionDays: cfg.logRetentionDays,
    concurrentBuildLimit: cfg.concurrentBuildLimit,
    badge: cfg.badge,
    source: cfg.source,
    triggers: cfg.triggers === undefined ? undefined : triggerProps(cfg.triggers),
    environmentVariables: cfg.environmentVariables,
  };
}

/** The construct's triggers: `pushBuilds: false` / `pullRequestBuilds: false` are its `false` groups. */
function triggerProps(cfg: TriggersConfig): ProjectTriggers {
  return {
    branch: cfg.branch,
    push: cfg.pushBuilds === false ? false : cfg.push,
    pullRequest: cfg.pullRequestBuilds === false ? false : cfg.pullRequest,
    pullRequestProjectName: cfg.pullRequestProjectName,
  };
}
