import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./app";
import { PACKAGE_NAME, childEnv } from "./library";

/** The consumer example: a platform team's own CDKTF app that installs this library. */
export const EXAMPLE_DIR = path.join(ROOT, "examples", "platform-app");

/** The library's package name, as the example depends on it. */
export const LIBRARY_NAME = PACKAGE_NAME;

/** This repository's cdktf CLI, which the tests run in the example (the example does not install one). */
export const CDKTF_CLI = path.join(ROOT, "node_modules", ".bin", "cdktf");

/** What one command did. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  /** True when the command was killed for running longer than its timeout. */
  readonly timedOut: boolean;
}

/** An installed copy of the example. */
export interface InstalledExample {
  /** The app folder (package.json, node_modules, stacks/). */
  readonly appDir: string;
  /** The packed library the app installed (shared by the run's test files: read only). */
  readonly tarball: string;
}

const started = Date.now();

/** One progress line on stderr, so a long run is never silent (jest shows stderr as it comes). */
export function progress(tag: string, message: string): void {
  process.stderr.write(`[${tag} +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

/** The environment of the example's commands: without the npm settings of an outer `npm test` (see {@link childEnv}). */
export function cleanEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return childEnv({}, base);
}

/** Removes terminal colour and cursor codes (the cdktf CLI prints a spinner even into a pipe). */
export function plainText(s: string): string {
  return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

/** Runs a command, capturing its output; never rejects (a failure to start is exit code 127). */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CommandResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, opts.timeoutMs);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = (code: number, extra = ""): void => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr: stderr + extra, seconds: (Date.now() - start) / 1000, timedOut });
    };
    child.on("error", (e) => done(127, `\n${cmd}: ${e.message}`));
    child.on("close", (code) => done(code ?? 1));
  });
}

/** Like {@link runCommand}, but throws with the command's own output when it fails. */
export async function runOk(what: string, cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CommandResult> {
  const r = await runCommand(cmd, args, opts);
  if (r.code !== 0) {
    const output = plainText(`${r.stdout}\n${r.stderr}`).trim().split("\n").slice(-40).join("\n");
    throw new Error(`${what} failed in ${opts.cwd} (${r.timedOut ? "timed out" : `exit ${r.code}`}):\n${output}`);
  }
  return r;
}

/**
 * Copies the example's sources into `appDir` (nothing it built or installed) and points its
 * library dependency at `dependency` (e.g. `file:/tmp/…/codebuild-docker-modules-0.1.0.tgz`).
 */
export function copyExample(appDir: string, dependency: string): void {
  const skip = new Set(["node_modules", "dist", "cdktf.out", ".terraform", "package-lock.json"]);
  fs.cpSync(EXAMPLE_DIR, appDir, {
    recursive: true,
    filter: (from) => !skip.has(path.basename(from)) && !/\.tfstate(\..*)?$/.test(from) && !from.endsWith(".tgz"),
  });
  const file = path.join(appDir, "package.json");
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  if (pkg.dependencies?.[LIBRARY_NAME] === undefined) throw new Error(`${EXAMPLE_DIR}/package.json does not depend on ${LIBRARY_NAME}`);
  pkg.dependencies[LIBRARY_NAME] = dependency;
  fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
}

/**
 * A second copy of an installed example in `appDir`, sharing the first one's node_modules (a
 * link: Node resolves it to the real folder, so there is still one copy of each package), for a
 * variant whose sources a test edits.
 */
export function cloneInstalledExample(installed: InstalledExample, appDir: string): void {
  copyExample(appDir, `file:${installed.tarball}`);
  fs.symlinkSync(path.join(installed.appDir, "node_modules"), path.join(appDir, "node_modules"), "dir");
}

/**
 * `cdktf synth --output cdktf.out` in the app, with this repository's cdktf CLI: the CLI runs the
 * app command of the example's cdktf.json (its own `tsc` build, then `node dist/main.js`).
 */
export function synthExample(appDir: string, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  if (!fs.existsSync(CDKTF_CLI)) throw new Error(`${CDKTF_CLI} is missing: run \`npm ci\` in ${ROOT}`);
  return runCommand(CDKTF_CLI, ["synth", "--output", "cdktf.out"], { cwd: appDir, env: { ...cleanEnv(env), CHECKPOINT_DISABLE: "1" }, timeoutMs: 300_000 });
}

/** The folder of a synthesized stack of the app. */
export function stackDir(appDir: string, stack: string): string {
  return path.join(appDir, "cdktf.out", "stacks", stack);
}

/** A synthesized stack of the app, parsed. */
export function stackJson(appDir: string, stack: string): any {
  return JSON.parse(fs.readFileSync(path.join(stackDir(appDir, stack), "cdk.tf.json"), "utf8"));
}
