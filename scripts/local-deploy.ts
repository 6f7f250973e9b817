import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CodeBuildClient, BatchGetProjectsCommand } from "@aws-sdk/client-codebuild";
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { CreateBucketCommand, PutObjectCommand, S3Client, type BucketLocationConstraint } from "@aws-sdk/client-s3";
import { EnvironmentConfig, loadConfigFile, selectEnvironments } from "../config/environments";
import { stackName } from "../stacks/regional-stack";
import { clientConfig, localAwsEnv } from "./aws-clients";
import { terraformEnv } from "./terraform-env";
import { terraformOk } from "./terraform";

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
  /** Comma-separated names of local environments. @default "local" */
  readonly environments?: string;
}

/** The local environments selected, each of which must be marked `"local": true`. */
export function selectLocalEnvironments(opts: Pick<LocalDeployOptions, "root" | "configFile" | "environments">): EnvironmentConfig[] {
  const file = opts.configFile ?? path.join("config", "environments.json");
  const envs = selectEnvironments(loadConfigFile(path.resolve(opts.root, file)), opts.environments ?? "local", file);
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
      ENVIRONMENTS: opts.environments ?? "local",
      CDKTF_OUTDIR: opts.outdir,
      ...(opts.configFile ? { CONFIG_FILE: opts.configFile } : {}),
    },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`synth failed:\n${result.stderr.trim()}`);
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

async function createBucket(s3: S3Client, bucket: string, region: string): Promise<void> {
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: region === "us-east-1" ? undefined : { LocationConstraint: region as BucketLocationConstraint },
      }),
    );
  } catch (e) {
    const name = (e as Error).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw e;
  }
}

/**
 * Creates what must exist before Terraform runs: the state bucket and (if configured) the lock
 * table of each environment, and the S3 source buckets the projects read, with the source bundle.
 * Idempotent.
 */
export async function bootstrap(opts: LocalDeployOptions, envs: EnvironmentConfig[]): Promise<void> {
  let bundle: Buffer | undefined;
  for (const env of envs) {
    const stateRegion = env.state.region ?? env.regions[0];
    const s3 = new S3Client(clientConfig({ region: stateRegion, endpoint: opts.endpoint }));
    await createBucket(s3, env.state.bucket, stateRegion);
    if (env.state.dynamodbTable) {
      const ddb = new DynamoDBClient(clientConfig({ region: stateRegion, endpoint: opts.endpoint }));
      try {
        await ddb.send(
          new CreateTableCommand({
            TableName: env.state.dynamodbTable,
            KeySchema: [{ AttributeName: "LockID", KeyType: "HASH" }],
            AttributeDefinitions: [{ AttributeName: "LockID", AttributeType: "S" }],
            BillingMode: "PAY_PER_REQUEST",
          }),
        );
      } catch (e) {
        if (!(e instanceof ResourceInUseException)) throw e;
      }
    }
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

/** `terraform init` and `terraform apply` of one stack; returns its outputs. */
export async function deployStack(opts: LocalDeployOptions, stack: LocalStack): Promise<StackResult> {
  const env = localTerraformEnv(opts, stack.region);
  const init = await terraformOk(["init", "-input=false", "-no-color"], stack.dir, env);
  const apply = await terraformOk(["apply", "-auto-approve", "-input=false", "-no-color"], stack.dir, env);
  return { stack, outputs: await readOutputs(opts, stack), initSeconds: init.seconds, applySeconds: apply.seconds };
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
  const target = { region: result.stack.region, endpoint: opts.endpoint };
  const names = [result.outputs.privileged_project_name, result.outputs.dind_project_name].filter((n): n is string => n !== undefined);
  let projects: Verification["projects"] = [];
  if (names.length) {
    const cb = await new CodeBuildClient(clientConfig(target)).send(new BatchGetProjectsCommand({ names }));
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
  const ecr = await new ECRClient(clientConfig(target)).send(new DescribeRepositoriesCommand({ repositoryNames: [repoName] }));
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
