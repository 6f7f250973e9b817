/**
 * Records of the local endpoints left running (a local AWS kept running by the command that
 * started it): one JSON file each under `.local-aws/` of the project (`LOCAL_AWS_STATE_DIR`
 * elsewhere). The commands that work on what is deployed read them to find the endpoint.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../../config/environments";
import { listeningPids, processGroup } from "./listeners";

/** The variable that moves the records elsewhere (tests use it). */
export const STATE_DIR_VARIABLE = "LOCAL_AWS_STATE_DIR";

/** What a command that leaves a local endpoint running records about it. */
export interface KeptRecord {
  /** The server's own process (the one listening on the port). */
  readonly pid: number;
  /**
   * The server's process group (led by the watchdog that started it; records written before it
   * was recorded lack it): a server whose watchdog was killed still runs in it and is found by it.
   */
  readonly group?: number;
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
  /** The server's log file, removed when the server is stopped. */
  readonly log?: string;
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

/** The file of the record of `pid` in `dir`. */
export const recordFile = (dir: string, pid: number) => path.join(dir, `${pid}.json`);

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

/** A record and whether its server still runs. */
export interface KeptServer {
  readonly record: KeptRecord;
  readonly file: string;
  /**
   * The server still runs: the recorded process with the recorded command line, or a process of
   * the recorded group that listens on the recorded port.
   */
  readonly running: boolean;
}

/** Whether a process of `group` listens on 127.0.0.1:`port`. */
export function groupListens(group: number | undefined, port: number): boolean {
  return group !== undefined && (listeningPids(port) ?? []).some((p) => processGroup(p) === group);
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
    servers.push({ record, file, running: (now !== undefined && now !== "" && now === record.command) || groupListens(record.group, record.port) });
  }
  return servers.sort((a, b) => a.record.startedAt.localeCompare(b.record.startedAt));
}

/**
 * The endpoint of the local environments for a command: AWS_ENDPOINT_URL, else the one
 * kept-running local AWS (said on `log`); an error when there are several or none.
 * @param command the npm script, e.g. `destroy`
 * @param doing what the command does there, e.g. `destroying`
 * @param noneNote why there is none, or what to do about it
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
