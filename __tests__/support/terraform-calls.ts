import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/**
 * A `terraform` first on PATH that records when each terraform process starts and ends (its pid,
 * its command, its stack folder) and runs the real one: what a run's parallelism bound is measured
 * on. `FAIL_STACK` / `FAIL_COMMAND` make that command fail in that stack's folder, without terraform.
 */

/** One terraform process, as the wrapper saw it (seconds since the epoch). */
export interface TerraformCall {
  readonly pid: string;
  readonly command: string;
  readonly stack: string;
  readonly start: number;
  readonly end: number;
}

/** Writes the wrapper into `dir` (which goes first on PATH); the real terraform is found before PATH changes, and its absence fails. */
export function writeTerraformWrapper(dir: string): void {
  const real = spawnSync("sh", ["-c", "command -v terraform"], { encoding: "utf8" }).stdout.trim();
  if (!real) throw new Error("terraform is not on PATH: the bound is measured on real terraform processes");
  fs.mkdirSync(dir, { recursive: true });
  // One short line per event, appended (O_APPEND: lines of concurrent processes do not mix).
  fs.writeFileSync(
    path.join(dir, "terraform"),
    `#!/bin/sh
echo "start $(date +%s.%N) $$ $1 $(basename "$PWD")" >> "$TERRAFORM_CALLS"
if [ -n "$FAIL_STACK" ] && [ "$1" = "$FAIL_COMMAND" ] && [ "$(basename "$PWD")" = "$FAIL_STACK" ]; then
  echo "Error: injected $1 failure in $FAIL_STACK" >&2
  code=1
else
  "${real}" "$@"
  code=$?
fi
echo "end $(date +%s.%N) $$ $1 $code" >> "$TERRAFORM_CALLS"
exit $code
`,
    { mode: 0o755 },
  );
}

/** The terraform processes the wrapper logged to `log`; each must have ended. */
export function terraformCalls(log: string): TerraformCall[] {
  const starts = new Map<string, { start: number; command: string; stack: string }>();
  const calls: TerraformCall[] = [];
  for (const line of fs.readFileSync(log, "utf8").trim().split("\n")) {
    const [what, at, pid, command, stack] = line.split(" ");
    if (what === "start") starts.set(pid, { start: Number(at), command, stack });
    else {
      const s = starts.get(pid);
      if (!s) throw new Error(`end without start in ${log}: ${line}`);
      calls.push({ pid, ...s, end: Number(at) });
      starts.delete(pid);
    }
  }
  if (starts.size) throw new Error(`terraform processes that never ended: ${[...starts.keys()].join(", ")}`);
  return calls;
}

/** The most processes running at one moment (a process that ends exactly when another starts does not overlap it). */
export function peak(calls: readonly TerraformCall[]): number {
  return Math.max(0, ...calls.map((p) => calls.filter((q) => q.start <= p.start && p.start < q.end).length));
}
