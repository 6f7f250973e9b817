/**
 * The local AWS servers `npm start -- --keep-running` leaves running: one record each under
 * `.local-aws/` of the project (`LOCAL_AWS_STATE_DIR` elsewhere), read by `npm run status` and
 * `npm stop`.
 */
import * as fs from "fs";
import { LOCAL_CREDENTIALS } from "./clients";
import { groupListens, processCommand, recordFile, stateDir, stateDirProblem, type KeptRecord, type KeptServer } from "../shared/endpoint-records";

export { deployedLocalEndpoint, keptServers, processCommand, stateDir, stateDirProblem, STATE_DIR_VARIABLE, type KeptRecord, type KeptServer } from "../shared/endpoint-records";
export { since } from "../shared/durations";

/** The line that points the AWS CLI, SDKs and Terraform at a local AWS (its test credentials). */
export function exportLine(endpoint: string, region: string): string {
  return `export AWS_ENDPOINT_URL=${endpoint} AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey} AWS_DEFAULT_REGION=${region}`;
}

/** Records a server left running. */
export function writeRecord(record: Omit<KeptRecord, "command" | "startedAt">, env: NodeJS.ProcessEnv = process.env): string {
  const dir = stateDir(env);
  fs.mkdirSync(dir, { recursive: true });
  const file = recordFile(dir, record.pid);
  const full: KeptRecord = { ...record, command: processCommand(record.pid) ?? "", startedAt: new Date().toISOString() };
  fs.writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
  return file;
}

/** True when the endpoint answers HTTP at all within 2 s (moto answers some paths with 500). */
export async function answers(endpoint: string): Promise<boolean> {
  try {
    await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends a recorded server (SIGTERM, then SIGKILL after 5 s) and waits for it: its process group
 * (led by its watchdog, started detached: anything it forked goes too, and the server goes even
 * when the watchdog was killed before), and the server's own process.
 */
export async function stopServer(server: KeptServer): Promise<void> {
  const { pid, group, port } = server.record;
  const kill = (target: number, s: NodeJS.Signals) => {
    try {
      process.kill(target, s);
    } catch {
      // already gone
    }
  };
  const signal = (s: NodeJS.Signals) => {
    kill(-(group ?? pid), s); // a record without a group names the watchdog, which led it
    if (processCommand(pid) === server.record.command) kill(pid, s);
  };
  // A zombie (ended, not yet reaped by its parent) has an empty command line: it is gone.
  const alive = () => processCommand(pid) === server.record.command || groupListens(group, port);
  if (server.running) {
    signal("SIGTERM");
    const deadline = Date.now() + 5000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive()) signal("SIGKILL");
  }
  fs.rmSync(server.file, { force: true });
  if (server.record.log !== undefined && !alive()) fs.rmSync(server.record.log, { force: true });
}

/** The flags of `npm stop` and `npm run status`: only --help; a bad LOCAL_AWS_STATE_DIR is refused too. */
export function parseRecordCommandFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): "help" | "run" {
  const problems = argv.filter((a) => a !== "--help" && a !== "-h").map((a) => `unknown flag ${JSON.stringify(a)} (known: --help)`);
  const dirProblem = stateDirProblem(env);
  if (dirProblem) problems.push(dirProblem);
  if (problems.length) throw new Error(problems.join("\n"));
  return argv.length ? "help" : "run";
}
