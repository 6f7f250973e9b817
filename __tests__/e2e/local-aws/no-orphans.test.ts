import { spawn } from "child_process";
import * as path from "path";
import { requireBuiltApp, ROOT } from "../../support/app";

/**
 * The local AWS a process starts goes with it, however it ends: `kill -9` of
 * npm start left its moto_server running, orphaned. A kept-running one (npm start
 * --keep-running, which detaches it) stays.
 */
const SERVER = path.join(ROOT, "dist", "scripts", "local-aws", "server.js");

/** Starts a node process that starts the local AWS, prints `<pid> <endpoint>`, then detaches it and exits, or waits. */
function starter(detach: boolean): Promise<{ child: ReturnType<typeof spawn>; pid: number }> {
  const script = `require(${JSON.stringify(SERVER)}).startLocalAws().then((a) => { console.log(a.pid); ${detach ? "a.detach(); process.exit(0);" : "setInterval(() => {}, 1000);"} })`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve({ child, pid: Number(out.trim()) });
    });
    child.on("exit", (code) => (out.includes("\n") ? undefined : reject(new Error(`the starter exited with ${code}`))));
  });
}

/** Whether any process of the group `pgid` still runs (zombies do not count). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  const { execFileSync } = require("child_process");
  const states = execFileSync("ps", ["-o", "stat=", "-g", String(pgid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  return states.some((s: string) => !s.startsWith("Z"));
}

async function waitUntil(ok: () => boolean, seconds: number): Promise<boolean> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return ok();
}

beforeAll(() => {
  requireBuiltApp();
});

describe("the local AWS a process starts", () => {
  test("is stopped within seconds when that process is killed with SIGKILL", async () => {
    const { child, pid } = await starter(false);
    expect(groupAlive(pid)).toBe(true);
    child.kill("SIGKILL");
    const gone = await waitUntil(() => !groupAlive(pid), 10);
    if (!gone) process.kill(-pid, "SIGKILL");
    expect(gone).toBe(true);
  });

  test("keeps running after its process exits when it was detached (npm start --keep-running)", async () => {
    const { child, pid } = await starter(true);
    await new Promise((r) => child.once("exit", r));
    try {
      // Longer than the watchdog's one-second poll: it would have stopped it by now.
      await new Promise((r) => setTimeout(r, 3000));
      expect(groupAlive(pid)).toBe(true);
    } finally {
      process.kill(-pid, "SIGTERM");
    }
  });
});
