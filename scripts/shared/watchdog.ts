import { ChildProcess } from "child_process";

/**
 * A small shell watchdog for a long-running helper process (a local AWS server, a shared provider): run
 * as `sh -c WATCHDOG <name> <parent pid> <command…>`, spawned detached so that it leads its own
 * process group. When the process that started it ends in any way — SIGKILL included, which no
 * exit handler sees — the watchdog stops the command (SIGTERM) within a second, so nothing is left
 * orphaned. SIGUSR1 (npm start --keep-running) detaches it: from then on it only waits for the
 * command. SIGTERM or SIGINT to the watchdog stop the command.
 */
export const WATCHDOG = [
  'parent="$1"; shift',
  '"$@" & child=$!',
  "kept=",
  "trap 'kept=1' USR1",
  // Stops the command and waits for it here, not after another round of the loop's `sleep 1`.
  `trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit' TERM INT`,
  'while kill -0 "$child" 2>/dev/null; do',
  '  if [ -z "$kept" ] && ! kill -0 "$parent" 2>/dev/null; then kill -TERM "$child" 2>/dev/null; break; fi',
  "  sleep 1",
  "done",
  'wait "$child"',
].join("\n");

/** Sends `signal` to the process group `child` leads (it was spawned detached), else to `child` alone. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Stops the process group `child` leads: SIGTERM, then SIGKILL after `graceMs`; resolves once `exited` has. */
export async function stopGroup(child: ChildProcess, exited: Promise<void>, graceMs = 3000): Promise<void> {
  killGroup(child, "SIGTERM");
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
