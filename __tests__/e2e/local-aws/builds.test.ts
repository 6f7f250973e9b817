import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BatchGetBuildsCommand, CodeBuildClient, CreateProjectCommand, ListBuildsForProjectCommand, StartBuildCommand, StopBuildCommand, type Build } from "@aws-sdk/client-codebuild";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { clientConfig } from "../../../scripts/local-aws/clients";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { MINUTE_VARIABLE } from "../../../scripts/local-aws/limits";
import { tempDir } from "../../support/app";
import { BUILDER_IMAGE, containerEnv, ensureBuilderImage, IMAGE_BUILD_TOOLS, podman, requireTools } from "../../support/containers";
import { BuildSpec } from "../../../modules/shared/buildspec";
import { writeOciLayout } from "../../support/oci-layout";

/**
 * ECR's registry on the local AWS: images pushed by their ECR names with a token from
 * GetAuthorizationToken appear in the local ECR; logins without one, other accounts' tokens,
 * unknown repositories and a second push of an immutable tag are refused as ECR refuses them.
 *
 * CodeBuild builds that run on the local AWS: StartBuild runs the project as the local AWS holds it
 * (its buildspec, source, variables of each type, service role, logs, timeout) with the build
 * runner, and the plain CodeBuild and CloudWatch Logs APIs, the AWS CLI among them, show the real
 * status, phases and output. (The sample projects' builds, which push to ECR, are checked where
 * the organization is deployed.)
 */
jest.setTimeout(300_000);

requireTools(["skopeo", "docker-registry", "aws", ...IMAGE_BUILD_TOOLS]);

const REGION = "eu-central-1";
const ACCOUNT = "123456789012";
let aws: LocalAws;
let cb: CodeBuildClient;
let roleArn: string;
/** How long a minute of a build's timeout lasts on this file's local AWS (a timeout test in seconds, not minutes). */
const SECONDS_PER_MINUTE = 2;

/** The AWS CLI against the local AWS (test credentials unless others are given); its stdout. */
function cli(args: string[], credentials: Record<string, string> = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" }, region = REGION): string {
  const r = spawnSync("aws", [...args, "--endpoint-url", aws.endpoint, "--region", region, "--output", "json"], {
    env: { ...process.env, ...credentials, AWS_PROFILE: undefined, AWS_CONFIG_FILE: "/dev/null" },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`aws ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** A project of `buildspec` (inline) on the S3 source, with `variables`. */
async function project(
  name: string,
  buildspec: string,
  opts: { variables?: { name: string; value: string; type?: "PLAINTEXT" | "PARAMETER_STORE" | "SECRETS_MANAGER" }[]; source?: { type: "S3" | "GITHUB"; location: string }; timeoutInMinutes?: number; privileged?: boolean } = {},
): Promise<void> {
  await cb.send(
    new CreateProjectCommand({
      name,
      source: { ...(opts.source ?? { type: "S3", location: "build-sources/app.zip" }), buildspec },
      artifacts: { type: "NO_ARTIFACTS" },
      environment: { type: "LINUX_CONTAINER", image: "aws/codebuild/standard:7.0", computeType: "BUILD_GENERAL1_SMALL", environmentVariables: opts.variables ?? [], privilegedMode: opts.privileged ?? false },
      serviceRole: roleArn,
      timeoutInMinutes: opts.timeoutInMinutes ?? 60,
      logsConfig: { cloudWatchLogs: { status: "ENABLED", groupName: `/aws/codebuild/${name}` } },
    }),
  );
}

/** BatchGetBuilds until the build has ended (or `seconds`). */
async function ended(id: string, seconds = 120): Promise<Build> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const [build] = (await cb.send(new BatchGetBuildsCommand({ ids: [id] }))).builds ?? [];
    if (build?.buildComplete || Date.now() > deadline) return build;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const phaseStatuses = (b: Build) => (b.phases ?? []).map((p) => `${p.phaseType}:${p.phaseStatus ?? "-"}`);

async function logLines(b: Build): Promise<string[]> {
  const logs = new CloudWatchLogsClient(clientConfig({ region: REGION, endpoint: aws.endpoint }));
  const events = await logs.send(new GetLogEventsCommand({ logGroupName: b.logs!.groupName, logStreamName: b.logs!.streamName, startFromHead: true }));
  return (events.events ?? []).map((e) => e.message ?? "");
}

beforeAll(async () => {
  // The machine's container tools for the builds' docker (podman): the tests' shared storage with
  // its layer cache, and the builder base for the Dockerfile's build stage (no image pulls here).
  ensureBuilderImage();
  aws = await startLocalAws({ env: { ...process.env, ...containerEnv(), BUILDER_IMAGE, RUNTIME_IMAGE: "scratch", [MINUTE_VARIABLE]: String(SECONDS_PER_MINUTE) } });
  const config = clientConfig({ region: REGION, endpoint: aws.endpoint });
  cb = new CodeBuildClient(config);
  const role = await new IAMClient(config).send(
    new CreateRoleCommand({
      RoleName: "build-role",
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "codebuild.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
    }),
  );
  roleArn = role.Role!.Arn!;
  // The source: a zip of one file, in S3 (as the local projects of the app read theirs).
  const dir = tempDir("local-builds");
  fs.mkdirSync(path.join(dir, "src"));
  fs.writeFileSync(path.join(dir, "src", "app.txt"), "the app's source\n");
  spawnSync("python3", ["-m", "zipfile", "-c", path.join(dir, "app.zip"), "app.txt"], { cwd: path.join(dir, "src") });
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: "build-sources", CreateBucketConfiguration: { LocationConstraint: REGION } }));
  await s3.send(new PutObjectCommand({ Bucket: "build-sources", Key: "app.zip", Body: fs.readFileSync(path.join(dir, "app.zip")) }));
  cli(["ssm", "put-parameter", "--name", "/app/greeting", "--type", "String", "--value", "from-parameter-store"]);
  cli(["secretsmanager", "create-secret", "--name", "app/secret", "--secret-string", JSON.stringify({ token: "from-secrets-manager" })]);
});

/** The image names the sample builds of this run tagged in the shared storage, untagged at the end. */
const builtTags = new Set<string>();

afterAll(async () => {
  await aws?.stop();
  if (builtTags.size > 0) podman(["rmi", "--ignore", ...builtTags]);
});

describe("StartBuild runs the project as the local AWS holds it", () => {
  let build: Build;
  beforeAll(async () => {
    await project(
      "runs",
      [
        "version: 0.2",
        "env:",
        "  variables:",
        "    FROM_BUILDSPEC: buildspec",
        "phases:",
        "  pre_build:",
        "    commands:",
        '      - echo "plain=$PLAIN parameter=$FROM_PARAMETER secret=$FROM_SECRET buildspec=$FROM_BUILDSPEC"',
        "  build:",
        "    commands:",
        "      - cat app.txt",
        '      - echo "id=$CODEBUILD_BUILD_ID number=$CODEBUILD_BUILD_NUMBER"',
        "      - aws sts get-caller-identity --query Arn --output text",
        "",
      ].join("\n"),
      {
        variables: [
          { name: "PLAIN", value: "plain-value" },
          { name: "FROM_PARAMETER", value: "/app/greeting", type: "PARAMETER_STORE" },
          { name: "FROM_SECRET", value: "app/secret:token", type: "SECRETS_MANAGER" },
        ],
      },
    );
    const started = (await cb.send(new StartBuildCommand({ projectName: "runs" }))).build!;
    expect(started).toMatchObject({ buildStatus: "IN_PROGRESS", projectName: "runs", buildNumber: 1 });
    build = await ended(started.id!);
  });

  test("it succeeds, with every phase CodeBuild reports, in order", () => {
    expect({ status: build.buildStatus, current: build.currentPhase }).toEqual({ status: "SUCCEEDED", current: "COMPLETED" });
    expect(phaseStatuses(build)).toEqual([
      "SUBMITTED:SUCCEEDED",
      "QUEUED:SUCCEEDED",
      "PROVISIONING:SUCCEEDED",
      "DOWNLOAD_SOURCE:SUCCEEDED",
      "INSTALL:SUCCEEDED",
      "PRE_BUILD:SUCCEEDED",
      "BUILD:SUCCEEDED",
      "POST_BUILD:SUCCEEDED",
      "UPLOAD_ARTIFACTS:SUCCEEDED",
      "FINALIZING:SUCCEEDED",
      "COMPLETED:-",
    ]);
    expect(build.endTime!.getTime()).toBeGreaterThanOrEqual(build.startTime!.getTime());
  });

  test("its output is in CloudWatch Logs, in the project's group and the build's stream: the source, each variable type, its identity, the service role's credentials", async () => {
    expect(build.logs).toMatchObject({ groupName: "/aws/codebuild/runs", streamName: build.id!.split(":")[1] });
    const lines = await logLines(build);
    expect(lines).toContain("plain=plain-value parameter=from-parameter-store secret=from-secrets-manager buildspec=buildspec");
    expect(lines).toContain("the app's source");
    expect(lines).toContain(`id=${build.id} number=1`);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/build-role/`)));
    expect(lines).toContain("[Container] Entering phase BUILD");
  });

  test("the plain AWS CLI sees the same build and log", () => {
    const [seen] = JSON.parse(cli(["codebuild", "batch-get-builds", "--ids", build.id!])).builds;
    expect({ status: seen.buildStatus, phase: seen.currentPhase }).toEqual({ status: "SUCCEEDED", phase: "COMPLETED" });
    const events = JSON.parse(cli(["logs", "get-log-events", "--log-group-name", "/aws/codebuild/runs", "--log-stream-name", build.logs!.streamName!, "--start-from-head"])).events;
    expect(events.map((e: { message: string }) => e.message)).toContain("the app's source");
  });

  test("ListBuildsForProject lists its builds, newest first; the second build is number 2", async () => {
    const second = (await cb.send(new StartBuildCommand({ projectName: "runs" }))).build!;
    expect(second.buildNumber).toBe(2);
    expect((await cb.send(new ListBuildsForProjectCommand({ projectName: "runs" }))).ids).toEqual([second.id, build.id]);
    expect((await ended(second.id!)).buildStatus).toBe("SUCCEEDED");
  });
});

describe("a build that fails says where and why", () => {
  test("a failing command: FAILED in BUILD with the command and its status; post_build still runs", async () => {
    await project("fails", ["version: 0.2", "phases:", "  build:", "    commands:", "      - exit 3", "  post_build:", "    commands:", "      - echo post-build-ran", ""].join("\n"));
    const build = await ended((await cb.send(new StartBuildCommand({ projectName: "fails" }))).build!.id!);
    expect(build.buildStatus).toBe("FAILED");
    const failed = build.phases!.find((p) => p.phaseType === "BUILD")!;
    expect(failed).toMatchObject({ phaseStatus: "FAILED", contexts: [{ statusCode: "COMMAND_EXECUTION_ERROR", message: "Error while executing command: exit 3. Reason: exit status 3" }] });
    expect(build.phases!.find((p) => p.phaseType === "POST_BUILD")?.phaseStatus).toBe("SUCCEEDED");
    expect(await logLines(build)).toContain("post-build-ran");
  });

  test("a source the local AWS cannot fetch: FAILED in DOWNLOAD_SOURCE, nothing run", async () => {
    await project("github", ["version: 0.2", "phases:", "  build:", "    commands:", "      - echo never", ""].join("\n"), { source: { type: "GITHUB", location: "https://github.com/example/app.git" } });
    const build = await ended((await cb.send(new StartBuildCommand({ projectName: "github" }))).build!.id!);
    expect(build.buildStatus).toBe("FAILED");
    expect(phaseStatuses(build).slice(-3)).toEqual(["DOWNLOAD_SOURCE:FAILED", "FINALIZING:SUCCEEDED", "COMPLETED:-"]);
    expect(build.phases!.find((p) => p.phaseType === "DOWNLOAD_SOURCE")!.contexts).toEqual([
      { statusCode: "CLIENT_ERROR", message: "the local AWS cannot fetch a GITHUB source (it has no network): give the project an S3 source (a zip at bucket/key)" },
    ]);
    expect(await logLines(build)).not.toContain("never");
  });

  test("StartBuild's source overrides: the same GitHub project, built once from an S3 zip, runs on that source", async () => {
    await project("github-once", ["version: 0.2", "phases:", "  build:", "    commands:", "      - cat app.txt", ""].join("\n"), { source: { type: "GITHUB", location: "https://github.com/example/app.git" } });
    const started = (await cb.send(new StartBuildCommand({ projectName: "github-once", sourceTypeOverride: "S3", sourceLocationOverride: "build-sources/app.zip" }))).build!;
    expect(started.source).toMatchObject({ type: "S3", location: "build-sources/app.zip" });
    const build = await ended(started.id!);
    expect(build.buildStatus).toBe("SUCCEEDED");
    expect(await logLines(build)).toContain("the app's source");
  });

  test("docker is there in privileged mode only, as on CodeBuild (podman answers for it)", async () => {
    const spec = ["version: 0.2", "phases:", "  build:", "    commands:", '      - echo "docker=$(docker --version 2>&1 || true)"', ""].join("\n");
    await project("unprivileged", spec);
    await project("privileged", spec, { privileged: true });
    const [plain, privileged] = await Promise.all(["unprivileged", "privileged"].map(async (projectName) => ended((await cb.send(new StartBuildCommand({ projectName }))).build!.id!)));
    const versionLine = async (b: Build) => (await logLines(b)).find((l) => l.startsWith("docker="));
    expect(await versionLine(privileged)).toMatch(/^docker=podman version \d/);
    expect(await versionLine(plain)).not.toMatch(/podman/);
  });

  test("StopBuild stops a running build: STOPPED, and its processes are gone", async () => {
    // A sleep whose command line no other process has.
    const marker = `sleep ${3000 + (process.pid % 997)}`;
    await project("stops", ["version: 0.2", "phases:", "  build:", "    commands:", `      - ${marker}`, ""].join("\n"));
    const started = (await cb.send(new StartBuildCommand({ projectName: "stops" }))).build!;
    const running = async () => spawnSync("pgrep", ["-fx", marker]).status === 0;
    for (let i = 0; i < 200 && !(await running()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await running()).toBe(true);
    const stopped = (await cb.send(new StopBuildCommand({ id: started.id }))).build!;
    expect(stopped.buildStatus).toBe("STOPPED");
    const build = await ended(started.id!);
    expect({ status: build.buildStatus, phase: build.currentPhase }).toEqual({ status: "STOPPED", phase: "COMPLETED" });
    for (let i = 0; i < 50 && (await running()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await running()).toBe(false);
  });

  test("a build past its timeout is stopped: TIMED_OUT in BUILD with CodeBuild's reason, its processes gone, post_build not run", async () => {
    // A minute lasts SECONDS_PER_MINUTE seconds on this file's local AWS: the override's 5 minutes are 10 s.
    const marker = `sleep ${4000 + (process.pid % 997)}`;
    await project("times-out", ["version: 0.2", "phases:", "  build:", "    commands:", `      - ${marker}`, "  post_build:", "    commands:", "      - echo post-build-ran", ""].join("\n"));
    const started = (await cb.send(new StartBuildCommand({ projectName: "times-out", timeoutInMinutesOverride: 5 }))).build!;
    expect(started.timeoutInMinutes).toBe(5);
    const build = await ended(started.id!, 60);
    expect(build.buildStatus).toBe("TIMED_OUT");
    expect(build.phases!.find((p) => p.phaseType === "BUILD")).toMatchObject({
      phaseStatus: "TIMED_OUT",
      contexts: [{ statusCode: "BUILD_TIMED_OUT", message: "Build has timed out after 5 minutes" }],
    });
    expect(spawnSync("pgrep", ["-fx", marker]).status).toBe(1);
    expect(await logLines(build)).not.toContain("post-build-ran");
  });

  test("a timeout override out of CodeBuild's range is refused by StartBuild, and no build starts", async () => {
    await expect(cb.send(new StartBuildCommand({ projectName: "times-out", timeoutInMinutesOverride: 2 }))).rejects.toThrow(
      "timeoutInMinutesOverride 2: must be a whole number of minutes from 5 to 2160",
    );
    expect((await cb.send(new ListBuildsForProjectCommand({ projectName: "times-out" }))).ids).toHaveLength(1);
  });

  test.each([
    ["not YAML", ["version: 0.2", "phases:", "  build:", "    commands: [echo never", ""], /^Invalid buildspec: not valid YAML: /],
    ["YAML, not a buildspec", ["version: 0.2", "phase:", "  build:", "    commands:", "      - echo never", ""], /^Invalid buildspec: .*phases/],
  ])("a buildspec that is %s: FAILED in DOWNLOAD_SOURCE with YAML_FILE_ERROR and the reason, no command run", async (_, lines, reason) => {
    const name = `bad-buildspec-${lines[1].startsWith("phases") ? "yaml" : "shape"}`;
    await project(name, lines.join("\n"));
    const build = await ended((await cb.send(new StartBuildCommand({ projectName: name }))).build!.id!);
    expect(build.buildStatus).toBe("FAILED");
    expect(phaseStatuses(build).slice(-3)).toEqual(["DOWNLOAD_SOURCE:FAILED", "FINALIZING:SUCCEEDED", "COMPLETED:-"]);
    const [context] = build.phases!.find((p) => p.phaseType === "DOWNLOAD_SOURCE")!.contexts!;
    expect(context.statusCode).toBe("YAML_FILE_ERROR");
    expect(context.message).toMatch(reason);
    expect(await logLines(build)).not.toContain("never");
  });
});

describe("ECR's registry on the local AWS", () => {
  const host = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
  let work: string;
  let conf: string;
  let image: { digest: string; layerSize: number };
  let other: { digest: string; layerSize: number };

  /** skopeo with the local AWS as its HTTP proxy and the registries.conf it serves; its exit status and last line. */
  function skopeo(args: string[]): { code: number; last: string } {
    const r = spawnSync("skopeo", ["--registries-conf", conf, ...args], {
      env: { ...process.env, HTTP_PROXY: aws.endpoint, HTTPS_PROXY: aws.endpoint, NO_PROXY: "127.0.0.1,localhost" },
      encoding: "utf8",
    });
    return { code: r.status ?? 1, last: `${r.stdout}${r.stderr}`.trim().split("\n").pop() ?? "" };
  }
  const push = (layout: string, target: string, password: string, extra: string[] = []) =>
    skopeo(["copy", ...extra, "--dest-creds", `AWS:${password}`, `oci:${layout}:v1`, `docker://${target}`]);
  const password = () => cli(["ecr", "get-login-password"]).trim();

  beforeAll(async () => {
    work = tempDir("local-registry");
    cli(["ecr", "create-repository", "--repository-name", "team/app", "--image-tag-mutability", "IMMUTABLE"]);
    conf = path.join(work, "registries.conf");
    fs.writeFileSync(conf, await (await fetch(`${aws.endpoint}/_local_aws/registries.conf`)).text());
    image = writeOciLayout(path.join(work, "one"), "v1", "one\n");
    other = writeOciLayout(path.join(work, "two"), "v1", "two\n");
  });

  test("GetAuthorizationToken: a fresh password per call, for the caller's account's registry, valid 12 hours", () => {
    const tokens = [0, 1].map(() => JSON.parse(cli(["ecr", "get-authorization-token"])).authorizationData[0]);
    for (const t of tokens) {
      expect(t.proxyEndpoint).toBe(`https://${host}`);
      expect(Buffer.from(t.authorizationToken, "base64").toString()).toMatch(/^AWS:[\w-]{20,}$/);
      const expires = typeof t.expiresAt === "number" ? t.expiresAt * 1000 : new Date(t.expiresAt).getTime();
      const hours = (expires - Date.now()) / 3_600_000;
      expect(hours).toBeGreaterThan(11.9);
      expect(hours).toBeLessThanOrEqual(12);
    }
    expect(tokens[0].authorizationToken).not.toBe(tokens[1].authorizationToken);
  });

  test("the registries.conf it serves makes each account's ECR host with a repository an HTTP registry", () => {
    expect(fs.readFileSync(conf, "utf8")).toBe(`[[registry]]\nlocation = "${host}"\ninsecure = true\n`);
  });

  test("a push by the ECR name with the token of get-login-password is in the local ECR: tag, digest, size, push time; batch-get-image returns its manifest", async () => {
    const before = Date.now() / 1000;
    expect(push(path.join(work, "one"), `${host}/team/app:v1`, password())).toMatchObject({ code: 0 });
    const [detail] = JSON.parse(cli(["ecr", "describe-images", "--repository-name", "team/app"])).imageDetails;
    expect(detail).toMatchObject({ registryId: ACCOUNT, repositoryName: "team/app", imageTags: ["v1"], imageDigest: image.digest, imageSizeInBytes: image.layerSize });
    expect(detail.imagePushedAt).toBeGreaterThanOrEqual(Math.floor(before));
    const [got] = JSON.parse(cli(["ecr", "batch-get-image", "--repository-name", "team/app", "--image-ids", "imageTag=v1"])).images;
    const manifest = fs.readFileSync(path.join(work, "one", "blobs", "sha256", image.digest.slice(7)), "utf8");
    expect(got.imageManifest).toBe(manifest);
    // and it pulls back by that name
    const inspected = skopeo(["inspect", "--creds", `AWS:${password()}`, "--raw", `docker://${host}/team/app:v1`]);
    expect(inspected).toEqual({ code: 0, last: manifest });
  });

  test("IMMUTABLE: another image under the same tag is refused with ECR's message; the same image again is accepted", () => {
    expect(push(path.join(work, "two"), `${host}/team/app:v1`, password())).toEqual({
      code: 1,
      last: expect.stringContaining("tag invalid: The image tag 'v1' already exists in the 'team/app' repository and cannot be overwritten because the repository is immutable."),
    });
    expect(push(path.join(work, "one"), `${host}/team/app:v1`, password()).code).toBe(0);
    const details = JSON.parse(cli(["ecr", "describe-images", "--repository-name", "team/app"])).imageDetails;
    expect(details.map((d: { imageDigest: string }) => d.imageDigest)).toEqual([image.digest]);
    expect(other.digest).not.toBe(image.digest);
  });

  test("a pushed tag is replicated as the registry's replication configuration says: another region, another account that allows it (its pull role pulls it from its own registry), not one that does not", () => {
    const assumed = (account: string) => {
      const c = JSON.parse(cli(["sts", "assume-role", "--role-arn", `arn:aws:iam::${account}:role/app-pull`, "--role-session-name", "replication-test"])).Credentials;
      return { AWS_ACCESS_KEY_ID: c.AccessKeyId, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey, AWS_SESSION_TOKEN: c.SessionToken };
    };
    const workload = assumed("222222222222");
    cli(["ecr", "put-registry-policy", "--policy-text", JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Replication", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ["ecr:CreateRepository", "ecr:ReplicateImage"], Resource: `arn:aws:ecr:${REGION}:222222222222:repository/*` }] })], workload);
    const destinations = [{ region: "us-east-1", registryId: ACCOUNT }, { region: REGION, registryId: "222222222222" }, { region: REGION, registryId: "333333333333" }];
    cli(["ecr", "put-replication-configuration", "--replication-configuration", JSON.stringify({ rules: [{ destinations, repositoryFilters: [{ filter: "team/", filterType: "PREFIX_MATCH" }] }] })]);

    expect(push(path.join(work, "two"), `${host}/team/app:v2`, password()).code).toBe(0);

    const tags = (credentials: Record<string, string> | undefined, region: string) =>
      JSON.parse(cli(["ecr", "describe-images", "--repository-name", "team/app"], credentials, region)).imageDetails.flatMap((d: { imageTags: string[]; imageDigest: string }) => d.imageTags.map((t) => `${t} ${d.imageDigest}`));
    expect(tags(undefined, "us-east-1")).toEqual([`v2 ${other.digest}`]);
    expect(tags(workload, REGION)).toEqual([`v2 ${other.digest}`]);
    expect(() => cli(["ecr", "describe-repositories", "--repository-names", "team/app"], assumed("333333333333"))).toThrow(/RepositoryNotFoundException/);
    // The workload account pulls it from its own registry, with its own token.
    fs.writeFileSync(conf, spawnSync("curl", ["-s", `${aws.endpoint}/_local_aws/registries.conf`], { encoding: "utf8" }).stdout);
    const workloadPassword = cli(["ecr", "get-login-password"], workload).trim();
    const pulled = skopeo(["inspect", "--raw", "--creds", `AWS:${workloadPassword}`, `docker://222222222222.dkr.ecr.${REGION}.amazonaws.com/team/app:v2`]);
    expect(pulled).toEqual({ code: 0, last: fs.readFileSync(path.join(work, "two", "blobs", "sha256", other.digest.slice(7)), "utf8") });
  });

  test("refused: a login without a token of the local AWS, a repository the account lacks, another account's registry", () => {
    expect(push(path.join(work, "one"), `${host}/team/app:v2`, "not-a-token").last).toContain("unauthorized: authentication required");
    expect(push(path.join(work, "one"), `${host}/team/none:v1`, password()).last).toContain(
      "name unknown: The repository with name 'team/none' does not exist in the registry with id '123456789012'",
    );
    // A token of account 123456789012 for account 222222222222's registry (not in the registries.conf:
    // told to skip TLS instead). skopeo's HEAD shows only the status; curl's GET shows the reason.
    const foreign = `222222222222.dkr.ecr.${REGION}.amazonaws.com`;
    expect(push(path.join(work, "one"), `${foreign}/team/app:v1`, password(), ["--dest-tls-verify=false"]).last).toContain("403 (Forbidden)");
    const r = spawnSync("curl", ["-s", "-x", aws.endpoint, "-u", `AWS:${password()}`, `http://${foreign}/v2/team/app/manifests/v1`], { encoding: "utf8" });
    expect(JSON.parse(r.stdout)).toEqual({ errors: [{ code: "DENIED", message: "a token of account 123456789012 does not grant access to the registry of account 222222222222" }] });
  });
});

describe("the sample buildspecs, as the constructs inline them, build the image and push it to the account's ECR", () => {
  const REPO = "codebuild-sample/dckr-push-ecr";
  /** The variables a sample project sets (the construct's, with its account and region as literals). */
  const SAMPLE_VARIABLES = [
    { name: "AWS_DEFAULT_REGION", value: REGION },
    { name: "AWS_ACCOUNT_ID", value: ACCOUNT },
    { name: "IMAGE_REPO_NAME", value: REPO },
    { name: "DOCKERFILE", value: "Dockerfile" },
    { name: "DOCKER_BUILD_CONTEXT", value: "." },
  ];

  beforeAll(async () => {
    cli(["ecr", "create-repository", "--repository-name", REPO, "--image-tag-mutability", "IMMUTABLE"]);
    // The source: the app of docker/ at the root of an S3 zip (a team's repository: Dockerfile and app at its root).
    const docker = path.join(__dirname, "..", "..", "..", "docker");
    const zip = path.join(tempDir("sample-source"), "sample.zip");
    spawnSync("python3", ["-m", "zipfile", "-c", zip, ...fs.readdirSync(docker)], { cwd: docker });
    const s3 = new S3Client({ ...clientConfig({ region: REGION, endpoint: aws.endpoint }), forcePathStyle: true });
    await s3.send(new PutObjectCommand({ Bucket: "build-sources", Key: "sample.zip", Body: fs.readFileSync(zip) }));
  });

  test.each([
    ["docker-push-ecr.yml", "privileged"],
    ["docker-dind.yml", "dind"],
  ] as const)("%s (the %s project) succeeds, and the image it pushed by its own tag is in the local ECR", async (buildspec, kind) => {
    const name = `sample-${kind}`;
    await project(name, BuildSpec.bundled(buildspec).value, {
      source: { type: "S3", location: "build-sources/sample.zip" },
      variables: SAMPLE_VARIABLES,
      privileged: true,
      timeoutInMinutes: 300,
    });
    const build = await ended((await cb.send(new StartBuildCommand({ projectName: name }))).build!.id!, 600);
    const lines = await logLines(build);
    for (const l of lines) for (const m of l.matchAll(/\d{12}\.dkr\.ecr\.[\w-]+\.amazonaws\.com\/[\w./-]+:[\w.-]+/g)) builtTags.add(m[0]);
    expect({ status: build.buildStatus, failed: build.phases!.filter((p) => p.phaseStatus === "FAILED").map((p) => p.contexts), end: lines.slice(-5) }).toMatchObject({ status: "SUCCEEDED", failed: [] });
    // Its own tag: build-<build number>-<8 characters of the build ID> (no Git source: no commit).
    const tag = `build-1-${build.id!.split(":")[1].slice(0, 8)}`;
    expect(lines).toContain(`wrote imagedefinitions.json for ${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${REPO}:${tag}`);
    const [detail] = JSON.parse(cli(["ecr", "describe-images", "--repository-name", REPO, "--image-ids", `imageTag=${tag}`])).imageDetails;
    expect(detail).toMatchObject({ registryId: ACCOUNT, repositoryName: REPO, imageTags: [tag], imageDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(detail.imageSizeInBytes).toBeGreaterThan(1000);
    // The dind buildspec's own step: its dockerd start, answered at once (podman is daemonless).
    if (kind === "dind") expect(lines).toContain("dockerd is up after 0 s");
  });

  test("a source whose app does not compile: FAILED in BUILD with the build step's command and status, the compiler's error in the log, and nothing pushed", async () => {
    // GIVEN the same source with a syntax error in the app
    const broken = tempDir("broken-source");
    const docker = path.join(__dirname, "..", "..", "..", "docker");
    fs.cpSync(docker, broken, { recursive: true });
    const main = fs.readdirSync(broken, { recursive: true }).map(String).find((f) => f.endsWith(".go"))!;
    fs.appendFileSync(path.join(broken, main), "\nfunc broken( {\n");
    const zip = path.join(tempDir("broken-zip"), "broken.zip");
    spawnSync("python3", ["-m", "zipfile", "-c", zip, ...fs.readdirSync(broken)], { cwd: broken });
    const s3 = new S3Client({ ...clientConfig({ region: REGION, endpoint: aws.endpoint }), forcePathStyle: true });
    await s3.send(new PutObjectCommand({ Bucket: "build-sources", Key: "broken.zip", Body: fs.readFileSync(zip) }));
    const before = JSON.parse(cli(["ecr", "describe-images", "--repository-name", REPO])).imageDetails.length;
    await project("sample-broken", BuildSpec.bundled("docker-push-ecr.yml").value, {
      source: { type: "S3", location: "build-sources/broken.zip" },
      variables: SAMPLE_VARIABLES,
      privileged: true,
      timeoutInMinutes: 300,
    });
    // WHEN built
    const build = await ended((await cb.send(new StartBuildCommand({ projectName: "sample-broken" }))).build!.id!, 600);
    // THEN
    expect(build.buildStatus).toBe("FAILED");
    expect(build.phases!.find((p) => p.phaseType === "BUILD")).toMatchObject({
      phaseStatus: "FAILED",
      contexts: [{ statusCode: "COMMAND_EXECUTION_ERROR", message: expect.stringMatching(/^Error while executing command: sh "\$ECR_IMAGE_SH" build\. Reason: exit status \d+$/) }],
    });
    expect(build.phases!.find((p) => p.phaseType === "POST_BUILD")?.phaseStatus).toBe("FAILED");
    const log = (await logLines(build)).join("\n");
    expect(log).toMatch(/syntax error/);
    expect(log).toContain("error: the build failed: nothing to push");
    expect(JSON.parse(cli(["ecr", "describe-images", "--repository-name", REPO])).imageDetails.length).toBe(before);
  });
});
