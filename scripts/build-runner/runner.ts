import { spawnSync } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { resolveArtifacts } from "./artifacts";
import { PHASE_NAMES, parseBuildspec, type ParsedBuildspec, type PhaseName, type PhaseStatus } from "./buildspec";
import { BuildLog, BuildShell, group, shQuote, type ShellOutcome } from "./shell";

export { PHASE_NAMES, parseBuildspec, resolveArtifacts };
export type { BuildShellName, BuildspecPhase, OnFailure, ParsedBuildspec, PhaseName, PhaseStatus } from "./buildspec";

// Runs an AWS CodeBuild buildspec (version 0.2) on this machine the way CodeBuild runs it, for
// tests that build for real. Sources, cited where they decide something:
//  - "Build specification reference for CodeBuild" (build-spec-ref): keys, env precedence,
//    finally, on-failure, artifacts.
//  - "Build phase transitions" (view-build-details-phases): which phase runs after a failure.
//  - "Environment variables in build environments" (build-env-ref-env-vars): CODEBUILD_*.
//  - "Shells and commands in build environments" (build-env-ref-cmd): commands are Shell
//    Command Language (sh) commands, so sh is the default shell.
// The buildspec is parsed in buildspec.ts, its commands run in shell.ts, its artifacts found in
// artifacts.ts; this file runs the phases.

/** CodeBuild's default build timeout: 60 minutes. */
export const DEFAULT_TIMEOUT_SECONDS = 3600;

/** The value of CODEBUILD_INITIATOR for local builds. */
export const LOCAL_INITIATOR = "local-runner";

/** The value of CODEBUILD_BUILD_IMAGE for local builds. */
export const LOCAL_BUILD_IMAGE = "local";

/** The account ID in CODEBUILD_BUILD_ARN: a local build belongs to no account. */
export const LOCAL_ACCOUNT_ID = "000000000000";

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
  /**
   * Who the build is (CODEBUILD_BUILD_ID, _ARN, _NUMBER, _INITIATOR, _BUILD_IMAGE), as the service
   * running it gave it: the local AWS's builds.
   * @default - a random `local:<uuid>` ID, number 1, initiator `local-runner`, image `local`
   */
  readonly build?: { readonly id: string; readonly arn: string; readonly number: number; readonly initiator: string; readonly image: string };
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

/** The CodeBuild variables of a build (build-env-ref-env-vars). */
function codebuildVariables(srcDir: string, region: string | undefined, sourceVersion: string | undefined, build: RunBuildspecOptions["build"]): Record<string, string> {
  const buildId = build?.id ?? `local:${randomUUID()}`;
  const vars: Record<string, string> = {
    CODEBUILD_SRC_DIR: srcDir,
    CODEBUILD_BUILD_ID: buildId,
    CODEBUILD_BUILD_NUMBER: String(build?.number ?? 1),
    CODEBUILD_BUILD_ARN: build?.arn ?? `arn:aws:codebuild:${region ?? "local"}:${LOCAL_ACCOUNT_ID}:build/${buildId}`,
    CODEBUILD_INITIATOR: build?.initiator ?? LOCAL_INITIATOR,
    CODEBUILD_START_TIME: String(Date.now()),
    CODEBUILD_BUILD_SUCCEEDING: "1",
    CODEBUILD_BUILD_IMAGE: build?.image ?? LOCAL_BUILD_IMAGE,
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
  return { ...env, ...codebuildVariables(srcDir, env.AWS_REGION, sourceVersion, opts.build), ...batch };
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
