/**
 * One CodeBuild build of the local AWS. local_aws.py starts it for StartBuild, in a process group
 * of its own, with `{ build, project, account, region, endpoint }` as JSON on stdin: the build
 * record it created and the project as the local AWS holds it. It runs the project's buildspec
 * with the build runner (scripts/build-runner) on the project's source, with the project's
 * environment variables (PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER) and the credentials of its
 * service role, writes the build's output to its CloudWatch Logs stream, and reports each phase
 * to the local AWS (POST /_local_aws/codebuild/builds), which BatchGetBuilds then returns.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { parseBuildspec } from "../build-runner/buildspec";
import { runBuildspec, type BuildResult } from "../build-runner/runner";
import { LOCAL_CREDENTIALS } from "./clients";
import { secondsPerMinute } from "./limits";

/** What local_aws.py hands the build (its JSON field names are CodeBuild's). */
export interface BuildSpecInput {
  readonly build: { id: string; arn: string; buildNumber: number; startTime: number; timeoutInMinutes: number; phases: Phase[]; environment: Environment; source: Source; serviceRole: string; logs: Logs; sourceVersion?: string; initiator: string };
  readonly project: { name: string };
  readonly account: string;
  readonly region: string;
  readonly endpoint: string;
}
interface Phase {
  phaseType: string;
  phaseStatus?: string;
  startTime: number;
  endTime?: number;
  durationInSeconds?: number;
  contexts?: { statusCode: string; message: string }[];
}
interface Environment {
  image?: string;
  privilegedMode?: boolean;
  environmentVariables?: { name: string; value: string; type?: string }[];
}
interface Source {
  type: string;
  location?: string;
  buildspec?: string;
}
interface Logs {
  groupName?: string;
  streamName?: string;
}

/** Why the phase under way failed the build (CodeBuild's statusCode and message). */
export class PhaseFailure extends Error {
  constructor(
    readonly statusCode: string,
    message: string,
  ) {
    super(message);
  }
}

const now = () => Date.now() / 1000;

/** The build's phases as CodeBuild reports them, kept and sent to the local AWS as they change. */
export class Phases {
  readonly list: Phase[];
  constructor(
    initial: Phase[],
    private readonly send: (update: Record<string, unknown>) => Promise<void>,
  ) {
    this.list = initial.map((p) => ({ ...p }));
  }

  private close(status: string, contexts?: Phase["contexts"]): void {
    const open = this.list.find((p) => p.phaseStatus === undefined);
    if (!open) return;
    const end = now();
    Object.assign(open, { phaseStatus: status, endTime: end, durationInSeconds: Math.max(0, Math.floor(end - open.startTime)) }, contexts ? { contexts } : {});
  }

  /** Ends the open phase as SUCCEEDED and starts `phase`. */
  enter(phase: string): Promise<void> {
    this.close("SUCCEEDED");
    this.list.push({ phaseType: phase, startTime: now() });
    return this.send({ currentPhase: phase, phases: this.list });
  }

  /** Ends the open phase as FAILED with `statusCode` and `message`. */
  fail(statusCode: string, message: string): void {
    this.close("FAILED", [{ statusCode, message }]);
  }

  /** Ends the open phase as TIMED_OUT, as CodeBuild ends the phase its timeout cut short. */
  timeOut(minutes: number): void {
    this.close("TIMED_OUT", [{ statusCode: "BUILD_TIMED_OUT", message: `Build has timed out after ${minutes} minutes` }]);
  }

  /** The build's end: FINALIZING, then COMPLETED. */
  async complete(status: "SUCCEEDED" | "FAILED" | "TIMED_OUT"): Promise<void> {
    await this.enter("FINALIZING");
    this.close("SUCCEEDED");
    this.list.push({ phaseType: "COMPLETED", startTime: now() });
    await this.send({ currentPhase: "COMPLETED", buildStatus: status, phases: this.list, buildComplete: true, endTime: now() });
  }
}

/** The buildspec of a project: its inline YAML, or the file its source names (default buildspec.yml). */
export function buildspecOf(source: Source, srcDir: string): { text: string } | { file: string } {
  const spec = source.buildspec?.trim();
  if (spec && (spec.includes("\n") || /^version\s*:/.test(spec))) return { text: source.buildspec! };
  const file = path.join(srcDir, spec || "buildspec.yml");
  if (!fs.existsSync(file)) throw new PhaseFailure("YAML_FILE_ERROR", `YAML file does not exist: the source has no ${spec || "buildspec.yml"}`);
  return { file };
}

/**
 * The buildspec as CodeBuild reads it when the source is in: YAML that is not a buildspec fails the
 * build in DOWNLOAD_SOURCE with YAML_FILE_ERROR and the reason, before any command runs.
 */
export function checkBuildspec(buildspec: { text: string } | { file: string }): void {
  const text = "text" in buildspec ? buildspec.text : fs.readFileSync(buildspec.file, "utf8");
  try {
    parseBuildspec(text, "text" in buildspec ? "buildspec" : `buildspec ${path.basename(buildspec.file)}`);
  } catch (e) {
    throw new PhaseFailure("YAML_FILE_ERROR", (e as Error).message);
  }
}

/** The tools of this machine a build runs with, each with why and the Debian package that has it. */
const BUILD_TOOLS: readonly { tool: string; why: string; pkg: string; when: (b: { privileged: boolean; source: string }) => boolean }[] = [
  { tool: "bash", why: "the buildspec's shell", pkg: "bash", when: () => true },
  { tool: "aws", why: "the AWS CLI a CodeBuild image has", pkg: "awscli", when: () => true },
  { tool: "python3", why: "unpacks an S3 source", pkg: "python3", when: (b) => b.source === "S3" },
  { tool: "podman", why: "docker of a privileged build", pkg: "podman", when: (b) => b.privileged },
];

/**
 * What a build needs that this machine lacks (the local AWS runs builds on it, not in the project's
 * image): one line naming each missing tool and the install command, or undefined when all are there.
 */
export function missingTools(build: { privileged: boolean; source: string }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? "").split(path.delimiter).filter(Boolean);
  const missing = BUILD_TOOLS.filter((t) => t.when(build) && !dirs.some((d) => fs.existsSync(path.join(d, t.tool))));
  if (missing.length === 0) return undefined;
  return (
    `the local AWS runs builds on this machine, which lacks ${missing.map((t) => `${t.tool} (${t.why})`).join(", ")}: ` +
    `install with: sudo apt-get install -y ${[...new Set(missing.map((t) => t.pkg))].join(" ")}, then start the build again`
  );
}

/** The project's variables, resolved: PLAINTEXT as it is, Parameter Store and Secrets Manager read with the build's credentials. */
export function resolveVariables(vars: Environment["environmentVariables"], awsEnv: NodeJS.ProcessEnv): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const v of vars ?? []) {
    const type = v.type ?? "PLAINTEXT";
    if (type === "PLAINTEXT") resolved[v.name] = v.value;
    else if (type === "PARAMETER_STORE") resolved[v.name] = awsCli(["ssm", "get-parameter", "--name", v.value, "--with-decryption", "--query", "Parameter.Value", "--output", "text"], awsEnv, v.name);
    else if (type === "SECRETS_MANAGER") {
      const [secretId, jsonKey] = v.value.split(":");
      const secret = awsCli(["secretsmanager", "get-secret-value", "--secret-id", secretId, "--query", "SecretString", "--output", "text"], awsEnv, v.name);
      resolved[v.name] = jsonKey ? String(JSON.parse(secret)[jsonKey] ?? "") : secret;
    } else throw new PhaseFailure("CLIENT_ERROR", `environment variable ${v.name}: unknown type ${JSON.stringify(type)}`);
  }
  return resolved;
}

function awsCli(args: string[], env: NodeJS.ProcessEnv, variable: string): string {
  const r = spawnSync("aws", [...args, "--endpoint-url", env.AWS_ENDPOINT_URL!], { env, encoding: "utf8" });
  if (r.status !== 0) throw new PhaseFailure("CLIENT_ERROR", `environment variable ${variable}: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`);
  return r.stdout.replace(/\n$/, "");
}

/** The source into `dir`: an S3 zip (bucket/key) unpacked, or nothing (NO_SOURCE); other types need a network the local AWS lacks. */
async function downloadSource(source: Source, dir: string, s3: S3Client): Promise<void> {
  if (source.type === "NO_SOURCE") return;
  if (source.type !== "S3") {
    throw new PhaseFailure("CLIENT_ERROR", `the local AWS cannot fetch a ${source.type} source (it has no network): give the project an S3 source (a zip at bucket/key)`);
  }
  const location = source.location ?? "";
  const slash = location.indexOf("/");
  const [bucket, key] = [location.slice(0, slash), location.slice(slash + 1)];
  let body: Uint8Array;
  try {
    body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
  } catch (e) {
    throw new PhaseFailure("CLIENT_ERROR", `the source s3://${location} could not be read: ${(e as Error).message}`);
  }
  const zip = path.join(dir, "..", "source.zip");
  fs.writeFileSync(zip, body);
  const unzip = spawnSync("python3", ["-m", "zipfile", "-e", zip, dir], { encoding: "utf8" });
  fs.rmSync(zip, { force: true });
  if (unzip.status !== 0) throw new PhaseFailure("CLIENT_ERROR", `the source s3://${location} is not a zip file: ${unzip.stderr.trim().split("\n").pop()}`);
}

/** The build's log lines, sent to its CloudWatch Logs stream about once a second (the group is made if missing, as CodeBuild does). */
export class CloudWatchSink {
  private pending: { timestamp: number; message: string }[] = [];
  private ready: Promise<void> | undefined;
  private sending = Promise.resolve();
  constructor(
    private readonly logs: CloudWatchLogsClient,
    private readonly group: string | undefined,
    private readonly stream: string | undefined,
  ) {}

  line(message: string): void {
    if (this.group && this.stream) this.pending.push({ timestamp: Date.now(), message });
  }

  private async open(): Promise<void> {
    const create = () => this.logs.send(new CreateLogStreamCommand({ logGroupName: this.group, logStreamName: this.stream }));
    try {
      await create();
    } catch (e) {
      if ((e as Error).name !== "ResourceNotFoundException") throw e;
      await this.logs.send(new CreateLogGroupCommand({ logGroupName: this.group }));
      await create();
    }
  }

  flush(): Promise<void> {
    if (!this.group || !this.stream || this.pending.length === 0) return this.sending;
    const batch = this.pending.splice(0);
    this.ready ??= this.open();
    this.sending = this.sending.then(async () => {
      await this.ready;
      await this.logs.send(new PutLogEventsCommand({ logGroupName: this.group, logStreamName: this.stream, logEvents: batch }));
    });
    return this.sending;
  }
}

/**
 * What a build's `docker` is on the local AWS: podman (daemonless; `STORAGE_DRIVER` and the
 * containers tools' variables of the local AWS's environment choose its storage), with a
 * `dockerd` that starts nothing (the dind buildspec starts one and waits for `docker info`, which
 * podman answers). Its registries are the local AWS's ECR registry: the local AWS as HTTP proxy,
 * each ECR host of the accounts an HTTP registry (GET /_local_aws/registries.conf). Only in
 * privileged mode, as on CodeBuild (without podman the build fails in PROVISIONING: missingTools).
 */
async function containerEngine(work: string, endpoint: string, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const bin = path.join(work, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "docker"), '#!/bin/sh\nexec podman ${STORAGE_DRIVER:+--storage-driver "$STORAGE_DRIVER"} "$@"\n', { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "dockerd"), "#!/bin/sh\n# The local AWS's builds are daemonless: podman answers for docker.\nexit 0\n", { mode: 0o755 });
  const conf = path.join(work, "registries.conf");
  fs.writeFileSync(conf, await (await fetch(`${endpoint}/_local_aws/registries.conf`)).text());
  const noProxy = ["127.0.0.1", "localhost", env.NO_PROXY].filter(Boolean).join(",");
  return { PATH: `${bin}${path.delimiter}${env.PATH}`, CONTAINERS_REGISTRIES_CONF: conf, HTTP_PROXY: endpoint, HTTPS_PROXY: endpoint, NO_PROXY: noProxy, no_proxy: noProxy };
}

/** The processes this one started (their process groups: the build runner's shells lead their own). */
function stopChildren(): void {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid) process.kill(-Number(entry), "SIGTERM");
    } catch {
      // gone, or not a group leader
    }
  }
}

/** Runs the build; every failure ends as a FAILED phase with its reason, never as an unreported exit. */
export async function runLocalBuild(spec: BuildSpecInput): Promise<void> {
  const { build, account, region, endpoint } = spec;
  const send = async (update: Record<string, unknown>): Promise<void> => {
    await fetch(`${endpoint}/_local_aws/codebuild/builds`, { method: "POST", body: JSON.stringify({ account, region, id: build.id, update }) });
  };
  const phases = new Phases(build.phases, send);
  const client = { region, endpoint, credentials: LOCAL_CREDENTIALS };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "local-aws-build-"));
  workDir = work;
  const srcDir = path.join(work, "src");
  fs.mkdirSync(srcDir);
  fs.mkdirSync(path.join(work, "tmp"));
  let sink: CloudWatchSink | undefined;
  try {
    await phases.enter("PROVISIONING");
    const lacking = missingTools({ privileged: build.environment.privilegedMode === true, source: build.source.type });
    if (lacking) throw new PhaseFailure("CLIENT_ERROR", lacking);
    const assumed = await new STSClient(client).send(new AssumeRoleCommand({ RoleArn: build.serviceRole, RoleSessionName: build.id.replace(/[^\w+=,.@-]/g, "-").slice(0, 64) }));
    const c = assumed.Credentials!;
    const credentials = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
    const awsEnv: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: work,
      // The build's own temporary folder, gone with it (a container's /tmp on CodeBuild).
      TMPDIR: path.join(work, "tmp"),
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SESSION_TOKEN: credentials.sessionToken,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
    };
    for (const k of ["AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"]) delete awsEnv[k];
    // Docker needs privileged mode on CodeBuild: without it a build has no docker.
    if (build.environment.privilegedMode === true) Object.assign(awsEnv, await containerEngine(work, endpoint, awsEnv));
    sink = new CloudWatchSink(new CloudWatchLogsClient({ ...client, credentials }), build.logs.groupName, build.logs.streamName);
    const variables = resolveVariables(build.environment.environmentVariables, awsEnv);
    await phases.enter("DOWNLOAD_SOURCE");
    await downloadSource(build.source, srcDir, new S3Client({ ...client, credentials, forcePathStyle: true }));
    const buildspec = buildspecOf(build.source, srcDir);
    checkBuildspec(buildspec);
    const flusher = setInterval(() => void sink?.flush().catch(() => undefined), 1000);
    let result: BuildResult;
    let running = Promise.resolve();
    try {
      result = await runBuildspec({
        ...("text" in buildspec ? { buildspec: buildspec.text } : { buildspecFile: buildspec.file }),
        srcDir,
        env: variables,
        baseEnv: awsEnv,
        sourceVersion: build.sourceVersion || undefined,
        timeoutSeconds: build.timeoutInMinutes * secondsPerMinute(),
        build: { id: build.id, arn: build.arn, number: build.buildNumber, initiator: build.initiator, image: build.environment.image ?? "local" },
        log: (line) => {
          sink!.line(line);
          // The runner's own lines say where the build is: the phases follow them.
          const entering = /^\[Container\] Entering phase (\w+)$/.exec(line);
          if (entering) running = running.then(() => phases.enter(entering[1]));
          const failed = /^\[Container\] Phase context status code: (\w+) Message: (.*)$/.exec(line);
          if (failed) running = running.then(() => phases.fail(failed[1], failed[2]));
        },
      });
    } finally {
      clearInterval(flusher);
    }
    await running;
    if (result.succeeded) await phases.enter("UPLOAD_ARTIFACTS");
    else if (result.timedOut) phases.timeOut(build.timeoutInMinutes);
    await sink.flush();
    await phases.complete(result.succeeded ? "SUCCEEDED" : result.timedOut ? "TIMED_OUT" : "FAILED");
  } catch (e) {
    const failure = e instanceof PhaseFailure ? e : new PhaseFailure("CLIENT_ERROR", (e as Error).message);
    sink?.line(`[Container] Phase context status code: ${failure.statusCode} Message: ${failure.message}`);
    await sink?.flush().catch(() => undefined);
    phases.fail(failure.statusCode, failure.message);
    await phases.complete("FAILED");
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    workDir = undefined;
  }
}

/** The running build's folder (its source, HOME and TMPDIR): removed when the build ends, however. */
let workDir: string | undefined;

if (require.main === module) {
  // A StopBuild (SIGTERM to this process) or the local AWS gone: the build's shells go with it.
  const parent = process.ppid;
  const end = (code: number): never => {
    stopChildren();
    if (workDir !== undefined) fs.rmSync(workDir, { recursive: true, force: true });
    process.exit(code);
  };
  process.on("SIGTERM", () => end(143));
  setInterval(() => {
    if (process.ppid !== parent) end(1);
  }, 1000).unref();
  let input = "";
  process.stdin.on("data", (d: Buffer) => (input += d.toString()));
  process.stdin.on("end", () => {
    runLocalBuild(JSON.parse(input) as BuildSpecInput).then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`local build failed: ${(e as Error).stack}\n`);
        process.exit(1);
      },
    );
  });
}
