import { ChildProcessWithoutNullStreams, spawn } from "child_process";
import * as os from "os";
import type { BuildShellName } from "./buildspec";
import { Readable } from "stream";

// The build's log and the one shell process its commands run in (build-env-ref-cmd: commands are
// Shell Command Language commands, run in one shell so variables and the folder carry over).

// Grace periods when the build ends: for the shell to exit after its input closes, and for
// background processes to let go of the output pipes after SIGTERM.
const SHELL_EXIT_GRACE_MS = 5000;
const OUTPUT_CLOSE_GRACE_MS = 2000;


/** Collects the build's log as lines, and passes each line on as it is complete. */
export class BuildLog {
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
export type ShellOutcome = { kind: "status"; code: number; cwd: string } | { kind: "exited"; code: number } | { kind: "timeout" };

/** Single-quotes a string for sh and bash. */
export const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A command as a brace group. The leading `:` keeps a command of only comments valid (an empty
 * group is a syntax error) and does not change the group's exit status, which is its last command's.
 */
export const group = (command: string) => `{ :\n${command}\n}`;

/**
 * The one shell process a build's commands run in. Each command is sent over stdin as
 * `{ :\n<command>\n} </dev/null 3>&-` (stdin from /dev/null so a command that reads stdin cannot eat
 * the rest of the script; fd 3 closed so children cannot hold it), followed by a line that
 * saves the exported variables (to start over after `exit`) and writes `$?` and `$PWD` to fd 3.
 */
export class BuildShell {
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
