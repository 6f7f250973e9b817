import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { freePort, listeningPids, LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { tempDir } from "../../support/app";

/**
 * Two runs that start a local AWS at the same moment can be handed the same free port. The one
 * whose server loses the bind must not take the other's server for its own (both would then
 * deploy into one local AWS and see each other's resources: "Project already exists").
 */
jest.setTimeout(120_000);

test("a server another process starts on the port meanwhile is not taken for ours: ours moves to another port", async () => {
  // GIVEN a local AWS (LOCAL_AWS_PYTHON stands in for its Python) that, on the port asked for first, loses the race: another process (not
  // ours: its own session) starts answering there, and ours fails to bind, as moto does
  const port = await freePort();
  const dir = tempDir("moto-port-race");
  fs.mkdirSync(path.join(dir, "www", "moto-api"), { recursive: true });
  fs.writeFileSync(path.join(dir, "www", "moto-api", "data.json"), "{}");
  const foreignPid = path.join(dir, "foreign.pid");
  const fake = path.join(dir, "python3");
  fs.writeFileSync(
    fake,
    [
      "#!/bin/sh",
      `for a in "$@"; do`,
      `  if [ "$a" = "${port}" ]; then`,
      `    setsid python3 -m http.server ${port} --bind 127.0.0.1 --directory "${dir}/www" >/dev/null 2>&1 & echo $! > "${foreignPid}"`,
      "    sleep 3",
      `    echo "OSError: [Errno 98] Address already in use" >&2`,
      "    exit 1",
      "  fi",
      "done",
      `exec python3 "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );

  let aws: LocalAws | undefined;
  try {
    // WHEN
    aws = await startLocalAws({ port, env: { ...process.env, LOCAL_AWS_PYTHON: fake } });

    // THEN ours runs on another port, and the server there is ours (its listener is our moto)
    expect(fs.existsSync(foreignPid)).toBe(true);
    expect(aws.port).not.toBe(port);
    const owners = listeningPids(aws.port) ?? [];
    expect(owners.length).toBeGreaterThan(0);
    const groups = owners.map((pid) => execFileSync("ps", ["-o", "pgid=", "-p", String(pid)], { encoding: "utf8" }).trim());
    expect(groups).toContain(String(aws.group));
    // and the pid it reports is the listening server itself
    expect(owners).toContain(aws.pid);
    // and the foreign server on the first port is still the foreign one
    expect(listeningPids(port)).toEqual([Number(fs.readFileSync(foreignPid, "utf8"))]);
  } finally {
    await aws?.stop();
    if (fs.existsSync(foreignPid)) spawnSync("kill", [fs.readFileSync(foreignPid, "utf8").trim()]);
  }
});

test("listeningPids names the process that listens on a port, and nothing for a port nobody listens on", async () => {
  const port = await freePort();
  expect(listeningPids(port)).toBeUndefined();
  const net = await import("net");
  const server = net.createServer().listen(port, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  try {
    expect(listeningPids(port)).toEqual([process.pid]);
  } finally {
    server.close();
  }
});
