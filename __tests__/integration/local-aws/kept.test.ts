import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { keptServers, processCommand, since, writeRecord } from "../../../scripts/local-aws/kept";
import { freePort, portInUse } from "../../../scripts/local-aws/server";
import { listeningPids } from "../../../scripts/shared/listeners";
import { parseStatusFlags, status } from "../../../scripts/local-aws/status";
import { parseStopFlags, stop } from "../../../scripts/local-aws/stop";
import { START_BUILD_NOTE } from "../../../scripts/local-aws/limits";
import { requireBuiltApp, tempDir } from "../../support/app";
import { messageOf } from "../../support/synth";

/**
 * `npm run status` and `npm stop` for a local AWS kept running by `npm start -- --keep-running`,
 * on a stand-in server (a detached `sleep`, its own process group like moto_server's) recorded
 * the way npm start records one, in a private LOCAL_AWS_STATE_DIR.
 */
const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, "SIGKILL");
});

function standIn(): ChildProcess {
  const child = spawn("sleep", ["300"], { detached: true, stdio: "ignore" });
  started.push(child);
  return child;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));

function collect(): { log: (s: string) => void; text: () => string } {
  let out = "";
  return { log: (s) => (out += s), text: () => out };
}

describe("npm run status and npm stop", () => {
  test("with nothing recorded, status says so and stop has nothing to stop (exit 0 both)", async () => {
    const env = { LOCAL_AWS_STATE_DIR: tempDir("kept-none") };
    const s = collect();
    expect(await status(env, s.log)).toBe(0);
    expect(s.text()).toBe("no local AWS is kept running (start one with: npm start -- --keep-running)\n");
    const t = collect();
    expect(await stop(env, t.log)).toBe(0);
    expect(t.text()).toBe("no local AWS is kept running: nothing to stop\n");
  });

  test("status shows a recorded server's endpoint, process, start time, stacks and how to use and stop it; stop ends it and removes the record", async () => {
    // GIVEN a server recorded as npm start -- --keep-running records it
    const dir = tempDir("kept");
    const env = { LOCAL_AWS_STATE_DIR: dir };
    const server = standIn();
    const log = path.join(dir, "server.log");
    fs.writeFileSync(log, "GET / 200\n");
    const file = writeRecord({ pid: server.pid!, port: 45678, endpoint: "http://127.0.0.1:45678", stacks: ["local-eu-central-1"], region: "eu-central-1", log }, env);
    expect(file).toBe(path.join(dir, `${server.pid}.json`));

    // WHEN
    const s = collect();
    await status(env, s.log);

    // THEN
    const [head, ...rest] = s.text().split("\n");
    expect(head).toMatch(new RegExp(`^local AWS running at http://127.0.0.1:45678: server pid ${server.pid}, started \\S+ \\(\\d+ s ago\\), NOT answering; record `));
    expect(rest).toEqual([
      "  deployed: local-eu-central-1",
      "  use it:   export AWS_ENDPOINT_URL=http://127.0.0.1:45678 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=eu-central-1",
      `  note:     ${START_BUILD_NOTE}`,
      "  stop it:  npm stop",
      "",
    ]);

    // WHEN stopped
    const t = collect();
    await stop(env, t.log);
    await exited(server);

    // THEN
    expect(t.text()).toBe(`stopped the local AWS at http://127.0.0.1:45678 (pid ${server.pid})\n`);
    expect(alive(server.pid!)).toBe(false);
    expect(fs.existsSync(file)).toBe(false);
    // Its log went with it: nothing of the kept-running server is left in the TMPDIR it logged to.
    expect(fs.existsSync(log)).toBe(false);
  });

  test("a record whose server has ended is reported and removed, and a reused process ID is never signalled", async () => {
    const dir = tempDir("kept-stale");
    const env = { LOCAL_AWS_STATE_DIR: dir };
    // A server that ended.
    const gone = standIn();
    writeRecord({ pid: gone.pid!, port: 1, endpoint: "http://127.0.0.1:1", stacks: [], region: "eu-central-1" }, env);
    process.kill(-gone.pid!, "SIGKILL");
    await exited(gone);
    // A live process whose command is not the recorded one (the pid was reused).
    const other = standIn();
    const file = writeRecord({ pid: other.pid!, port: 2, endpoint: "http://127.0.0.1:2", stacks: [], region: "eu-central-1" }, env);
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), command: "/usr/bin/moto_server -p 2" }));

    expect(keptServers(env).map((k) => k.running)).toEqual([false, false]);
    const t = collect();
    await stop(env, t.log);
    expect(t.text()).toBe(
      `the local AWS recorded at http://127.0.0.1:1 (pid ${gone.pid}) was not running any more: record removed\n` +
        `the local AWS recorded at http://127.0.0.1:2 (pid ${other.pid}) was not running any more: record removed\n`,
    );
    expect(alive(other.pid!)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("a server whose watchdog was killed (kill -9 of its group's leader) still runs: status says so, and stop ends it", async () => {
    // GIVEN a stand-in laid out like the local AWS: a watchdog shell leading the process group,
    // the server (here Python's http.server) a child in it, listening on the recorded port
    const env = { LOCAL_AWS_STATE_DIR: tempDir("kept-watchdog") };
    const port = await freePort();
    const watchdog = spawn("sh", ["-c", `python3 -m http.server ${port} --bind 127.0.0.1 >/dev/null 2>&1 & wait`], { detached: true, stdio: "ignore" });
    started.push(watchdog);
    let server: number | undefined;
    for (let i = 0; i < 100 && server === undefined; i++) {
      server = (listeningPids(port) ?? [])[0];
      if (server === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(server).toBeDefined();
    const endpoint = `http://127.0.0.1:${port}`;
    writeRecord({ pid: server!, group: watchdog.pid!, port, endpoint, stacks: ["local-eu-central-1"], region: "eu-central-1" }, env);

    // WHEN the watchdog is killed: the server runs on, its parent gone
    process.kill(watchdog.pid!, "SIGKILL");
    await exited(watchdog);

    // THEN status tells the truth, and stop stops what answers there
    const s = collect();
    await status(env, s.log);
    expect(s.text().split("\n")[0]).toMatch(new RegExp(`^local AWS running at ${endpoint}: server pid ${server} \\(process group ${watchdog.pid}\\), started \\S+ \\(\\d+ s ago\\), answering; record `));
    const t = collect();
    await stop(env, t.log);
    expect(t.text()).toBe(`stopped the local AWS at ${endpoint} (pid ${server})\n`);
    // Gone (a zombie at most: its parent, the watchdog, is dead, and whoever adopted it may not reap it)
    expect(processCommand(server!) ?? "").toBe("");
    expect(await portInUse(port)).toBe(false);
    expect(keptServers(env)).toEqual([]);
  });

  test("status removes a stale record and says so", async () => {
    const env = { LOCAL_AWS_STATE_DIR: tempDir("kept-stale-status") };
    const gone = standIn();
    writeRecord({ pid: gone.pid!, port: 1, endpoint: "http://127.0.0.1:1", stacks: [], region: "eu-central-1" }, env);
    process.kill(-gone.pid!, "SIGKILL");
    await exited(gone);
    const s = collect();
    await status(env, s.log);
    expect(s.text()).toMatch(new RegExp(`^the local AWS recorded at http://127.0.0.1:1 \\(pid ${gone.pid}, started \\S+\\) is not running any more: record removed\\n$`));
    expect(keptServers(env)).toEqual([]);
  });

  test("how long ago reads as seconds, minutes or hours", () => {
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    expect([40, 180, 7500].map((s) => since("2026-01-01T00:00:00Z", t0 + s * 1000))).toEqual(["40 s", "3 min", "2 h 5 min"]);
  });
});

describe("their flags", () => {
  test("--help is the only flag; anything else, or a LOCAL_AWS_STATE_DIR that is a file, is one line each", () => {
    expect(parseStatusFlags(["--help"], {})).toBe("help");
    expect(parseStopFlags([], {})).toBe("run");
    const file = path.join(tempDir("kept-file"), "f");
    fs.writeFileSync(file, "");
    expect(messageOf(() => parseStopFlags(["--all"], { LOCAL_AWS_STATE_DIR: file })).split("\n")).toEqual([
      'unknown flag "--all" (known: --help)',
      `LOCAL_AWS_STATE_DIR ${JSON.stringify(file)} is a file, not a folder (where the kept-running local AWS is recorded)`,
    ]);
    expect(messageOf(() => parseStatusFlags([], { LOCAL_AWS_STATE_DIR: "" }))).toBe(
      "LOCAL_AWS_STATE_DIR is set but empty: unset it (records go to .local-aws/ of the project) or name a folder",
    );
  });

  test.each([
    ["stop", /^Usage: npm stop\n/],
    ["status", /^Usage: npm run status\n/],
  ])("`%s --help` prints its own usage; a bad flag exits 2 and runs nothing", (name, usage) => {
    const script = path.join(requireBuiltApp(), "..", "scripts", "local-aws", `${name}.js`);
    const help = spawnSync(process.execPath, [script, "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(usage);
    const bad = spawnSync(process.execPath, [script, "-x"], { encoding: "utf8" });
    expect({ code: bad.status, stdout: bad.stdout, stderr: bad.stderr }).toEqual({ code: 2, stdout: "", stderr: 'error: unknown flag "-x" (known: --help)\n' });
  });
});
