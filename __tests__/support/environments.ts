import * as fs from "fs";
import * as path from "path";
import type { EnvironmentConfig } from "../../config/environments";
import { EnvironmentVariableType } from "../../modules/codebuild-project/codebuild-docker-project";

/** The shipped config file's raw content. */
export function shippedConfig(): any {
  return JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "config", "environments.json"), "utf8"));
}

/**
 * The shipped `local` environment, as validated config: the owner of the local organization, so
 * it has `replicaRegions` (its us-east-1 stack holds a replica and no projects) and
 * `replicateToEnvironments`.
 */
export function localEnvironment(): EnvironmentConfig {
  return { ...shippedConfig().environments.local, name: "local" };
}

/**
 * The shipped `local` environment as raw JSON, made the single-account environment it was before
 * the organization: no replica regions and no replication to other accounts, so each of its
 * regions holds the repository and both projects; and no registry scanning configuration (an
 * account-wide setting the organization's tests cover), so its stacks hold what they held before.
 */
export function singleAccountLocal(): any {
  const local = structuredClone(shippedConfig().environments.local);
  delete local.build.replicaRegions;
  delete local.build.replicateToEnvironments;
  delete local.registryScanning;
  return local;
}

/**
 * Writes an environments file that holds only {@link singleAccountLocal} (as `local`) into `dir`,
 * for tests whose subject is a single-account deploy; returns its path.
 * @param regions the environment's regions @default - the shipped ones (eu-central-1, us-east-1)
 */
export function writeSingleAccountConfig(dir: string, regions?: string[]): string {
  const file = path.join(dir, "single-account-environments.json");
  const local = { ...singleAccountLocal(), ...(regions ? { regions } : {}) };
  fs.writeFileSync(file, JSON.stringify({ environments: { local } }, null, 2));
  return file;
}

/** The names of the shipped environments marked `"local": true`, in file order: what an unset ENVIRONMENTS selects. */
export function shippedLocalEnvironments(): string[] {
  return Object.entries<any>(shippedConfig().environments)
    .filter(([, e]) => e.local === true)
    .map(([name]) => name);
}

/** The stacks `<env>-<region>` of the shipped local environments, in file order. */
export function shippedLocalStacks(): string[] {
  const envs = shippedConfig().environments;
  return shippedLocalEnvironments().flatMap((name) => (envs[name].regions as string[]).map((r) => `${name}-${r}`));
}

/** A real-account environment with every optional field set. */
export function prodEnvironment(): EnvironmentConfig {
  return {
    name: "prod",
    accountId: "111111111111",
    regions: ["eu-west-1", "us-west-2"],
    assumeRoleArn: "arn:aws:iam::111111111111:role/deployer",
    state: {
      bucket: "acme-tfstate",
      region: "eu-central-1",
      keyPrefix: "platform",
      dynamodbTable: "tf-locks",
      kmsKeyArn: "arn:aws:kms:eu-central-1:999999999999:key/abcd",
      roleArn: "arn:aws:iam::999999999999:role/state-access",
    },
    tags: { CostCenter: "42" },
    build: {
      repositoryName: "acme/app",
      repository: { keepTaggedImages: 100, pullAccountIds: ["222222222222"] },
      privilegedProject: {
        projectName: "acme-app",
        imageTag: "release",
        badge: true,
        source: { type: "GITHUB", location: "https://github.com/acme/app.git", branch: "main" },
        environmentVariables: { API_TOKEN: { value: "/acme/api-token", type: EnvironmentVariableType.PARAMETER_STORE } },
      },
      dindProject: {
        projectName: "acme-app-dind",
        registryCredentialSecretArn: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:dockerhub-AbCdEf",
      },
    },
  };
}

/**
 * An organization: `tools` owns the pipeline (builds in eu-west-1, replicates to us-west-2 of
 * its own account and to `prod`'s regions), `staging` and `prod` pull from it.
 */
export function organization(): EnvironmentConfig[] {
  const tools = prodEnvironment();
  const base = (name: string, accountId: string, regions: string[]): EnvironmentConfig => ({
    name,
    accountId,
    regions,
    assumeRoleArn: `arn:aws:iam::${accountId}:role/deployer`,
    state: { bucket: "acme-tfstate", region: "eu-central-1" },
    pullFrom: "tools",
  });
  return [
    {
      ...tools,
      name: "tools",
      build: { ...tools.build!, repository: { keepTaggedImages: 100 }, replicaRegions: ["us-west-2"], replicateToEnvironments: ["prod"] },
    },
    base("staging", "333333333333", ["eu-west-1"]),
    base("prod", "444444444444", ["eu-west-1", "eu-central-1"]),
  ];
}

/** Writes the shipped config with fixed IMAGE_TAGs on its IMMUTABLE repository (each warns at synth); returns its path. */
export function writeFixedTagConfig(dir: string): string {
  const config = shippedConfig();
  config.environments.local.build.privilegedProject.imageTag = "latest";
  config.environments.local.build.dindProject.imageTag = "dind-latest";
  const file = path.join(dir, "fixed-tag-environments.json");
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** The synth warning about a fixed tag on an IMMUTABLE repository. */
export const fixedTagWarning = (tag: string) =>
  `IMAGE_TAG "${tag}" is pushed on every build, but the repository's tags are IMMUTABLE: only the first build can push it. ` +
  "Leave imageTag unset (each build pushes a tag of its own), or set the repository's tagMutability to MUTABLE on purpose.";
