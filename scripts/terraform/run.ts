import { spawn } from "child_process";

/** What one terraform command did. */
export interface TerraformResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs `terraform <args>` in `cwd`, capturing its output (never prompting unless `input` is given). */
export function terraform(args: string[], cwd: string, env: NodeJS.ProcessEnv, input?: string): Promise<TerraformResult> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("terraform", args, { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr, seconds: (Date.now() - start) / 1000 }));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** Like {@link terraform}, but throws with Terraform's own error text when it fails. */
export async function terraformOk(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<TerraformResult> {
  const r = await terraform(args, cwd, env);
  if (r.code !== 0) {
    const detail = (r.stderr.trim() || r.stdout.trim().split("\n").slice(-20).join("\n")).trim();
    throw new TerraformError(`terraform ${args[0]} failed in ${cwd} (exit ${r.code}):\n${detail}`, r);
  }
  return r;
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
