import { ChildProcessWithoutNullStreams, spawn, spawnSync } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { parse as parseYaml } from "yaml";

// Runs an AWS CodeBuild buildspec (version 0.2) on this machine the way CodeBuild runs it, for
// tests that build for real. Sources, cited where they decide something:
//  - "Build specification reference for CodeBuild" (build-spec-ref): keys, env precedence,
//    finally, on-failure, artifacts.
//  - "Build phase transitions" (view-build-details-phases): which phase runs after a failure.
//  - "Environment variables in build environments" (build-env-ref-env-vars): CODEBUILD_*.
//  - "Shells and commands in build environments" (build-env-ref-cmd): commands are Shell
//    Command Language (sh) commands, so sh is the default shell.

/** The build phases a buildspec may define, in the order CodeBuild runs them. */
export const PHASE_NAMES = ["install", "pre_build", "build", "post_build"] as const;

/** One of {@link PHASE_NAMES}. */
export type PhaseName = (typeof PHASE_NAMES)[number];

/** How a phase ended. SKIPPED: an earlier failure meant it never started. */
export type PhaseStatus = "SUCCEEDED" | "FAILED" | "SKIPPED";

/** What a phase does when one of its commands fails (`phases/<phase>/on-failure`). */
export type OnFailure = "ABORT" | "CONTINUE";

/** The shells the runner can run a buildspec in (`env/shell`). */
export type BuildShellName = "bash" | "sh";

/** CodeBuild's default build timeout: 60 minutes. */
export const DEFAULT_TIMEOUT_SECONDS = 3600;

/** The value of CODEBUILD_INITIATOR for local builds. */
export const LOCAL_INITIATOR = "local-runner";

/** The value of CODEBUILD_BUILD_IMAGE for local builds. */
export const LOCAL_BUILD_IMAGE = "local";

/** The account ID in CODEBUILD_BUILD_ARN: a local build belongs to no account. */
export const LOCAL_ACCOUNT_ID = "000000000000";

// build-spec-ref, "Buildspec syntax": every top-level key a version 0.2 buildspec may have.
const TOP_LEVEL_KEYS = ["version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"];
// Top-level keys that change nothing in a local run (users, proxies, batch builds, reports, caches).
const IGNORED_TOP_LEVEL_KEYS = ["run-as", "proxy", "batch", "reports", "cache"];
const ENV_KEYS = ["shell", "variables", "parameter-store", "exported-variables", "secrets-manager", "git-credential-helper"];
const PHASE_KEYS = ["run-as", "on-failure", "runtime-versions", "commands", "finally"];
const ARTIFACT_KEYS = ["files", "name", "discard-paths", "base-directory", "secondary-artifacts", "enable-symlinks", "s3-prefix", "exclude-paths"];
// build-spec-ref, env/shell: the Linux shell tags are `bash` and `/bin/sh`; `sh` is accepted too.
const SHELL_TAGS: Record<string, BuildShellName> = { bash: "bash", "/bin/bash": "bash", sh: "sh", "/bin/sh": "sh" };
const WINDOWS_SHELL_TAGS = ["powershell.exe", "cmd.exe"];
// Grace periods when the build ends: for the shell to exit after its input closes, and for
// background processes to let go of the output pipes after SIGTERM.
const SHELL_EXIT_GRACE_MS = 5000;
const OUTPUT_CLOSE_GRACE_MS = 2000;

/** Options of {@link runBuildspec}. Give exactly one of `buildspec` and `buildspecFile`. */
export interface RunBuildspecOptions {
  /** The buildspec's YAML text. */
  readonly buildspec?: string;
  /** Path of a buildspec file, read as YAML. */
  readonly buildspecFile?: string;
  /** The source directory: the build's working directory and CODEBUILD_SRC_DIR. */
  readonly srcDir: string;
  /**
   * The build project's environment variables. They override the buildspec's `env/variables`
   * (build-spec-ref: the project's value takes precedence over the buildspec's).
   * @default - none
   */
  readonly env?: Record<string, string>;
  /**
   * The environment the build image would have: the lowest precedence of all. CODEBUILD_*
   * variables in it are dropped, since the runner sets its own.
   * @default process.env
   */
  readonly baseEnv?: NodeJS.ProcessEnv;
  /**
   * CODEBUILD_SOURCE_VERSION and CODEBUILD_RESOLVED_SOURCE_VERSION.
   * @default - `git -C srcDir rev-parse HEAD` when srcDir is in a Git repository, else both are unset
   */
  readonly sourceVersion?: string;
  /**
   * The build's timeout: when it runs out, every process of the build is killed and the build fails.
   * @default 3600 (CodeBuild's default of 60 minutes)
   */
  readonly timeoutSeconds?: number;
  /**
   * Called with each line of the build's log (the commands' output and the runner's
   * `[Container]` lines) as it arrives.
   * @default - lines are only collected in the result's `output`
   */
  readonly log?: (line: string) => void;
  /**
   * The build's identifier in a batch build (CODEBUILD_BATCH_BUILD_IDENTIFIER): the
   * `identifier` of its node in the batch buildspec's build graph, list or matrix. The runner
   * runs one build; a test runs a batch's builds one by one, in the order of their dependencies.
   * @default - not in a batch: the variable is unset
   */
  readonly batchBuildIdentifier?: string;
}

/** How one build phase ended. */
export interface PhaseResult {
  readonly name: PhaseName;
  readonly status: PhaseStatus;
  /** The first command of the phase that failed. */
  readonly failedCommand?: string;
  /** That command's exit status (128 + signal number when a signal ended the shell). */
  readonly exitCode?: number;
}

/** The result of {@link runBuildspec}. */
export interface BuildResult {
  /** True when no phase failed, the build did not time out and every artifact was found. */
  readonly succeeded: boolean;
  /** All four phases, in order; a phase the buildspec leaves out succeeds with nothing to run. */
  readonly phases: PhaseResult[];
  /** The build's log: stdout and stderr of the commands, and the runner's lines, each starting with `[Container] `. */
  readonly output: string;
  /** Absolute paths of the files that `artifacts/files` matched, sorted (only after a successful build). */
  readonly artifacts: string[];
  /** The `artifacts/files` patterns that matched no file; any of them fails the build. */
  readonly missingArtifacts: string[];
  /** True when the build ran out of time. */
  readonly timedOut: boolean;
}

/** A phase of a parsed buildspec. */
export interface BuildspecPhase {
  readonly commands: string[];
  readonly finally: string[];
  /** @default - the build phase transitions decide (see {@link runBuildspec}) */
  readonly onFailure?: OnFailure;
}

/** A validated version 0.2 buildspec, reduced to what a local run uses. */
export interface ParsedBuildspec {
  readonly shell: BuildShellName;
  readonly variables: Record<string, string>;
  readonly phases: Partial<Record<PhaseName, BuildspecPhase>>;
  readonly artifacts?: { readonly files: string[]; readonly baseDirectory?: string };
  /** What the local run ignores (run-as, runtime-versions, reports, ...), one sentence each. */
  readonly ignored: string[];
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is string | number | boolean => ["string", "number", "boolean"].includes(typeof v);
const quote = (s: string) => JSON.stringify(s);

/**
 * Parses and validates a buildspec's YAML text; throws one Error listing every problem.
 * `source` names the buildspec in messages.
 */
export function parseBuildspec(text: string, source = "buildspec"): ParsedBuildspec {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`Invalid ${source}: not valid YAML: ${(e as Error).message}`);
  }
  if (!isMapping(doc)) throw new Error(`Invalid ${source}: expected a YAML mapping with version and phases, got ${doc === null ? "nothing" : typeof doc}`);

  const problems: string[] = [];
  const ignored: string[] = [];

  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.includes(key)) problems.push(`unknown top-level key ${quote(key)} (allowed: ${TOP_LEVEL_KEYS.join(", ")})`);
    else if (IGNORED_TOP_LEVEL_KEYS.includes(key)) ignored.push(`${key} is not applied by the local runner`);
  }

  if (doc.version === undefined) problems.push("version is required: the local runner runs buildspec version 0.2");
  else if (doc.version !== 0.2 && doc.version !== "0.2") {
    problems.push(`version ${quote(String(doc.version))} is not supported: the local runner runs buildspec version 0.2 only`);
  }

  const { shell, variables } = parseEnv(doc.env, problems, ignored);
  const phases = parsePhases(doc.phases, problems, ignored);
  const artifacts = parseArtifacts(doc.artifacts, problems, ignored);

  if (problems.length > 0) throw new Error(`Invalid ${source}: ${problems.join("; ")}`);
  return { shell, variables, phases, artifacts, ignored };
}

function parseEnv(env: unknown, problems: string[], ignored: string[]): { shell: BuildShellName; variables: Record<string, string> } {
  // build-env-ref-cmd: "You can specify any Shell Command Language (sh) command": sh unless env/shell says otherwise.
  let shell: BuildShellName = "sh";
  const variables: Record<string, string> = {};
  if (env === undefined || env === null) return { shell, variables };
  if (!isMapping(env)) {
    problems.push("env must be a mapping");
    return { shell, variables };
  }
  for (const key of Object.keys(env)) {
    if (!ENV_KEYS.includes(key)) problems.push(`unknown key env.${key} (allowed: ${ENV_KEYS.join(", ")})`);
  }
  if (env.shell !== undefined) {
    const tag = String(env.shell);
    if (SHELL_TAGS[tag]) shell = SHELL_TAGS[tag];
    else if (WINDOWS_SHELL_TAGS.includes(tag)) problems.push(`env.shell ${quote(tag)} is a Windows shell: not supported by the local runner (use bash or /bin/sh)`);
    else problems.push(`env.shell ${quote(tag)} is not a Linux shell tag (allowed: bash, /bin/sh, sh)`);
  }
  if (env.variables !== undefined && env.variables !== null) {
    if (!isMapping(env.variables)) problems.push("env.variables must be a mapping of names to values");
    else {
      for (const [name, value] of Object.entries(env.variables)) {
        if (isScalar(value)) variables[name] = String(value);
        else problems.push(`env.variables.${name} must be a single value (string or number)`);
      }
    }
  }
  for (const key of ["parameter-store", "secrets-manager"]) {
    const section = env[key];
    if (section === undefined || section === null) continue;
    const names = isMapping(section) ? Object.keys(section) : [];
    if (!isMapping(section) || names.length > 0) {
      problems.push(`env.${key} is not supported by the local runner: pass ${names.length > 0 ? names.join(", ") : "those variables"} as project environment variables (env option) instead`);
    }
  }
  if (env["exported-variables"] !== undefined) ignored.push("env.exported-variables are not exported anywhere by the local runner");
  if (env["git-credential-helper"] !== undefined) ignored.push("env.git-credential-helper is not applied by the local runner");
  return { shell, variables };
}

function commandList(value: unknown, where: string, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${where} must be a list of commands`);
    return [];
  }
  return value.flatMap((item, i) => {
    if (isScalar(item)) return [String(item)];
    problems.push(
      isMapping(item)
        ? `${where}[${i}] is a YAML mapping, not a command: quote a command that contains ": " (build-spec-ref)`
        : `${where}[${i}] must be a command (a string)`,
    );
    return [];
  });
}

function parsePhases(phases: unknown, problems: string[], ignored: string[]): Partial<Record<PhaseName, BuildspecPhase>> {
  const result: Partial<Record<PhaseName, BuildspecPhase>> = {};
  if (phases === undefined || phases === null) {
    problems.push("phases is required");
    return result;
  }
  if (!isMapping(phases)) {
    problems.push("phases must be a mapping of phase names to phases");
    return result;
  }
  for (const [name, phase] of Object.entries(phases)) {
    if (!(PHASE_NAMES as readonly string[]).includes(name)) {
      problems.push(`unknown phase phases.${name} (allowed: ${PHASE_NAMES.join(", ")})`);
      continue;
    }
    const where = `phases.${name}`;
    if (!isMapping(phase)) {
      problems.push(`${where} must be a mapping with commands`);
      continue;
    }
    for (const key of Object.keys(phase)) {
      if (!PHASE_KEYS.includes(key)) problems.push(`unknown key ${where}.${key} (allowed: ${PHASE_KEYS.join(", ")})`);
    }
    if (phase["runtime-versions"] !== undefined) {
      if (name === "install") ignored.push(`${where}.runtime-versions is not installed by the local runner: the machine's tools are used`);
      else problems.push(`${where}.runtime-versions is only allowed in the install phase`);
    }
    if (phase["run-as"] !== undefined) ignored.push(`${where}.run-as is not applied by the local runner`);
    // build-spec-ref: commands is required in pre_build, build and post_build, optional in install.
    if (name !== "install" && phase.commands === undefined) problems.push(`${where}.commands is required when ${name} is specified`);
    const onFailure = phase["on-failure"];
    if (onFailure !== undefined && onFailure !== "ABORT" && onFailure !== "CONTINUE") {
      problems.push(`${where}.on-failure ${quote(String(onFailure))} must be ABORT or CONTINUE`);
    }
    result[name as PhaseName] = {
      commands: commandList(phase.commands, `${where}.commands`, problems),
      finally: commandList(phase.finally, `${where}.finally`, problems),
      onFailure: onFailure === "ABORT" || onFailure === "CONTINUE" ? onFailure : undefined,
    };
  }
  return result;
}

function parseArtifacts(artifacts: unknown, problems: string[], ignored: string[]): ParsedBuildspec["artifacts"] {
  if (artifacts === undefined || artifacts === null) return undefined;
  if (!isMapping(artifacts)) {
    problems.push("artifacts must be a mapping with files");
    return undefined;
  }
  for (const key of Object.keys(artifacts)) {
    if (!ARTIFACT_KEYS.includes(key)) problems.push(`unknown key artifacts.${key} (allowed: ${ARTIFACT_KEYS.join(", ")})`);
  }
  // build-spec-ref: artifacts/files is "always required, even when there are only secondary artifacts".
  if (artifacts.files === undefined) problems.push("artifacts.files is required when artifacts is specified");
  const files = commandList(artifacts.files, "artifacts.files", problems);
  const base = artifacts["base-directory"];
  if (base !== undefined && typeof base !== "string") problems.push("artifacts.base-directory must be a path");
  if (artifacts["secondary-artifacts"] !== undefined) ignored.push("artifacts.secondary-artifacts are not checked by the local runner");
  return { files, baseDirectory: typeof base === "string" ? base : undefined };
}

/** Collects the build's log as lines, and passes each line on as it is complete. */
class BuildLog {
  private readonly lines: string[] = [];
  private readonly partial = { stdout: "", stderr: "" };

  constructor(private readonly sink?: (line: string) => void) {}

  /** Output of the build's commands. */
  write(stream: "stdout" | "stderr", chunk: string): void {
    const parts = (this.partial[stream] + chunk).split("\n");
    this.partial[stream] = parts.pop() ?? "";
    for (const line of parts) this.emit(line);
  }

  /**
   * A message of the runner itself, in the style of CodeBuild's `[Container]` lines. Every line
   * of a multi-line message (a multi-line command) carries the prefix, so they can be told apart
   * from the commands' output.
   */
  container(message: string): void {
    this.flush();
    for (const line of message.split("\n")) this.emit(`[Container] ${line}`);
  }

  /** Ends the lines the commands left unfinished (output without a final newline). */
  flush(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.partial[stream] !== "") this.emit(this.partial[stream]);
      this.partial[stream] = "";
    }
  }

  text(): string {
    return this.lines.map((l) => `${l}\n`).join("");
  }

  private emit(line: string): void {
    this.lines.push(line);
    this.sink?.(line);
  }
}

/** How a command sent to the shell ended. */
type ShellOutcome = { kind: "status"; code: number; cwd: string } | { kind: "exited"; code: number } | { kind: "timeout" };

/** Single-quotes a string for sh and bash. */
const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A command as a brace group. The leading `:` keeps a command of only comments valid (an empty
 * group is a syntax error) and does not change the group's exit status, which is its last command's.
 */
const group = (command: string) => `{ :\n${command}\n}`;

/**
 * The one shell process a build's commands run in. Each command is sent over stdin as
 * `{ :\n<command>\n} </dev/null 3>&-` (stdin from /dev/null so a command that reads stdin cannot eat
 * the rest of the script; fd 3 closed so children cannot hold it), followed by a line that
 * saves the exported variables (to start over after `exit`) and writes `$?` and `$PWD` to fd 3.
 */
class BuildShell {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly statusStream: Readable;
  private statusBuffer = "";
  private pending?: (outcome: ShellOutcome) => void;
  private exitCode?: number;
  private readonly exited: Promise<number>;
  private readonly spawned: Promise<void>;

  constructor(
    shell: BuildShellName,
    env: NodeJS.ProcessEnv,
    cwd: string,
    private readonly stateFile: string,
    log: BuildLog,
  ) {
    // detached: the shell leads its own process group, so the build's processes can be killed
    // together on timeout and at the end (CodeBuild throws away the whole container).
    const child = spawn(shell === "bash" ? "bash" : "/bin/sh", [], { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe", "pipe"] });
    this.child = child as unknown as ChildProcessWithoutNullStreams;
    this.statusStream = child.stdio[3] as Readable;
    child.stdout?.setEncoding("utf8").on("data", (d: string) => log.write("stdout", d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => log.write("stderr", d));
    child.stdin?.on("error", () => undefined); // EPIPE after the shell exited: 'exit' reports it
    this.statusStream.setEncoding("utf8").on("data", (d: string) => this.onStatus(d));
    this.exited = new Promise((resolve, reject) => {
      child.on("error", (e) => reject(new Error(`could not start the build shell (${shell}): ${e.message}`)));
      child.on("exit", (code, signal) => {
        this.exitCode = code ?? 128 + (signal ? os.constants.signals[signal] : 0);
        resolve(this.exitCode);
        // Let output the shell wrote before exiting arrive first.
        setImmediate(() => this.settle({ kind: "exited", code: this.exitCode ?? 1 }));
      });
    });
    this.exited.catch(() => undefined);
    this.spawned = new Promise((resolve) => child.once("spawn", () => resolve()));
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** Resolves when the shell has started, rejects when it could not. */
  async started(): Promise<void> {
    await Promise.race([this.exited.then(() => undefined), this.spawned]);
  }

  /** Runs `command` in the shell and reports its exit status, or that the shell exited. */
  run(command: string): Promise<ShellOutcome> {
    if (!this.alive) return Promise.resolve({ kind: "exited", code: this.exitCode ?? 1 });
    return new Promise((resolve) => {
      this.pending = resolve;
      this.child.stdin.write(
        `${group(command)} </dev/null 3>&-\n` +
          `{ __cb_rc=$?; export -p >${shQuote(this.stateFile)}; printf '%s %s\\n' "$__cb_rc" "$PWD" >&3; } 2>/dev/null\n`,
      );
    });
  }

  /** Kills every process of the build (the shell's process group). */
  killAll(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // ESRCH: nothing of the build is left.
    }
  }

  /** Ends the shell, then whatever it left running in the background, and waits for its output. */
  async close(): Promise<void> {
    this.child.stdin.end();
    if (this.alive) {
      const timer = setTimeout(() => this.killAll("SIGKILL"), SHELL_EXIT_GRACE_MS);
      await this.exited.catch(() => undefined);
      clearTimeout(timer);
    }
    this.killAll("SIGTERM");
    const closed = (s: Readable) => new Promise<void>((resolve) => (s.readableEnded || s.destroyed ? resolve() : s.once("close", () => resolve())));
    const streams = [this.child.stdout, this.child.stderr, this.statusStream];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(streams.map(closed)), new Promise<void>((resolve) => (timer = setTimeout(resolve, OUTPUT_CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    this.killAll("SIGKILL");
    for (const s of streams) s.destroy();
  }

  private onStatus(chunk: string): void {
    this.statusBuffer += chunk;
    let newline: number;
    while ((newline = this.statusBuffer.indexOf("\n")) >= 0) {
      const line = this.statusBuffer.slice(0, newline);
      this.statusBuffer = this.statusBuffer.slice(newline + 1);
      const space = line.indexOf(" ");
      const outcome: ShellOutcome = { kind: "status", code: Number(line.slice(0, space)), cwd: line.slice(space + 1) };
      // The command's last output is already in the stdout/stderr pipes: let it arrive first.
      setImmediate(() => this.settle(outcome));
    }
  }

  private settle(outcome: ShellOutcome): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.(outcome);
  }
}

/** The CodeBuild variables of a build (build-env-ref-env-vars). */
function codebuildVariables(srcDir: string, region: string | undefined, sourceVersion: string | undefined): Record<string, string> {
  const buildId = `local:${randomUUID()}`;
  const vars: Record<string, string> = {
    CODEBUILD_SRC_DIR: srcDir,
    CODEBUILD_BUILD_ID: buildId,
    CODEBUILD_BUILD_NUMBER: "1",
    CODEBUILD_BUILD_ARN: `arn:aws:codebuild:${region ?? "local"}:${LOCAL_ACCOUNT_ID}:build/${buildId}`,
    CODEBUILD_INITIATOR: LOCAL_INITIATOR,
    CODEBUILD_START_TIME: String(Date.now()),
    CODEBUILD_BUILD_SUCCEEDING: "1",
    CODEBUILD_BUILD_IMAGE: LOCAL_BUILD_IMAGE,
  };
  if (sourceVersion !== undefined) {
    vars.CODEBUILD_SOURCE_VERSION = sourceVersion;
    vars.CODEBUILD_RESOLVED_SOURCE_VERSION = sourceVersion;
  }
  return vars;
}

/** HEAD's commit of the Git repository `dir` is in, or undefined. */
function gitHead(dir: string): string | undefined {
  const r = spawnSync("git", ["-C", dir, "rev-parse", "HEAD"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * The build's environment. Precedence, lowest first: the base environment (the build image's),
 * the buildspec's env/variables (which "replace existing environment variables"), the project's
 * variables (build-spec-ref, env/variables: "The value in the build project definition takes
 * next precedence. ... The value in the buildspec declaration takes lowest precedence."), then
 * the CODEBUILD_* variables, whose prefix "is reserved for internal use".
 */
function buildEnvironment(
  parsed: ParsedBuildspec,
  opts: RunBuildspecOptions,
  srcDir: string,
  log: BuildLog,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(opts.baseEnv ?? process.env)) if (v !== undefined && !k.startsWith("CODEBUILD_")) env[k] = v;
  for (const [source, vars] of [["buildspec env.variables", parsed.variables], ["project environment", opts.env ?? {}]] as const) {
    for (const [k, v] of Object.entries(vars)) {
      if (k.startsWith("CODEBUILD_")) log.container(`Ignoring ${k} from the ${source}: the CODEBUILD_ prefix is reserved`);
      else env[k] = v;
    }
  }
  // CodeBuild sets both to the build's Region; locally they come from the variables above.
  env.AWS_REGION ??= env.AWS_DEFAULT_REGION;
  env.AWS_DEFAULT_REGION ??= env.AWS_REGION;
  const sourceVersion = opts.sourceVersion ?? gitHead(srcDir);
  const batch = opts.batchBuildIdentifier === undefined ? {} : { CODEBUILD_BATCH_BUILD_IDENTIFIER: opts.batchBuildIdentifier };
  return { ...env, ...codebuildVariables(srcDir, env.AWS_REGION, sourceVersion), ...batch };
}

/** A glob of artifacts/files as a RegExp over `/`-separated relative paths: `**`, `*` and `?`. */
function globToRegExp(glob: string): RegExp {
  const segments = glob.replace(/^(\.\/)+/, "").split("/").filter((s) => s !== "" && s !== ".");
  const parts = segments.map((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === "**") return last ? ".*" : "(?:[^/]+/)*";
    const body = segment.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
    return last ? body : `${body}/`;
  });
  return new RegExp(`^${parts.join("")}$`);
}

const hasWildcard = (glob: string) => /[*?]/.test(glob);

/** Every file under `dir`, as `/`-separated paths relative to it; symlinked folders are not followed. */
function walkFiles(dir: string, prefix = ""): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix + entry.name;
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) return walkFiles(abs, `${rel}/`);
    if (entry.isSymbolicLink()) return fs.statSync(abs, { throwIfNoEntry: false })?.isFile() ? [rel] : [];
    return entry.isFile() ? [rel] : [];
  });
}

/** Every folder under `dir` (relative, `/`-separated), for a base-directory with wildcards. */
function walkDirs(dir: string, prefix = ""): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [prefix + e.name, ...walkDirs(path.join(dir, e.name), `${prefix}${e.name}/`)]);
}

/**
 * Finds the files of artifacts/files (build-spec-ref): relative to base-directory, else to the
 * source directory. A pattern without wildcards may name a folder, which means all its files.
 * A base-directory with wildcards (`'my-build*'`) matches every such folder.
 */
export function resolveArtifacts(srcDir: string, files: string[], baseDirectory?: string): { artifacts: string[]; missing: string[] } {
  let bases: string[];
  if (baseDirectory === undefined) bases = [srcDir];
  else if (hasWildcard(baseDirectory)) {
    const re = globToRegExp(baseDirectory);
    bases = walkDirs(srcDir).filter((d) => re.test(d)).map((d) => path.join(srcDir, d));
  } else bases = [path.resolve(srcDir, baseDirectory)];
  bases = bases.filter((b) => fs.statSync(b, { throwIfNoEntry: false })?.isDirectory());

  const found = new Set<string>();
  const missing: string[] = [];
  const filesByBase = bases.map((base) => ({ base, rels: walkFiles(base) }));
  for (const pattern of files) {
    const re = globToRegExp(pattern);
    const literal = hasWildcard(pattern) ? undefined : pattern.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
    let matched = false;
    for (const { base, rels } of filesByBase) {
      for (const rel of rels) {
        if (re.test(rel) || (literal !== undefined && rel.startsWith(`${literal}/`))) {
          found.add(path.join(base, rel));
          matched = true;
        }
      }
    }
    if (!matched) missing.push(pattern);
  }
  return { artifacts: [...found].sort(), missing };
}

/**
 * Runs a version 0.2 buildspec on this machine the way CodeBuild runs it, and reports each phase.
 *
 * - All commands of all phases run in one shell (`env/shell`: bash or sh, default sh), so
 *   variables and the working directory carry over from command to command and phase to phase.
 *   A command that ends the shell (`exit 1`) fails; the build goes on in a new shell that starts in
 *   the last working directory with the exported variables of the last command.
 * - A failing command fails its phase: the rest of its commands are skipped, its `finally`
 *   commands run, and CODEBUILD_BUILD_SUCCEEDING becomes 0. What runs next is the phase's
 *   `on-failure`: CONTINUE runs the next phase, ABORT skips all later ones, and without it the
 *   "Build phase transitions" decide: a failed install or pre_build skips the rest, a failed
 *   build still runs post_build.
 * - After a successful build every `artifacts/files` pattern must match a file.
 * - When `timeoutSeconds` run out, every process of the build is killed and the build fails.
 *
 * Throws before running anything when the buildspec is invalid or uses what a local run cannot
 * provide (Parameter Store, Secrets Manager, Windows shells).
 */
export async function runBuildspec(opts: RunBuildspecOptions): Promise<BuildResult> {
  if ((opts.buildspec === undefined) === (opts.buildspecFile === undefined)) {
    throw new Error("runBuildspec: give exactly one of buildspec (YAML text) and buildspecFile (a path)");
  }
  const parsed =
    opts.buildspecFile !== undefined
      ? parseBuildspec(fs.readFileSync(opts.buildspecFile, "utf8"), `buildspec ${opts.buildspecFile}`)
      : parseBuildspec(opts.buildspec ?? "");
  const srcDir = path.resolve(opts.srcDir);
  if (!fs.statSync(srcDir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`runBuildspec: srcDir ${srcDir} is not a folder`);
  const timeoutSeconds = opts.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  if (!(timeoutSeconds > 0)) throw new Error(`runBuildspec: timeoutSeconds ${timeoutSeconds} must be more than 0`);

  const log = new BuildLog(opts.log);
  for (const note of parsed.ignored) log.container(`Local runner: ${note}`);
  const env = buildEnvironment(parsed, opts, srcDir, log);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "buildspec-runner-"));
  const stateFile = path.join(stateDir, "exported-variables.sh");

  let cwd = srcDir;
  let shell = new BuildShell(parsed.shell, env, cwd, stateFile, log);
  const shells = [shell];
  let succeeding = true;
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ShellOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutSeconds * 1000);
  });

  /** Sends `command` to the shell (a new one when the last exited) and waits for the outcome. */
  const send = async (command: string): Promise<ShellOutcome> => {
    if (!shell.alive) {
      shell = new BuildShell(parsed.shell, env, fs.existsSync(cwd) ? cwd : srcDir, stateFile, log);
      shells.push(shell);
      await shell.started();
      const restore = `[ -f ${shQuote(stateFile)} ] && . ${shQuote(stateFile)} >/dev/null 2>&1; cd ${shQuote(cwd)} 2>/dev/null; export CODEBUILD_BUILD_SUCCEEDING=${succeeding ? 1 : 0}`;
      await Promise.race([shell.run(restore), timeout]);
    }
    const outcome = await Promise.race([shell.run(command), timeout]);
    if (outcome.kind === "status") cwd = outcome.cwd;
    return outcome;
  };

  /** Runs one buildspec command; returns its exit status, or undefined on timeout. */
  const runCommand = async (command: string): Promise<number | undefined> => {
    log.container(`Running command ${command}`);
    // Check the syntax first: an unterminated quote or block would otherwise swallow the lines
    // that report the status, and the build would hang until its timeout.
    const check = spawnSync(parsed.shell === "bash" ? "bash" : "/bin/sh", parsed.shell === "bash" ? ["-O", "extglob", "-n"] : ["-n"], {
      input: `${group(command)}\n`,
      encoding: "utf8",
      env,
    });
    if (check.status !== 0) {
      log.write("stderr", check.stderr || check.error?.message || "syntax error\n");
      log.flush();
      return check.status ?? 2;
    }
    const outcome = await send(command);
    if (outcome.kind === "timeout") return undefined;
    if (outcome.kind === "exited") {
      log.container(
        `The shell exited (exit status ${outcome.code}) in this command: the build goes on in a new shell, in the last working directory with the exported variables; other shell variables are lost`,
      );
    }
    return outcome.code;
  };

  const phases: PhaseResult[] = [];
  let skipRest = false;
  try {
    await shell.started();
    for (const name of PHASE_NAMES) {
      if (skipRest) {
        phases.push({ name, status: "SKIPPED" });
        continue;
      }
      const phase = parsed.phases[name] ?? { commands: [], finally: [] };
      const label = name.toUpperCase();
      log.container(`Entering phase ${label}`);
      let failure: { command: string; exitCode?: number } | undefined;
      for (const block of [phase.commands, phase.finally]) {
        // finally runs after commands whatever happened; a failure in either ends its own block.
        for (const command of block) {
          const code = await runCommand(command);
          if (code === 0) continue;
          if (code === undefined) timedOut = true;
          failure ??= { command, exitCode: code };
          if (succeeding) {
            succeeding = false;
            // Visible to every later command, this phase's finally included.
            if (!timedOut) await send("export CODEBUILD_BUILD_SUCCEEDING=0");
          }
          break;
        }
        if (timedOut) break;
      }
      if (timedOut) {
        log.container(`Build timed out after ${timeoutSeconds} s in phase ${label}: killed every process of the build`);
        phases.push({ name, status: "FAILED", failedCommand: failure?.command });
        skipRest = true;
        continue;
      }
      if (failure === undefined) {
        log.container(`Phase complete: ${label} State: SUCCEEDED`);
        phases.push({ name, status: "SUCCEEDED" });
        continue;
      }
      log.container(`Phase complete: ${label} State: FAILED`);
      log.container(`Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: ${failure.command}. Reason: exit status ${failure.exitCode}`);
      phases.push({ name, status: "FAILED", failedCommand: failure.command, exitCode: failure.exitCode });
      // build-spec-ref, on-failure: ABORT ends the build, CONTINUE goes on with the next phase.
      // Without it, "Build phase transitions": after INSTALL or PRE_BUILD fails the build goes to
      // FINALIZING; after BUILD fails, POST_BUILD still runs.
      if (phase.onFailure === "ABORT") skipRest = true;
      else if (phase.onFailure === undefined && (name === "install" || name === "pre_build")) skipRest = true;
    }
  } finally {
    clearTimeout(timer);
    if (timedOut) for (const s of shells) s.killAll("SIGKILL");
    // Like CodeBuild's container, nothing the build started outlives it.
    for (const s of shells) await s.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }

  let artifacts: string[] = [];
  let missingArtifacts: string[] = [];
  if (succeeding && !timedOut && parsed.artifacts !== undefined) {
    const found = resolveArtifacts(srcDir, parsed.artifacts.files, parsed.artifacts.baseDirectory);
    artifacts = found.artifacts;
    missingArtifacts = found.missing;
    if (missingArtifacts.length > 0) {
      log.container(`Phase complete: UPLOAD_ARTIFACTS State: FAILED`);
      log.container(`Phase context status code: CLIENT_ERROR Message: no matching artifact paths found: ${missingArtifacts.join(", ")}`);
    } else log.container(`Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED (${artifacts.length} files)`);
  }
  log.flush();
  return {
    succeeded: succeeding && !timedOut && missingArtifacts.length === 0,
    phases,
    output: log.text(),
    artifacts,
    missingArtifacts,
    timedOut,
  };
}
