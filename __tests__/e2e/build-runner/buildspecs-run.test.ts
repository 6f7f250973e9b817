import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { runBuildspec, type BuildResult } from "../../../scripts/build-runner/runner";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { CodeBuildDindProject } from "../../../modules/codebuild-dind-project";
import { CodeBuildPrivilegedProject } from "../../../modules/codebuild-privileged-project";
import { EcrRepo } from "../../../modules/ecr-repo";
import { ROOT, tempDir } from "../../support/app";
import { terraformUnescaped } from "../../support/buildspecs";
import { BUILDER_IMAGE, containerEnv, ensureBuilderImage, IMAGE_BUILD_TOOLS, podman, requireTools, testStorage } from "../../support/containers";
import { newStack, only, synthJson } from "../../support/synth";

/**
 * The two buildspecs executed for real as the constructs inline them (ecr-image.sh embedded),
 * by the build runner alone (the dind buildspec's full run and a source that does not compile run
 * through the local AWS's builds, e2e/local-aws/builds.test.ts, as a deployed project runs them):
 * phase by phase as CodeBuild runs them (one shell per build), on sources that hold only a
 * Dockerfile and its app, with `docker` served by podman, the ECR API (get-login-password) by
 * moto, and the image registry by a local distribution registry standing in for the ECR host.
 * podman builds on the tests' shared container storage (support/containers.ts) with the layer
 * cache the buildspec asks for (--layers): the builder base is made once for this file,
 * integration/image/image.test.ts and later runs, and builds of the same source reuse each other's layers.
 */
jest.setTimeout(20 * 60_000);

// Before anything else, not in a hook: jest would still run the nested hooks after a failed one,
// and they would fail again with follow-on errors instead of this line.
requireTools(["docker-registry", "aws", "git", ...IMAGE_BUILD_TOOLS]);

const REPO = "codebuild-sample/dckr-push-ecr";
/** The author and commit date of every source's commit. */
const SOURCE_DATE = "2024-01-01T00:00:00Z";
let aws: LocalAws;
let registry: ChildProcess;
let registryHost: string;
let work: string;
let shim: string;
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

/**
 * How a source lays out the app of docker/: `root` (a team's repository: Dockerfile and app at
 * its root), `split` (ci/Dockerfile, the app in app/), `repository` (this repository's docker/).
 */
type Layout = "root" | "split" | "repository";

/** A git work tree holding the app of docker/ in `layout`, and nothing else (no buildspecs/). */
function makeSource(dir: string, layout: Layout, change?: (dir: string) => void): string {
  fs.mkdirSync(dir, { recursive: true });
  const app = { root: dir, split: path.join(dir, "app"), repository: path.join(dir, "docker") }[layout];
  fs.cpSync(path.join(ROOT, "docker"), app, { recursive: true });
  if (layout === "split") {
    fs.mkdirSync(path.join(dir, "ci"));
    fs.renameSync(path.join(app, "Dockerfile"), path.join(dir, "ci", "Dockerfile"));
  }
  change?.(dir);
  // A fixed date: the same source makes the same commit every run, so REVISION (and with it every
  // layer of the build) is the same and the shared layer cache serves later runs.
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

/** What the registry says a tag points to. */
async function digestOf(tag: string): Promise<string | null> {
  const res = await fetch(`http://${registryHost}/v2/${REPO}/manifests/${tag}`, {
    method: "HEAD",
    headers: { Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" },
  });
  return res.ok ? res.headers.get("docker-content-digest") : null;
}

function baseEnv(extraPath: string[] = []): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...containerEnv(),
    PATH: [...extraPath, shim, process.env.PATH].join(":"),
    CONTAINERS_REGISTRIES_CONF: path.join(work, "registries.conf"),
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
  };
}

/** The project environment the CodeBuild constructs set, plus the local stand-ins (IMAGE_TAG only with imageTag). */
function projectEnv(imageTag: string | undefined): Record<string, string> {
  return {
    AWS_DEFAULT_REGION: "eu-central-1",
    AWS_ACCOUNT_ID: "123456789012",
    ...(imageTag === undefined ? {} : { IMAGE_TAG: imageTag }),
    IMAGE_REPO_NAME: REPO,
    REGISTRY_HOST: registryHost,
    BUILDER_IMAGE,
    RUNTIME_IMAGE: "scratch",
  };
}

const statuses = (r: BuildResult) => Object.fromEntries(r.phases.map((p) => [p.name, p.status]));

/**
 * The tag of its own a build pushed, from its check step's line: <short commit>-<build number>-
 * <8 characters of the build ID> (the runner numbers every build 1 and gives it a random ID).
 */
function buildTagOf(r: BuildResult, commit: string): string {
  // The tag as the check step printed it (the output also echoes the script, whose line has "${…}").
  const m = /with the tag ([\w.-]+)(?: and [\w.-]+)?, from /.exec(r.output);
  if (!m) throw new Error(`no "building … with the tag" line in the output:\n${r.output.slice(-2000)}`);
  expect(m[1]).toMatch(new RegExp(`^${commit.slice(0, 7)}-1-[0-9a-f]{8}$`));
  return m[1];
}

/** What the source of a build holds at its top level. */
const topLevel = (dir: string) => fs.readdirSync(dir).filter((f) => f !== ".git").sort();

/**
 * What a project synthesizes for CodeBuild, as AWS receives it (Terraform's `$${` escapes undone):
 * its inline buildspec, and the DOCKERFILE and DOCKER_BUILD_CONTEXT it sets from its props.
 */
function synthesizedProject(
  kind: "privileged" | "dind",
  props: { dockerfile?: string; buildContext?: string } = {},
): { buildspec: string; env: Record<string, string> } {
  const stack = newStack();
  const repository = new EcrRepo(stack, "Repo", { repositoryName: REPO });
  const Project = kind === "privileged" ? CodeBuildPrivilegedProject : CodeBuildDindProject;
  new Project(stack, "Build", { projectName: "build-app", repository, ...props });
  const cb = only(synthJson(stack), "aws_codebuild_project");
  const value = (name: string): string => terraformUnescaped(cb.environment.environment_variable.find((v: any) => v.name === name).value);
  return { buildspec: terraformUnescaped(cb.source.buildspec), env: { DOCKERFILE: value("DOCKERFILE"), DOCKER_BUILD_CONTEXT: value("DOCKER_BUILD_CONTEXT") } };
}

/** Runs what a project synthesizes on `srcDir`, with the project's variables and the local stand-ins. */
function runProject(
  project: { buildspec: string; env: Record<string, string> },
  srcDir: string,
  imageTag: string | undefined,
  opts: { env?: Record<string, string>; path?: string[] } = {},
): Promise<BuildResult> {
  return runBuildspec({
    buildspec: project.buildspec,
    srcDir,
    env: { ...projectEnv(imageTag), ...project.env, ...opts.env },
    baseEnv: baseEnv(opts.path),
  }).then((result) => {
    // Every image name of this run holds its registry's random port; remembered for the untagging.
    for (const m of result.output.matchAll(new RegExp(`${registryHost.replace(/[.]/g, "\\.")}/[\\w./-]+:[\\w.-]+`, "g"))) builtTags.add(m[0]);
    return result;
  });
}

/** The image names the builds of this run may have tagged in the shared storage. */
const builtTags = new Set<string>();

beforeAll(async () => {
  ensureBuilderImage();
  work = tempDir("buildspecs");
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

  // What podman-docker provides: a `docker` command that is podman (on the tests' storage).
  shim = path.join(work, "bin");
  fs.mkdirSync(shim);
  writeExecutable(path.join(shim, "docker"), `exec podman --storage-driver ${testStorage().driver} "$@"`);

  srcDir = path.join(work, "src");
  commit = makeSource(srcDir, "root");
});

afterAll(async () => {
  if (registry?.pid) process.kill(-registry.pid, "SIGTERM");
  await aws?.stop();
  // The tags of this run name its registry's random port: untag them so the shared storage keeps
  // only the layer cache, not one more set of tags per run. By name, not by listing every image:
  // `podman images` fails on this podman once another test file's manifest list is in the storage.
  if (builtTags.size > 0) podman(["rmi", "--ignore", ...builtTags]);
});

describe("docker-push-ecr.yml as CodeBuildPrivilegedProject inlines it, on a source of only a Dockerfile and its app", () => {
  let result: BuildResult;

  beforeAll(async () => {
    result = await runProject(synthesizedProject("privileged"), srcDir, "latest");
  });

  test("the source holds only the Dockerfile and the app, nothing of this repository", () => {
    expect(topLevel(srcDir).filter((f) => f !== "imagedefinitions.json")).toEqual(fs.readdirSync(path.join(ROOT, "docker")).sort());
    expect(topLevel(srcDir)).not.toContain("buildspecs");
  });

  test("runs every phase to success", () => {
    expect({ succeeded: result.succeeded, phases: statuses(result), tail: result.succeeded ? "" : result.output.slice(-3000) }).toEqual({
      succeeded: true,
      phases: { install: "SUCCEEDED", pre_build: "SUCCEEDED", build: "SUCCEEDED", post_build: "SUCCEEDED" },
      tail: "",
    });
  });

  test("builds the Dockerfile at the source root in the root context (the defaults)", () => {
    expect(result.output).toContain(`with the tag ${buildTagOf(result, commit)} and latest, from Dockerfile in the context .`);
  });

  test("pushes its own tag (<short commit>-<build number>-<build ID>) and IMAGE_TAG, both naming the same image", async () => {
    const latest = await digestOf("latest");
    expect(latest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await digestOf(buildTagOf(result, commit))).toBe(latest);
  });

  test("writes the imagedefinitions.json artifact with the image of its own tag", () => {
    expect(result.artifacts).toEqual([path.join(srcDir, "imagedefinitions.json")]);
    expect(JSON.parse(fs.readFileSync(path.join(srcDir, "imagedefinitions.json"), "utf8"))).toEqual([
      { name: "app", imageUri: `${registryHost}/${REPO}:${buildTagOf(result, commit)}` },
    ]);
  });

  test("logged in with the password from the ECR API", () => {
    expect(result.output).toMatch(/Login Succeeded/);
  });
});

describe("docker-dind.yml as CodeBuildDindProject inlines it (docker:dind), on the same source", () => {
  test("its wait loop gives up after DOCKERD_WAIT_SECONDS with a clear error, and no later phase runs", async () => {
    // dockerd cannot run here: a dockerd that never answers and a docker whose `info` fails.
    const fake = path.join(work, "no-daemon");
    fs.mkdirSync(fake, { recursive: true });
    writeExecutable(path.join(fake, "dockerd"), "sleep 600");
    writeExecutable(path.join(fake, "docker"), 'echo "Cannot connect to the Docker daemon" >&2; exit 1');
    const started = Date.now();
    const result = await runProject(synthesizedProject("dind"), srcDir, "dind-latest", { env: { DOCKERD_WAIT_SECONDS: "2" }, path: [fake] });
    expect(result.succeeded).toBe(false);
    expect(statuses(result)).toEqual({ install: "FAILED", pre_build: "SKIPPED", build: "SKIPPED", post_build: "SKIPPED" });
    expect(result.output).toContain('error: dockerd did not answer "docker info" within 2 s; its log:');
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});

describe("without imageTag (the default), as on a repository with IMMUTABLE tags", () => {
  test("two builds in a row of one commit each push only a tag of their own, so neither pushes a tag twice", async () => {
    const project = synthesizedProject("privileged");
    expect(project.env).not.toHaveProperty("IMAGE_TAG");
    const first = await runProject(project, srcDir, undefined);
    const second = await runProject(project, srcDir, undefined);
    for (const r of [first, second]) {
      expect({ succeeded: r.succeeded, tail: r.succeeded ? "" : r.output.slice(-3000) }).toEqual({ succeeded: true, tail: "" });
      expect(r.output).toContain("no IMAGE_TAG: building without a cache image");
    }
    const tags = [buildTagOf(first, commit), buildTagOf(second, commit)];
    expect(tags[0]).not.toBe(tags[1]);
    for (const tag of tags) expect(await digestOf(tag)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe("dockerfile and buildContext", () => {
  test("a Dockerfile in one subfolder and the context in another (ci/Dockerfile, app) build and push both tags", async () => {
    const dir = path.join(work, "split-src");
    const splitCommit = makeSource(dir, "split");
    const project = synthesizedProject("privileged", { dockerfile: "ci/Dockerfile", buildContext: "app" });
    expect(project.env).toEqual({ DOCKERFILE: "ci/Dockerfile", DOCKER_BUILD_CONTEXT: "app" });
    const result = await runProject(project, dir, "split");
    expect({ succeeded: result.succeeded, phases: statuses(result), tail: result.succeeded ? "" : result.output.slice(-3000) }).toEqual({
      succeeded: true,
      phases: { install: "SUCCEEDED", pre_build: "SUCCEEDED", build: "SUCCEEDED", post_build: "SUCCEEDED" },
      tail: "",
    });
    expect(result.output).toContain(`with the tag ${buildTagOf(result, splitCommit)} and split, from ci/Dockerfile in the context app`);
    expect(await digestOf("split")).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await digestOf(buildTagOf(result, splitCommit))).toBe(await digestOf("split"));
  });
});

describe("PUSH_IMAGE=false, as the pull request project of triggers sets it", () => {
  test("builds every phase to success and pushes nothing: no tag in the registry, an empty imagedefinitions.json", async () => {
    const stack = newStack();
    const repository = new EcrRepo(stack, "Repo", { repositoryName: REPO });
    new CodeBuildPrivilegedProject(stack, "Build", {
      projectName: "build-app",
      repository,
      source: {
        type: "GITHUB",
        location: "https://github.com/example/app.git",
        connectionArn: "arn:aws:codeconnections:eu-central-1:123456789012:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
      },
      triggers: {},
    });
    const pr = Object.values(synthJson(stack).resource.aws_codebuild_project).find((p: any) => p.name === "build-app-pr") as any;
    const variables = Object.fromEntries(pr.environment.environment_variable.map((v: any) => [v.name, terraformUnescaped(v.value)]));
    expect(variables.PUSH_IMAGE).toBe("false");
    const dir = path.join(work, "pr-src");
    const prCommit = makeSource(dir, "root");
    const result = await runProject(
      { buildspec: terraformUnescaped(pr.source.buildspec), env: { DOCKERFILE: variables.DOCKERFILE, DOCKER_BUILD_CONTEXT: variables.DOCKER_BUILD_CONTEXT, PUSH_IMAGE: "false" } },
      dir,
      "pr-latest",
      { env: { SCAN_FAIL_SEVERITY: "HIGH" } },
    );
    expect({ succeeded: result.succeeded, phases: statuses(result), tail: result.succeeded ? "" : result.output.slice(-3000) }).toEqual({
      succeeded: true,
      phases: { install: "SUCCEEDED", pre_build: "SUCCEEDED", build: "SUCCEEDED", post_build: "SUCCEEDED" },
      tail: "",
    });
    const tag = buildTagOf(result, prCommit);
    expect(result.output).toContain(`PUSH_IMAGE=false: built ${registryHost}/${REPO}:${tag}, pushing nothing (imagedefinitions.json lists no image)`);
    expect(result.output).toContain("PUSH_IMAGE=false: nothing was pushed, so there is no scan to wait for");
    expect(await digestOf(tag)).toBeNull();
    expect(await digestOf("pr-latest")).toBeNull();
    expect(JSON.parse(fs.readFileSync(path.join(dir, "imagedefinitions.json"), "utf8"))).toEqual([]);
  });

  test("a PUSH_IMAGE other than true or false fails the step", () => {
    const r = spawnSync("sh", [path.join(ROOT, "buildspecs", "scripts", "ecr-image.sh"), "push"], {
      encoding: "utf8",
      env: { ...process.env, ...projectEnv("v1"), PUSH_IMAGE: "no" },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: PUSH_IMAGE "no" must be true or false');
  });
});

describe("failures fail the build", () => {
  test("a source whose Dockerfile is not where the project says fails pre_build naming DOCKERFILE and DOCKER_BUILD_CONTEXT, and nothing is built", async () => {
    // This repository's own layout (docker/) with the defaults (Dockerfile, .).
    const dir = path.join(work, "repository-src");
    makeSource(dir, "repository");
    const result = await runProject(synthesizedProject("privileged"), dir, "x");
    expect(statuses(result)).toEqual({ install: "SUCCEEDED", pre_build: "FAILED", build: "SKIPPED", post_build: "SKIPPED" });
    expect(result.output).toContain(
      `error: the source (${dir}) has no Dockerfile at DOCKERFILE="Dockerfile" (DOCKER_BUILD_CONTEXT="."): set the project's dockerfile and buildContext to where the source holds them`,
    );
    expect(await digestOf("x")).toBeNull();
  });

  test("a build context that is not a folder of the source fails pre_build naming both values", async () => {
    const project = synthesizedProject("dind", { dockerfile: "Dockerfile", buildContext: "app" });
    const fake = path.join(work, "daemon-for-context");
    fs.mkdirSync(fake, { recursive: true });
    writeExecutable(path.join(fake, "dockerd"), "sleep 600");
    const result = await runProject(project, srcDir, "y", { path: [fake] });
    expect(statuses(result)).toEqual({ install: "SUCCEEDED", pre_build: "FAILED", build: "SKIPPED", post_build: "SKIPPED" });
    expect(result.output).toContain(
      `error: the source (${srcDir}) has no folder at DOCKER_BUILD_CONTEXT="app" (DOCKERFILE="Dockerfile"): set the project's buildContext to a folder of the source`,
    );
    expect(await digestOf("y")).toBeNull();
  });
});

describe("the scan gate (buildspecs/scripts/ecr-image.sh scan-gate)", () => {
  /** Runs the step with an `aws` stand-in that reports the given finding counts. */
  function gate(severity: string | undefined, counts: Record<string, number>) {
    const fake = tempDir("fake-aws");
    const cases = Object.entries(counts)
      .map(([s, n]) => `*findingSeverityCounts.${s}*) echo ${n} ;;`)
      .join("\n  ");
    writeExecutable(
      path.join(fake, "aws"),
      `case "$*" in\n  *"wait image-scan-complete"*) exit 0 ;;\n  ${cases}\n  *describe-image-scan-findings*) echo None ;;\n  *) echo "unexpected: $*" >&2; exit 9 ;;\nesac`,
    );
    return spawnSync("sh", [path.join(ROOT, "buildspecs", "scripts", "ecr-image.sh"), "scan-gate"], {
      encoding: "utf8",
      env: { ...process.env, ...projectEnv("v1"), PATH: `${fake}:${process.env.PATH}`, SCAN_FAIL_SEVERITY: severity, CODEBUILD_RESOLVED_SOURCE_VERSION: "abcdef1234" },
    });
  }

  test("is off without SCAN_FAIL_SEVERITY", () => {
    const r = gate(undefined, { CRITICAL: 5 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("SCAN_FAIL_SEVERITY is not set: not waiting for the scan");
  });

  test("fails on findings at or above the threshold", () => {
    const r = gate("HIGH", { CRITICAL: 0, HIGH: 2, MEDIUM: 7 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error: the scan found 2 finding(s) at or above HIGH: CRITICAL=0 HIGH=2");
  });

  test("passes when findings are only below the threshold", () => {
    const r = gate("HIGH", { MEDIUM: 7, LOW: 3 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("scan passed: no findings at or above HIGH: CRITICAL=0 HIGH=0");
  });

  test("refuses an unknown severity", () => {
    const r = gate("SEVERE", {});
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: SCAN_FAIL_SEVERITY "SEVERE" must be one of: CRITICAL HIGH MEDIUM LOW INFORMATIONAL UNDEFINED');
  });
});
