import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { parse } from "yaml";
import { runBuildspec, type BuildResult } from "../../../scripts/build-runner/runner";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { CodeBuildPrivilegedProject } from "../../../modules/codebuild-privileged-project";
import { EcrRepo } from "../../../modules/ecr-repo";
import { ROOT, tempDir } from "../../support/app";
import { terraformUnescaped } from "../../support/buildspecs";
import { BUILDER_IMAGE, containerEnv, ensureBuilderImage, IMAGE_BUILD_TOOLS, podman, requireTools, testStorage } from "../../support/containers";
import { newStack, only, synthJson } from "../../support/synth";

/**
 * The multi-arch batch buildspec (docker-push-ecr-multiarch.yml) as CodeBuildPrivilegedProject's
 * multiArch inlines it, run for real: each build of its build graph in the order of its
 * dependencies (build_amd64, build_arm64, then manifest), each with its node's variables and its
 * identifier (CODEBUILD_BATCH_BUILD_IDENTIFIER), phase by phase through the build runner, on a
 * source holding only the app of docker/. moto has no batch builds; the stand-ins are those of
 * buildspecs-run.test.ts: podman for `docker` (with `docker manifest create/push` mapped to
 * `podman manifest`), moto for the ECR API, a local docker-registry for the registry, and an
 * `aws` that answers `codebuild batch-get-builds` with the batch's ARN (what CodeBuild returns
 * for a build of a batch). The arm64 image is cross-compiled (docker/Dockerfile's builder stage
 * runs on the build platform): no emulation, on any machine.
 */
jest.setTimeout(20 * 60_000);

requireTools(["docker-registry", "aws", "git", "skopeo", ...IMAGE_BUILD_TOOLS]);

const REPO = "codebuild-sample/multiarch";
const SOURCE_DATE = "2024-01-01T00:00:00Z";
/** The batch build every build of this run belongs to. */
const BATCH_ID = randomUUID();
const BATCH_ARN = `arn:aws:codebuild:eu-central-1:123456789012:build-batch/build-app:${BATCH_ID}`;

let aws: LocalAws;
let registry: ChildProcess;
let registryHost: string;
let work: string;
let shim: string;
let lookups: string;
let srcDir: string;
let commit: string;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function writeExecutable(file: string, body: string): void {
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`);
  fs.chmodSync(file, 0o755);
}

/** A git work tree holding the app of docker/ at its root, nothing else. */
function makeSource(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(ROOT, "docker"), dir, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=ci", "-c", "user.email=ci@example.com", ...args], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, GIT_AUTHOR_DATE: SOURCE_DATE, GIT_COMMITTER_DATE: SOURCE_DATE },
    }).trim();
  git("init", "-q");
  git("add", ".");
  git("commit", "-qm", "source");
  return git("rev-parse", "HEAD");
}

/** What skopeo reads from the local registry: the raw manifest (list) of a tag, or its config. */
function skopeo(args: string[]): any {
  return JSON.parse(execFileSync("skopeo", [...args, "--tls-verify=false"], { encoding: "utf8" }));
}
const rawManifest = (tag: string) => skopeo(["inspect", "--raw", `docker://${registryHost}/${REPO}:${tag}`]);
const imageConfig = (tag: string) => skopeo(["inspect", `docker://${registryHost}/${REPO}:${tag}`]);

/** What the registry says a tag points to. */
async function digestOf(tag: string): Promise<string | null> {
  const res = await fetch(`http://${registryHost}/v2/${REPO}/manifests/${tag}`, {
    method: "HEAD",
    headers: {
      Accept: [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
      ].join(", "),
    },
  });
  return res.ok ? res.headers.get("docker-content-digest") : null;
}

/** What the project synthesizes: its inline buildspec and its environment variables, as AWS receives them. */
function synthesizedProject(): { buildspec: string; env: Record<string, string> } {
  const stack = newStack();
  const repository = new EcrRepo(stack, "Repo", { repositoryName: REPO });
  new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository, imageTag: "latest", multiArch: { platforms: ["linux/amd64", "linux/arm64"] } });
  const cb = only(synthJson(stack), "aws_codebuild_project");
  const value = (name: string): string => terraformUnescaped(cb.environment.environment_variable.find((v: any) => v.name === name).value);
  // The region, account and repository name are Terraform expressions until apply: their local stand-ins.
  const env = { AWS_DEFAULT_REGION: "eu-central-1", AWS_ACCOUNT_ID: "123456789012", IMAGE_REPO_NAME: REPO, IMAGE_TAG: value("IMAGE_TAG"), DOCKERFILE: value("DOCKERFILE"), DOCKER_BUILD_CONTEXT: value("DOCKER_BUILD_CONTEXT") };
  return { buildspec: terraformUnescaped(cb.source.buildspec), env };
}

interface GraphBuild {
  identifier: string;
  "depend-on"?: string[];
  env: { type: string; image: string; "privileged-mode": boolean; variables: Record<string, string> };
}

/** The builds of the buildspec's build graph in an order that runs every build after those it depends on. */
function inDependencyOrder(graph: GraphBuild[]): GraphBuild[] {
  const done = new Set<string>();
  const order: GraphBuild[] = [];
  while (order.length < graph.length) {
    const next = graph.find((b) => !done.has(b.identifier) && (b["depend-on"] ?? []).every((d) => done.has(d)));
    if (!next) throw new Error(`the build graph has a cycle or a dependency on no build: ${JSON.stringify(graph)}`);
    done.add(next.identifier);
    order.push(next);
  }
  return order;
}

/** Runs one build of the graph on `dir` with the project's variables, its node's, and the local stand-ins. */
function runGraphBuild(project: { buildspec: string; env: Record<string, string> }, node: GraphBuild, dir: string): Promise<BuildResult> {
  return runBuildspec({
    buildspec: project.buildspec,
    srcDir: dir,
    batchBuildIdentifier: node.identifier,
    env: { ...project.env, REGISTRY_HOST: registryHost, BUILDER_IMAGE, RUNTIME_IMAGE: "scratch", ...node.env.variables },
    baseEnv: {
      ...process.env,
      ...containerEnv(),
      PATH: [shim, process.env.PATH].join(":"),
      CONTAINERS_REGISTRIES_CONF: path.join(work, "registries.conf"),
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    },
  });
}

const statuses = (r: BuildResult) => Object.fromEntries(r.phases.map((p) => [p.name, p.status]));
const ok = (r: BuildResult) => ({ succeeded: r.succeeded, phases: statuses(r), tail: r.succeeded ? "" : r.output.slice(-3000) });
const SUCCEEDED = { succeeded: true, phases: { install: "SUCCEEDED", pre_build: "SUCCEEDED", build: "SUCCEEDED", post_build: "SUCCEEDED" }, tail: "" };

beforeAll(async () => {
  ensureBuilderImage();
  work = tempDir("buildspecs-multiarch");
  aws = await startLocalAws();

  const port = await freePort();
  registryHost = `127.0.0.1:${port}`;
  fs.writeFileSync(
    path.join(work, "registry.yml"),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(work, "registry")}\nhttp:\n  addr: ${registryHost}\n`,
  );
  registry = spawn("docker-registry", ["serve", path.join(work, "registry.yml")], { stdio: "ignore", detached: true });
  for (let i = 0; i < 100 && !(await fetch(`http://${registryHost}/v2/`).then((r) => r.ok, () => false)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  fs.writeFileSync(path.join(work, "registries.conf"), `[[registry]]\nlocation = "${registryHost}"\ninsecure = true\n`);

  shim = path.join(work, "bin");
  fs.mkdirSync(shim);
  const podmanCmd = `podman --storage-driver ${testStorage().driver}`;
  // podman-docker's `docker`, with the Docker CLI's `docker manifest create LIST IMAGE...` and
  // `docker manifest push [--purge] LIST` done by podman's manifest commands.
  writeExecutable(
    path.join(shim, "docker"),
    [
      'if [ "${1:-}" = manifest ]; then',
      '  case "${2:-}" in',
      "    create)",
      "      shift 2",
      '      [ "${1:-}" != --amend ] || shift',
      '      list="$1"; shift',
      `      ${podmanCmd} manifest create "$list" >/dev/null || exit 1`,
      // A list left empty by a failed add would break every later `podman images` on the shared storage.
      `      for image in "$@"; do ${podmanCmd} manifest add --tls-verify=false "$list" "docker://$image" >/dev/null || { ${podmanCmd} manifest rm "$list" >/dev/null; exit 1; }; done`,
      '      echo "Created manifest list $list"; exit 0 ;;',
      "    push)",
      "      shift 2",
      '      purge=""; [ "${1:-}" != --purge ] || { purge=1; shift; }',
      `      ${podmanCmd} manifest push --all --tls-verify=false "$1" "docker://$1" || { ${podmanCmd} manifest rm "$1" >/dev/null; exit 1; }`,
      `      [ -z "$purge" ] || ${podmanCmd} manifest rm "$1" >/dev/null; exit 0 ;;`,
      '    *) echo "docker manifest ${2:-}: not mapped to podman by this test" >&2; exit 2 ;;',
      "  esac",
      "fi",
      `exec ${podmanCmd} "$@"`,
    ].join("\n"),
  );
  // CodeBuild answers batch-get-builds of a build of a batch with the batch's ARN; moto has no
  // batch builds. Every other call goes to the real AWS CLI (moto). Each lookup is logged.
  lookups = path.join(work, "batch-lookups.log");
  const realAws = execFileSync("sh", ["-c", "command -v aws"], { encoding: "utf8" }).trim();
  writeExecutable(
    path.join(shim, "aws"),
    [
      'case "$*" in',
      `  "codebuild batch-get-builds --ids $CODEBUILD_BUILD_ID --query builds[0].buildBatchArn --output text")`,
      `    echo "$CODEBUILD_BATCH_BUILD_IDENTIFIER $CODEBUILD_BUILD_ID" >>${lookups}`,
      `    echo "\${FAKE_BATCH_ARN:-${BATCH_ARN}}" ;;`,
      '  codebuild*) echo "unexpected: aws $*" >&2; exit 9 ;;',
      `  *) exec ${realAws} "$@" ;;`,
      "esac",
    ].join("\n"),
  );

  srcDir = path.join(work, "src");
  commit = makeSource(srcDir);
});

afterAll(async () => {
  if (registry?.pid) process.kill(-registry.pid, "SIGTERM");
  await aws?.stop();
  // Untag the images this run built (their names hold its random registry port): the shared
  // storage keeps only the layer cache. By name, not by listing every image of the storage, which
  // other test files change at the same time.
  if (builtTags.length > 0) podman(["rmi", "--ignore", ...builtTags]);
});

/** The image names the builds of this run tagged in the shared storage. */
const builtTags: string[] = [];

/** Whether the shared storage holds an image (or manifest list) of that name. */
function localImageExists(name: string): boolean {
  return spawnSync("podman", ["--storage-driver", testStorage().driver, "image", "exists", name], { env: { ...process.env, ...containerEnv() } }).status === 0;
}

describe("docker-push-ecr-multiarch.yml as multiArch inlines it: the build graph run build by build", () => {
  const project = () => synthesizedProject();
  let order: GraphBuild[];
  const results: Record<string, BuildResult> = {};
  /** The tag every build of the batch shares: <short commit>-<8 characters of the batch ID>. */
  const batchTag = () => `${commit.slice(0, 7)}-${BATCH_ID.replace(/-/g, "").slice(0, 8)}`;

  beforeAll(async () => {
    const p = project();
    order = inDependencyOrder(parse(p.buildspec).batch["build-graph"]);
    for (const arch of ["amd64", "arm64"]) builtTags.push(`${registryHost}/${REPO}:${batchTag()}-${arch}`);
    for (const node of order) {
      results[node.identifier] = await runGraphBuild(p, node, srcDir);
      if (!results[node.identifier].succeeded) break;
    }
  });

  test("runs the architectures' builds first, then the manifest build that depends on them", () => {
    expect(order.map((b) => [b.identifier, b.env.type, b.env.variables])).toEqual([
      ["build_amd64", "LINUX_CONTAINER", { TARGET_PLATFORM: "linux/amd64" }],
      ["build_arm64", "ARM_CONTAINER", { TARGET_PLATFORM: "linux/arm64" }],
      ["manifest", "LINUX_CONTAINER", { MANIFEST_PLATFORMS: "linux/amd64 linux/arm64" }],
    ]);
  });

  test.each(["build_amd64", "build_arm64", "manifest"])("%s runs every phase to success", (id) => {
    expect(results[id] && ok(results[id])).toEqual(SUCCEEDED);
    expect(results[id].output).toContain(`(${id}) of ${REPO}`);
  });

  test("each build looked its batch up once (install), with its own build ID", () => {
    const lines = fs.readFileSync(lookups, "utf8").trim().split("\n");
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["build_amd64", "build_arm64", "manifest"]);
    expect(new Set(lines.map((l) => l.split(" ")[1])).size).toBe(3);
  });

  test("each architecture's build builds for its platform and pushes only <batch tag>-<arch>", async () => {
    for (const arch of ["amd64", "arm64"]) {
      expect(results[`build_${arch}`].output).toContain(`for linux/${arch} with the tag ${batchTag()}-${arch}, from Dockerfile in the context .`);
      expect(imageConfig(`${batchTag()}-${arch}`)).toMatchObject({ Os: "linux", Architecture: arch });
      expect(localImageExists(`${registryHost}/${REPO}:${batchTag()}-${arch}`)).toBe(true);
    }
  });

  test("the manifest list under the batch tag names both platforms, each the image its build pushed", async () => {
    const list = rawManifest(batchTag());
    expect(list.mediaType ?? list.schemaVersion).toMatch(/manifest\.list|image\.index/);
    const entries = list.manifests.map((m: any) => ({ platform: `${m.platform.os}/${m.platform.architecture}`, digest: m.digest }));
    expect(entries.map((e: any) => e.platform).sort()).toEqual(["linux/amd64", "linux/arm64"]);
    for (const e of entries) expect(e.digest).toBe(await digestOf(`${batchTag()}-${e.platform.replace("linux/", "")}`));
  });

  test("IMAGE_TAG (latest) is the same manifest list; no architecture's build pushed it", async () => {
    const latest = rawManifest("latest");
    expect(latest.manifests.map((m: any) => m.digest).sort()).toEqual(rawManifest(batchTag()).manifests.map((m: any) => m.digest).sort());
    for (const arch of ["amd64", "arm64"]) expect(results[`build_${arch}`].output).not.toMatch(new RegExp(`push[^\\n]*${REPO}:latest`));
  });

  test("the manifest build writes imagedefinitions.json with the manifest list's tag", () => {
    expect(JSON.parse(fs.readFileSync(path.join(srcDir, "imagedefinitions.json"), "utf8"))).toEqual([
      { name: "app", imageUri: `${registryHost}/${REPO}:${batchTag()}` },
    ]);
  });

  test("each image holds a binary of its own architecture, cross-compiled on this machine (no emulation ran it)", () => {
    // ELF e_machine (offset 18): 62 is x86-64, 183 is AArch64.
    const machine = { amd64: 62, arm64: 183 };
    for (const arch of ["amd64", "arm64"] as const) {
      const image = `${registryHost}/${REPO}:${batchTag()}-${arch}`;
      const root = podman(["image", "mount", image]);
      try {
        expect(fs.readFileSync(path.join(root, "app")).readUInt16LE(18)).toBe(machine[arch]);
      } finally {
        podman(["image", "unmount", image]);
      }
    }
    expect(results.build_arm64.output).not.toMatch(/exec format error/);
  });

  test("a manifest build whose batch pushed no images fails post_build, and pushes no list", async () => {
    const p = project();
    const manifestNode = order.find((b) => b.identifier === "manifest")!;
    const other = randomUUID();
    const result = await runBuildspec({
      buildspec: p.buildspec,
      srcDir,
      batchBuildIdentifier: "manifest",
      env: { ...p.env, REGISTRY_HOST: registryHost, ...manifestNode.env.variables },
      baseEnv: {
        ...process.env,
        ...containerEnv(),
        PATH: [shim, process.env.PATH].join(":"),
        CONTAINERS_REGISTRIES_CONF: path.join(work, "registries.conf"),
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        FAKE_BATCH_ARN: `arn:aws:codebuild:eu-central-1:123456789012:build-batch/build-app:${other}`,
      },
    });
    expect(statuses(result)).toEqual({ install: "SUCCEEDED", pre_build: "SUCCEEDED", build: "SUCCEEDED", post_build: "FAILED" });
    const tag = `${commit.slice(0, 7)}-${other.replace(/-/g, "").slice(0, 8)}`;
    expect(result.output).toContain(`${REPO}:${tag}-amd64`);
    expect(await digestOf(tag)).toBeNull();
    // No half-made list is left behind in the shared storage (it would break `podman images`).
    expect(localImageExists(`${registryHost}/${REPO}:${tag}`)).toBe(false);
  });
});
