import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { listeningPids, processGroup } from "../shared/listeners";
import { secondsPerMinute } from "./limits";
import { WATCHDOG, killGroup, stopGroup } from "../shared/watchdog";

export { listeningPids } from "../shared/listeners";

/** A running embedded local AWS (moto's server). */
export interface LocalAws {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** The server's own process ID (the Python process that listens on the port). */
  readonly pid: number;
  /**
   * Its process group: the watchdog that started it leads it, and it outlives the watchdog (a
   * `kill -9` of the watchdog leaves the server in it), so stopping the group stops the server.
   */
  readonly group: number;
  /** The file the server logs to (in TMPDIR): removed by stop(); a detached server's is removed by `npm stop`. */
  readonly logFile: string;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Lets the server outlive this process (it is then stopped with `kill -- -<group>`, as `npm stop` does). */
  detach(): void;
  /** The last ~4,000 characters of the server's log (one line per request with its HTTP status), for a failure's message; empty once stopped. */
  logTail(): string;
}

/** How to install moto's server, for error messages. */
export const MOTO_INSTALL_HINT = "install it with `pip install 'moto[server]'` (Python 3), or set LOCAL_AWS_PYTHON to a Python 3 that has it";

/**
 * The server program: moto's server with this project's additions (local_aws.py beside this
 * file in the sources; from dist/, the one in scripts/local-aws/).
 */
export function localAwsProgram(): string {
  const beside = path.join(__dirname, "local_aws.py");
  return fs.existsSync(beside) ? beside : path.resolve(__dirname, "..", "..", "..", "scripts", "local-aws", "local_aws.py");
}

/**
 * The command that runs the local AWS: `LOCAL_AWS_PYTHON` (else `python3`) with local_aws.py, once
 * that Python is found to import moto's server; a clear error when it cannot. MOTO_SERVER, which
 * named a plain moto_server before the additions, is refused with what to set instead.
 */
export function localAwsCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.MOTO_SERVER !== undefined) {
    throw new Error(
      `MOTO_SERVER=${JSON.stringify(env.MOTO_SERVER)} is no longer read: the local AWS is moto's server with this project's additions (scripts/local-aws/local_aws.py); set LOCAL_AWS_PYTHON to a Python 3 that has moto[server] instead`,
    );
  }
  const python = env.LOCAL_AWS_PYTHON ?? "python3";
  const check = spawnSync(python, ["-c", "import moto.server"], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", env, timeout: 60_000 });
  if (check.status !== 0) {
    const why = check.error ? `${JSON.stringify(python)} was not found` : `${JSON.stringify(python)} cannot import moto.server`;
    throw new Error(`moto's server not found (${why}${env.LOCAL_AWS_PYTHON === undefined ? "" : ", from LOCAL_AWS_PYTHON"}): ${MOTO_INSTALL_HINT}`);
  }
  return [python, localAwsProgram()];
}

/** The compiled build runner the local AWS starts for each StartBuild (dist/scripts/local-aws/build.js). */
export function localBuildRunner(): string {
  return path.basename(path.resolve(__dirname, "..", "..")) === "dist" ? path.join(__dirname, "build.js") : path.resolve(__dirname, "..", "..", "dist", "scripts", "local-aws", "build.js");
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when something accepts connections on the port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const started = new Set<ChildProcess>();

// Whatever happens to this process, the servers it started go with it: no orphans (on a normal
// exit at once; on SIGKILL through the watchdog).
process.once("exit", () => started.forEach((c) => killGroup(c, "SIGKILL")));

async function tryStart(cmd: readonly string[], port: number, env: NodeJS.ProcessEnv): Promise<LocalAws | "port-taken"> {
  if (await portInUse(port)) return "port-taken";
  // moto logs every request to stderr. It goes to a file, not a pipe: a pipe is drained only while
  // this process's event loop runs, so a caller blocked in spawnSync (a long terraform run) would
  // fill it and moto would stop answering mid-run.
  const log = path.join(os.tmpdir(), `moto-${port}-${process.pid}.log`);
  const logFd = fs.openSync(log, "w");
  const child = spawn("sh", ["-c", WATCHDOG, "moto-watchdog", String(process.pid), ...cmd, "-H", "127.0.0.1", "-p", String(port)], {
    env,
    detached: true, // its own process group, so stop() also ends anything it forked
    stdio: ["ignore", "ignore", logFd],
  });
  fs.closeSync(logFd);
  started.add(child);
  /** The end of moto's log, for error messages. */
  const tail = (): string => {
    try {
      return fs.readFileSync(log, "utf8").slice(-4000);
    } catch {
      return "";
    }
  };
  const removeLog = (): void => fs.rmSync(log, { force: true });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    await stopGroup(child, exited);
    started.delete(child);
    removeLog();
  };

  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      started.delete(child);
      const stderr = tail();
      removeLog();
      if (/address already in use/i.test(stderr)) return "port-taken";
      throw new Error(`the local AWS (moto) exited during start-up (code ${child.exitCode}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      // The server that answers must be ours: another process may have started one on the same
      // port between the check above and our server's bind (ours then fails with "address
      // already in use"), and two runs sharing one local AWS see each other's resources.
      const owners = res.ok ? listeningPids(port) : undefined;
      if (owners !== undefined && !owners.some((pid) => processGroup(pid) === child.pid)) {
        await stop();
        return "port-taken";
      }
      if (res.ok) {
        const detach = (): void => {
          started.delete(child);
          child.kill("SIGUSR1"); // the watchdog keeps moto running once this process ends
          child.unref();
        };
        // The server's own pid, not the watchdog's: the process that answers on the port.
        const pid = owners?.find((p) => processGroup(p) === child.pid) ?? (child.pid as number);
        return { endpoint, port, pid, group: child.pid as number, logFile: log, stop, detach, logTail: tail };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stderr = tail();
  await stop();
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
}

/**
 * Starts moto's server on 127.0.0.1, on `port` if given and free, else on a free port (a port
 * taken meanwhile is replaced by another, up to five times), and waits until it answers.
 */
export async function startLocalAws(opts: { port?: number; env?: NodeJS.ProcessEnv } = {}): Promise<LocalAws> {
  const env = { ...(opts.env ?? process.env) };
  secondsPerMinute(env); // a bad LOCAL_AWS_SECONDS_PER_MINUTE is refused before anything starts
  const cmd = localAwsCommand(env);
  // What StartBuild runs: this Node and the compiled build runner (scripts/local-aws/build.ts).
  env.LOCAL_AWS_NODE = process.execPath;
  env.LOCAL_AWS_BUILD_RUNNER = localBuildRunner();
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = attempt === 0 && opts.port !== undefined ? opts.port : await freePort();
    const result = await tryStart(cmd, port, env);
    if (result !== "port-taken") return result;
  }
  throw new Error("could not find a free port for moto_server after 5 attempts");
}
