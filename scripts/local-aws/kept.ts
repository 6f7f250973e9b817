/**
 * The local AWS servers `npm start -- --keep-running` leaves running: one record each under
 * `.local-aws/` of the project (`LOCAL_AWS_STATE_DIR` elsewhere), read by `npm run status` and
 * `npm stop`.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../../config/environments";

/** The variable that moves the records elsewhere (tests use it). */
export const STATE_DIR_VARIABLE = "LOCAL_AWS_STATE_DIR";

/** What `npm start -- --keep-running` records about the server it leaves running. */
export interface KeptRecord {
  readonly pid: number;
  readonly port: number;
  readonly endpoint: string;
  /** The server's command line when it was recorded: a reused pid is not mistaken for it. */
  readonly command: string;
  /** ISO time of the record. */
  readonly startedAt: string;
  /** The stacks deployed into it. */
  readonly stacks: readonly string[];
  /** The region to point the AWS CLI at. */
  readonly region: string;
}

/** The folder of the records: `LOCAL_AWS_STATE_DIR`, else `.local-aws` of the project. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env[STATE_DIR_VARIABLE];
  return dir !== undefined && dir !== "" ? path.resolve(dir) : path.join(projectRoot(), ".local-aws");
}

/** The problem with `LOCAL_AWS_STATE_DIR` (set, but an existing file rather than a folder), or undefined. */
export function stateDirProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env[STATE_DIR_VARIABLE];
  if (dir === undefined) return undefined;
  if (dir === "") return `${STATE_DIR_VARIABLE} is set but empty: unset it (records go to .local-aws/ of the project) or name a folder`;
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) return `${STATE_DIR_VARIABLE} ${JSON.stringify(dir)} is a file, not a folder (where the kept-running local AWS is recorded)`;
  return undefined;
}

const recordFile = (dir: string, pid: number) => path.join(dir, `${pid}.json`);

/** The command line of a running process, or undefined when there is none. */
export function processCommand(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but is someone else's, so not a server this project started.
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return undefined;
    return "";
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    try {
      return execFileSync("ps", ["-o", "command=", "-p", String(pid)], { encoding: "utf8" }).trim();
    } catch {
      return undefined;
    }
  }
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

/** A record and whether its server still runs. */
export interface KeptServer {
  readonly record: KeptRecord;
  readonly file: string;
  /** The recorded process still runs with the recorded command line. */
  readonly running: boolean;
}

/** Every record, oldest first, each with whether its server still runs. Unreadable records are skipped. */
export function keptServers(env: NodeJS.ProcessEnv = process.env): KeptServer[] {
  const dir = stateDir(env);
  if (!fs.existsSync(dir)) return [];
  const servers: KeptServer[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => /^\d+\.json$/.test(n))) {
    const file = path.join(dir, name);
    let record: KeptRecord;
    try {
      record = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
      continue;
    }
    const now = processCommand(record.pid);
    servers.push({ record, file, running: now !== undefined && now !== "" && now === record.command });
  }
  return servers.sort((a, b) => a.record.startedAt.localeCompare(b.record.startedAt));
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

/** Ends a recorded server's process group (SIGTERM, then SIGKILL after 5 s) and waits for it. */
export async function stopServer(server: KeptServer): Promise<void> {
  const { pid } = server.record;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s); // its own process group (started detached): anything it forked goes too
    } catch {
      try {
        process.kill(pid, s);
      } catch {
        // already gone
      }
    }
  };
  // A zombie (ended, not yet reaped by its parent) has an empty command line: it is gone.
  const alive = () => !!processCommand(pid);
  if (server.running) {
    signal("SIGTERM");
    const deadline = Date.now() + 5000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive()) signal("SIGKILL");
  }
  fs.rmSync(server.file, { force: true });
}

/** "3 min", "2 h 5 min", "40 s": how long since `iso`. */
export function since(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The flags of `npm stop` and `npm run status`: only --help; a bad LOCAL_AWS_STATE_DIR is refused too. */
export function parseRecordCommandFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): "help" | "run" {
  const problems = argv.filter((a) => a !== "--help" && a !== "-h").map((a) => `unknown flag ${JSON.stringify(a)} (known: --help)`);
  const dirProblem = stateDirProblem(env);
  if (dirProblem) problems.push(dirProblem);
  if (problems.length) throw new Error(problems.join("\n"));
  return argv.length ? "help" : "run";
}

/**
 * The endpoint where the local environments were deployed, for a command that works on what is
 * there (destroy, recover, bootstrap-state): AWS_ENDPOINT_URL, else the one kept-running local
 * AWS (said on `log`); an error when there are several or none.
 * @param command the npm script, e.g. `destroy`
 * @param doing what the command does there, e.g. `destroying`
 * @param noneNote why a local AWS started for a run does not count
 * @param verb what there is nothing to do when none runs @default command
 */
export function deployedLocalEndpoint(
  env: NodeJS.ProcessEnv,
  command: string,
  doing: string,
  log: (s: string) => void,
  noneNote = "a local AWS started for a run is gone with it",
  verb = command,
): string {
  if (env.AWS_ENDPOINT_URL !== undefined) return env.AWS_ENDPOINT_URL;
  const running = keptServers(env).filter((k) => k.running);
  if (running.length === 1) {
    log(`${doing} in the local AWS kept running at ${running[0].record.endpoint} (pid ${running[0].record.pid}; npm run status)\n`);
    return running[0].record.endpoint;
  }
  if (running.length > 1) {
    throw new Error(
      `${running.length} local AWS servers are kept running (${running.map((k) => k.record.endpoint).join(", ")}): ` +
        `say which with AWS_ENDPOINT_URL=<endpoint> npm run ${command}`,
    );
  }
  throw new Error(`nothing to ${verb}: no local AWS is running (AWS_ENDPOINT_URL is unset and npm run status shows none); ${noneNote}`);
}
