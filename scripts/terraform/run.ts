import { spawn } from "child_process";

/** What one terraform command did. */
export interface TerraformResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/**
 * How long `plan`, `apply` and `destroy` wait for a state lock held by someone else (another
 * review, a colleague's deploy) before they give up, unless `LOCK_TIMEOUT` says otherwise.
 */
export const DEFAULT_LOCK_TIMEOUT = "5m";

/** The variable that overrides {@link DEFAULT_LOCK_TIMEOUT}. */
export const LOCK_TIMEOUT_VARIABLE = "LOCK_TIMEOUT";

/** How often a running terraform command says it is still running. */
export const HEARTBEAT_MS = 10_000;

/** The terraform commands that take the state lock, and so get `-lock-timeout`. */
const LOCKING_COMMANDS = ["plan", "apply", "destroy", "refresh", "import"];

/** The problem with a `LOCK_TIMEOUT` value (what, the value, the rule), or undefined when it is fine or unset. */
export function lockTimeoutProblem(value: string | undefined, source = LOCK_TIMEOUT_VARIABLE): string | undefined {
  if (value === undefined || /^(\d+(ms|s|m|h))+$/.test(value)) return undefined;
  return `${source} ${JSON.stringify(value)} must be a Terraform duration such as 0s, 30s, 5m or 1h (how long plan and apply wait for the state lock)`;
}

/** Progress lines of a running command: what runs where, a heartbeat while it runs, how it ended. */
export interface TerraformProgress {
  /** Names the work in every line, e.g. the stack. */
  readonly label: string;
  /** Receives each line, newline included. */
  readonly log: (line: string) => void;
  /**
   * Milliseconds between two "still running" lines.
   * @default HEARTBEAT_MS (10 s)
   */
  readonly heartbeatMs?: number;
}

/** Options of {@link terraform}. */
export interface TerraformOptions {
  /** Written to terraform's standard input. @default - nothing (terraform never prompts) */
  readonly input?: string;
  /** @default - silent */
  readonly progress?: TerraformProgress;
  /**
   * `-lock-timeout` of commands that take the state lock, when `args` do not set one.
   * @default - `LOCK_TIMEOUT` of `env`, else DEFAULT_LOCK_TIMEOUT
   */
  readonly lockTimeout?: string;
}

/** `args` with `-lock-timeout` added to a locking command that does not set one. */
export function withLockTimeout(args: readonly string[], env: NodeJS.ProcessEnv, lockTimeout?: string): string[] {
  if (!LOCKING_COMMANDS.includes(args[0]) || args.some((a) => a.startsWith("-lock-timeout") || a === "-lock=false")) return [...args];
  const value = lockTimeout ?? env[LOCK_TIMEOUT_VARIABLE] ?? DEFAULT_LOCK_TIMEOUT;
  const problem = lockTimeoutProblem(value, lockTimeout !== undefined ? "lock timeout" : LOCK_TIMEOUT_VARIABLE);
  if (problem) throw new Error(problem);
  return [args[0], `-lock-timeout=${value}`, ...args.slice(1)];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Runs `terraform <args>` in `cwd`, capturing its output (never prompting unless `input` is
 * given). A command that takes the state lock waits for it (see {@link withLockTimeout}). With
 * `progress`, it says when it starts, every 10 s while it runs, and when it ends.
 */
export function terraform(args: string[], cwd: string, env: NodeJS.ProcessEnv, options: TerraformOptions | string = {}): Promise<TerraformResult> {
  // A string is the input alone (the earlier signature, still used by tests).
  const opts: TerraformOptions = typeof options === "string" ? { input: options } : options;
  const start = Date.now();
  const fullArgs = withLockTimeout(args, env, opts.lockTimeout);
  const p = opts.progress;
  const what = `terraform ${args[0]}`;
  p?.log(`  ${p.label}: ${what} started\n`);
  return new Promise((resolve, reject) => {
    const child = spawn("terraform", fullArgs, { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    const heartbeat = p && setInterval(() => p.log(`  ${p.label}: ${what} still running, ${Math.round((Date.now() - start) / 1000)} s elapsed\n`), p.heartbeatMs ?? HEARTBEAT_MS);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e) => {
      clearInterval(heartbeat);
      reject(e);
    });
    child.on("close", (code) => {
      clearInterval(heartbeat);
      const ms = Date.now() - start;
      // plan -detailed-exitcode answers 2 for "changes present": not a failure.
      const failed = code !== 0 && !(code === 2 && args.includes("-detailed-exitcode"));
      p?.log(`  ${p.label}: ${what} ${failed ? `failed after ${seconds(ms)}` : `done in ${seconds(ms)}`}\n`);
      resolve({ code: code ?? 1, stdout, stderr, seconds: ms / 1000 });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Like {@link terraform}, but throws with Terraform's own error text when it fails. */
export async function terraformOk(args: string[], cwd: string, env: NodeJS.ProcessEnv, opts: TerraformOptions = {}): Promise<TerraformResult> {
  const r = await terraform(args, cwd, env, opts);
  if (r.code !== 0) throw terraformFailure(args, cwd, r);
  return r;
}

/** The error for a failed `terraform <args>` in `cwd`: Terraform's error text (else the end of its output). */
export function terraformFailure(args: readonly string[], cwd: string, r: TerraformResult): TerraformError {
  const detail = (r.stderr.trim() || r.stdout.trim().split("\n").slice(-20).join("\n")).trim();
  return new TerraformError(`terraform ${args[0]} failed in ${cwd} (exit ${r.code}):\n${detail}`, r);
}

/** A failed terraform command; the message holds Terraform's error output. */
export class TerraformError extends Error {
  constructor(
    message: string,
    public readonly result: TerraformResult,
  ) {
    super(message);
    this.name = "TerraformError";
  }
}
