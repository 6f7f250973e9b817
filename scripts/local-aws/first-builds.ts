/**
 * The first build of each deployed project (`npm start`): StartBuild on the local AWS, which runs
 * the project as deployed and pushes the image to the account's ECR there; then where the image is
 * (account, region, repository, tag, digest) and where replication put it, read back through ECR.
 */
import { spawn } from "child_process";
import * as path from "path";
import { BatchGetBuildsCommand, BatchGetProjectsCommand, CodeBuildClient, StartBuildCommand, type Build } from "@aws-sdk/client-codebuild";
import { DescribeImagesCommand, ECRClient } from "@aws-sdk/client-ecr";
import type { EnvironmentConfig } from "../../config/environments";
import { awsConfig } from "../recovery/account";

/**
 * The base images of the local builds: the local AWS reaches no network, so the Dockerfile's build
 * stage runs on the Go builder that scripts/image/build-image.sh makes with debootstrap, and the
 * runtime stage is scratch (the Dockerfile carries CA bundle and passwd over). Given to StartBuild
 * as variable overrides, as a team points its builds at a mirror; a project that sets its own
 * BUILDER_IMAGE or RUNTIME_IMAGE keeps it.
 */
export const LOCAL_BASE_IMAGES: Readonly<Record<string, string>> = { BUILDER_IMAGE: "localhost/go-builder:bookworm", RUNTIME_IMAGE: "scratch" };

/** A deployed project to build once. */
export interface ProjectToBuild {
  readonly name: string;
  readonly environment: EnvironmentConfig;
  readonly region: string;
}

/** How the first build of a project ended, and the image it pushed. */
export interface FirstBuild {
  readonly project: ProjectToBuild;
  readonly id: string;
  readonly status: string;
  readonly seconds: number;
  /** The failed phase and its reason, when the build did not succeed. */
  readonly failure?: string;
  readonly logs: { group: string; stream: string };
  /** The image it pushed (its own tag), as ECR lists it in the project's account and region. */
  readonly image?: { registry: string; region: string; repository: string; tag: string; digest: string; uri: string };
  /** Where else ECR lists that tag (replication): "<account> <region>" each. */
  readonly replicas: readonly string[];
}

/**
 * Makes this machine ready for the builds, with progress: the tools (installed with apt-get as
 * root, else one line with the install command) and the Go builder base, made once with
 * debootstrap and kept (scripts/image/build-image.sh --builder-only).
 */
export async function prepareBuilds(root: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  await script("bash", [path.join(root, "scripts", "setup", "build-prerequisites.sh")], root, env, log);
  await script("bash", [path.join(root, "scripts", "image", "build-image.sh"), "--builder-only"], root, env, log);
}

/** Runs a script, its output (both streams) shown line by line, indented; an error with its last lines when it fails. */
function script(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    let rest = "";
    const take = (d: Buffer) => {
      const parts = (rest + d.toString()).split("\n");
      rest = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        log(`  ${l}\n`);
      }
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", reject);
    child.on("close", (code) => {
      if (rest) take(Buffer.from("\n"));
      if (code === 0) resolve();
      else reject(new Error(lines.filter((l) => l.startsWith("error:")).pop() ?? `${path.basename(args[0])} failed (exit ${code}): ${lines.slice(-3).join(" | ")}`));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Client settings in a project's account and region (the environment's role assumed where it has one). */
const settings = (endpoint: string, env: EnvironmentConfig, region: string) => awsConfig({ region, endpoint, roleArn: env.assumeRoleArn, session: "npm-start-build" });

/**
 * Starts the first build of every project at once, shows each phase as it begins (and every 10 s
 * the phase under way), waits for all, and reads back the image each pushed and its replicas in
 * `organization`'s accounts and regions.
 */
export async function runFirstBuilds(endpoint: string, projects: readonly ProjectToBuild[], organization: readonly EnvironmentConfig[], log: (line: string) => void): Promise<FirstBuild[]> {
  return Promise.all(
    projects.map(async (project) => {
      const cb = new CodeBuildClient(await settings(endpoint, project.environment, project.region));
      const [definition] = (await cb.send(new BatchGetProjectsCommand({ names: [project.name] }))).projects ?? [];
      if (!definition) throw new Error(`CodeBuild does not know ${project.name} in ${project.environment.accountId} ${project.region}`);
      const variables = definition.environment?.environmentVariables ?? [];
      const own = new Set(variables.map((v) => v.name));
      const overrides = Object.entries(LOCAL_BASE_IMAGES)
        .filter(([name]) => !own.has(name))
        .map(([name, value]) => ({ name, value, type: "PLAINTEXT" as const }));
      const started = (await cb.send(new StartBuildCommand({ projectName: project.name, environmentVariablesOverride: overrides }))).build!;
      const begun = Date.now();
      log(`  ${project.name} (${project.environment.accountId} ${project.region}): build ${started.buildNumber} started, ${started.id}\n`);
      let build: Build = started;
      let phase = "";
      let shown = Date.now();
      while (!build.buildComplete) {
        await sleep(1000);
        [build] = (await cb.send(new BatchGetBuildsCommand({ ids: [started.id!] }))).builds ?? [build];
        const now = build.currentPhase ?? "";
        if (now !== phase || Date.now() - shown >= 10_000) {
          log(`  ${project.name}: ${now === phase ? "still in " : ""}${now} (${Math.round((Date.now() - begun) / 1000)} s)\n`);
          phase = now;
          shown = Date.now();
        }
      }
      const seconds = (Date.now() - begun) / 1000;
      const logs = { group: build.logs?.groupName ?? "", stream: build.logs?.streamName ?? "" };
      if (build.buildStatus !== "SUCCEEDED") {
        const failed = (build.phases ?? []).find((p) => p.phaseStatus !== undefined && p.phaseStatus !== "SUCCEEDED");
        const failure = failed ? `${failed.phaseType}: ${(failed.contexts ?? []).map((c) => `${c.statusCode}: ${c.message}`).join("; ")}` : "no phase says why";
        return { project, id: build.id!, status: build.buildStatus ?? "UNKNOWN", seconds, failure, logs, replicas: [] };
      }
      const value = (name: string) => variables.find((v) => v.name === name)?.value;
      const repository = value("IMAGE_REPO_NAME");
      const registry = value("AWS_ACCOUNT_ID") ?? project.environment.accountId;
      const region = value("AWS_DEFAULT_REGION") ?? project.region;
      if (!repository) return { project, id: build.id!, status: build.buildStatus, seconds, logs, replicas: [] };
      // The build's own tag ends in -<build number>-<first 8 characters of the build ID> (buildspecs/scripts/ecr-image.sh).
      const suffix = `-${build.buildNumber}-${build.id!.split(":")[1].replace(/[^0-9a-zA-Z]/g, "").slice(0, 8)}`;
      const owner = new ECRClient(await settings(endpoint, project.environment, region));
      const details = (await owner.send(new DescribeImagesCommand({ repositoryName: repository, registryId: registry }))).imageDetails ?? [];
      const pushed = details.find((d) => (d.imageTags ?? []).some((t) => t.endsWith(suffix)));
      if (!pushed) return { project, id: build.id!, status: "FAILED", seconds, failure: `the build succeeded, but ECR lists no image tagged *${suffix} in ${repository}`, logs, replicas: [] };
      const tag = pushed.imageTags!.find((t) => t.endsWith(suffix))!;
      const image = { registry, region, repository, tag, digest: pushed.imageDigest!, uri: `${registry}.dkr.ecr.${region}.amazonaws.com/${repository}:${tag}` };
      return { project, id: build.id!, status: build.buildStatus, seconds, logs, image, replicas: await replicasOf(endpoint, image, organization) };
    }),
  );
}

/** Where else ECR lists the image's tag with the same digest: each account and region of the organization but the image's own. */
async function replicasOf(endpoint: string, image: NonNullable<FirstBuild["image"]>, organization: readonly EnvironmentConfig[]): Promise<string[]> {
  const places = organization.flatMap((env) => env.regions.map((region) => ({ env, region }))).filter((p) => !(p.env.accountId === image.registry && p.region === image.region));
  const found = await Promise.all(
    places.map(async ({ env, region }) => {
      try {
        const ecr = new ECRClient(await settings(endpoint, env, region));
        const { imageDetails } = await ecr.send(new DescribeImagesCommand({ repositoryName: image.repository, imageIds: [{ imageTag: image.tag }] }));
        return imageDetails?.some((d) => d.imageDigest === image.digest) ? `${env.accountId} ${region}` : undefined;
      } catch {
        return undefined; // no such repository or image there
      }
    }),
  );
  return found.filter((p): p is string => p !== undefined);
}

/** The report of the builds: one block per project, with the image, its replicas and the log. */
export function describeBuilds(builds: readonly FirstBuild[]): string[] {
  const lines: string[] = [];
  for (const b of builds) {
    lines.push(`  ${b.project.name} (${b.project.environment.accountId} ${b.project.region}): ${b.status} in ${b.seconds.toFixed(1)} s`);
    if (b.failure) lines.push(`    failed     ${b.failure}`);
    if (b.image) {
      lines.push(`    image      ${b.image.uri}`);
      lines.push(`    digest     ${b.image.digest}`);
      lines.push(`    replicas   ${b.replicas.length ? b.replicas.join(", ") : "none"}`);
    }
    lines.push(`    log        aws logs get-log-events --log-group-name ${b.logs.group} --log-stream-name ${b.logs.stream}`);
  }
  return lines;
}

/**
 * How to pull an image the local AWS holds, with podman: the local AWS as HTTP proxy and its
 * registries.conf (each account's ECR host an HTTP registry), a login with a token of
 * get-login-password. Printed by npm start -- --keep-running; the organization test runs them.
 */
export function pullInstructions(endpoint: string, image: NonNullable<FirstBuild["image"]>): string[] {
  return [
    `curl -s ${endpoint}/_local_aws/registries.conf > registries.conf`,
    `export CONTAINERS_REGISTRIES_CONF=$PWD/registries.conf HTTP_PROXY=${endpoint}`,
    `aws ecr get-login-password --region ${image.region} | podman login --username AWS --password-stdin ${image.uri.split("/")[0]}`,
    `podman pull ${image.uri}`,
  ];
}
