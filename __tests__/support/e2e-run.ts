import { spawn } from "child_process";
import * as path from "path";
import { requireBuiltApp, ROOT } from "./app";

/** What one run of a compiled command did. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a compiled operator command (`dist/scripts/<script>.js`, e.g. `local-aws/start`) as a user
 * runs it, from the project root, with `env` on top of this process's environment (a value of
 * undefined removes the variable).
 */
export function runScript(script: string, args: string[], env: Record<string, string | undefined>): Promise<Run> {
  requireBuiltApp();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "dist", "scripts", `${script}.js`), ...args], { cwd: ROOT, env: childEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** `npm start` (node dist/scripts/local-aws/start.js). */
export function start(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return runScript("local-aws/start", args, env);
}

/** Node's warning about an untested Node version, which says nothing about the run. */
export function withoutNodeWarnings(stderr: string): string {
  return stderr.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?trace-warnings[^\n]*\n/, "");
}

/** True while process `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The server process and its process group that a run of `npm start` says it started (NaN when it says none). */
export function startedServer(stdout: string): { pid: number; group: number } {
  const m = /server pid (\d+) \(process group (\d+)\)/.exec(stdout);
  return { pid: Number(m?.[1]), group: Number(m?.[2]) };
}

/** Stops a local AWS that `npm start --keep-running` left running (its whole process group). */
export function stopKept(group: number): void {
  if (!Number.isFinite(group)) return;
  try {
    process.kill(-group, "SIGTERM");
  } catch {
    // already gone
  }
}
