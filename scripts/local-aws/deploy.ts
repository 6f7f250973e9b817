/**
 * What the local AWS needs besides the deploy itself, and the helpers its commands and tests use:
 * the local environments of the config, their stacks, the S3 source bundle the local projects
 * read (moto's CodeBuild requires a source location even for NO_SOURCE, which Terraform forbids),
 * and the outputs of a deployed stack.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { EnvironmentConfig, configFilePath, loadConfigFile, selectEnvironments } from "../../config/environments";
import { stackName } from "../../stacks/regional-stack";
import { clientConfig, localAwsEnv } from "./clients";
import { terraformEnv } from "../terraform/env";
import { terraformOk } from "../terraform/run";
import { createBucket } from "../recovery/state-bucket";
import { ensureLocalState } from "../plan-review/synth";
import type { LocalStack } from "./read-back";

export { describeScanning, scanningDifference, verify, verifyTopology, type AccountReport, type LocalStack, type StackResult, type Verification } from "./read-back";

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

/** The environments file of `opts`, absolute. */
function configFileOf(opts: Pick<LocalDeployOptions, "root" | "configFile">): string {
  return path.resolve(opts.root, configFilePath(opts.configFile === undefined ? {} : { CONFIG_FILE: opts.configFile }));
}

/**
 * The local environments selected (`environments`, comma-separated; unset: every
 * environment of the file marked `"local": true`; set but empty: an error), each of which must be local.
 */
export function selectLocalEnvironments(opts: Pick<LocalDeployOptions, "root" | "configFile" | "environments">): EnvironmentConfig[] {
  const file = configFilePath(opts.configFile === undefined ? {} : { CONFIG_FILE: opts.configFile });
  const all = loadConfigFile(configFileOf(opts));
  // Unset selects every local environment; set but empty is an error (selectEnvironments says so).
  const selection = opts.environments !== undefined ? opts.environments : all.filter((e) => e.local === true).map((e) => e.name).join(",") || undefined;
  const envs = selectEnvironments(all, selection, file);
  refuseRealEnvironments(envs);
  return envs;
}

/** Throws when a selected environment is not local: the local AWS deploys local ones only. */
export function refuseRealEnvironments(envs: readonly EnvironmentConfig[]): void {
  const real = envs.filter((e) => e.local !== true);
  if (real.length) {
    throw new Error(
      `environment(s) ${real.map((e) => JSON.stringify(e.name)).join(", ")} are not local ("local": true): ` +
        "the local deploy only targets the embedded local AWS; deploy real accounts with `cdktf deploy` or terraform",
    );
  }
}

/** Every environment of the config file (the organization the selected ones belong to). */
export function organizationOf(opts: Pick<LocalDeployOptions, "root" | "configFile">): EnvironmentConfig[] {
  return loadConfigFile(configFileOf(opts));
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
 * Creates what must exist in the local AWS before Terraform runs: the state bucket and (if
 * configured) the lock table of each environment (as every deploy does, see
 * scripts/plan-review/synth.ts), and the S3 source buckets the projects read, with the source
 * bundle. Idempotent.
 */
export async function bootstrap(opts: LocalDeployOptions, envs: EnvironmentConfig[]): Promise<void> {
  await ensureLocalState(envs, opts.endpoint);
  let bundle: Buffer | undefined;
  for (const env of envs) {
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

/** The outputs of a deployed stack, as strings. */
export async function readOutputs(opts: LocalDeployOptions, stack: LocalStack): Promise<Record<string, string>> {
  const out = await terraformOk(["output", "-json"], stack.dir, localTerraformEnv(opts, stack.region));
  const parsed = JSON.parse(out.stdout) as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v.value)]));
}
