import { ChildProcess, fork } from "child_process";
import * as path from "path";

/**
 * A pass-through HTTP proxy in front of the local AWS that kills a process group at an exact
 * point of an apply: once armed, the moment the local AWS has answered the named API call (by its
 * `X-Amz-Target`, e.g. `CreateRepository` of ECR), it sends SIGKILL to the group and drops the
 * answer, so the killed Terraform never learns of what it created and nothing that depends on it
 * is created. Polling the local AWS from outside cannot kill that precisely: resources created in
 * the few milliseconds before the kill made the fault tests flaky.
 *
 * Every command of a test goes through the same proxy (its `endpoint`), so the endpoint a stack
 * was synthesized with (its backend and profile name it) stays the same before and after the
 * kill. The proxy runs in a process of its own (kill-proxy-server.js).
 */
export interface KillProxy {
  readonly endpoint: string;
  /** Kills the process group `pgid` when the local AWS has answered the next `operation` call. */
  arm(operation: string, pgid: number): void;
  /** Whether the armed kill happened. */
  fired(): Promise<boolean>;
  close(): Promise<void>;
}

export async function startKillProxy(upstream: string): Promise<KillProxy> {
  const child: ChildProcess = fork(path.join(__dirname, "kill-proxy-server.js"), [upstream], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port?: number }) => (m.port ? resolve(m.port) : reject(new Error(`kill proxy: ${JSON.stringify(m)}`))));
    child.once("exit", (code) => reject(new Error(`the kill proxy exited (${code}) before it listened`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    arm: (operation, pgid) => {
      child.send({ arm: { operation, pgid } });
    },
    // IPC messages arrive in order: the answer reflects every call the proxy had answered by then.
    fired: () =>
      new Promise<boolean>((resolve) => {
        child.once("message", (m: { fired: boolean }) => resolve(m.fired));
        child.send({ ask: "fired" });
      }),
    close: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
