import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { CodeBuildClient, CreateProjectCommand, StartBuildCommand } from "@aws-sdk/client-codebuild";
import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { clientConfig } from "../../../scripts/local-aws/clients";
import { startLocalAws } from "../../../scripts/local-aws/server";
import { requireBuiltApp, ROOT, tempDir } from "../../support/app";

/**
 * The local AWS a process starts goes with it, however it ends: `kill -9` of
 * npm start left its moto_server running, orphaned. A kept-running one (npm start
 * --keep-running, which detaches it) stays.
 */
const SERVER = path.join(ROOT, "dist", "scripts", "local-aws", "server.js");

/** Starts a node process that starts the local AWS, prints `<pid> <endpoint>`, then detaches it and exits, or waits. */
function starter(detach: boolean): Promise<{ child: ReturnType<typeof spawn>; pid: number }> {
  const script = `require(${JSON.stringify(SERVER)}).startLocalAws().then((a) => { console.log(a.group); ${detach ? "a.detach(); process.exit(0);" : "setInterval(() => {}, 1000);"} })`;
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

describe("what the local AWS starts goes with it, even on kill -9 of the server", () => {
  test("a running build (its runner and commands, its folder) and the ECR registry (its process and folder) end within seconds", async () => {
    // GIVEN a local AWS in its own TMPDIR, running a build and serving its ECR registry
    const tmp = tempDir("orphans-tmp");
    const aws = await startLocalAws({ env: { ...process.env, TMPDIR: tmp } });
    try {
      const config = clientConfig({ region: "eu-central-1", endpoint: aws.endpoint });
      const role = await new IAMClient(config).send(
        new CreateRoleCommand({ RoleName: "build-role", AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "codebuild.amazonaws.com" }, Action: "sts:AssumeRole" }] }) }),
      );
      const marker = `sleep ${5000 + (process.pid % 997)}`;
      const cb = new CodeBuildClient(config);
      await cb.send(
        new CreateProjectCommand({
          name: "long",
          source: { type: "NO_SOURCE", location: "unused", buildspec: ["version: 0.2", "phases:", "  build:", "    commands:", `      - ${marker}`, ""].join("\n") },
          artifacts: { type: "NO_ARTIFACTS" },
          environment: { type: "LINUX_CONTAINER", image: "aws/codebuild/standard:7.0", computeType: "BUILD_GENERAL1_SMALL" },
          serviceRole: role.Role!.Arn!,
        }),
      );
      await cb.send(new StartBuildCommand({ projectName: "long" }));
      const running = (pattern: string) => spawnSync("pgrep", ["-f", pattern]).status === 0;
      expect(await waitUntil(() => running(`^${marker}$`), 20)).toBe(true);
      // The registry starts on the first registry request (a repository's tags, with a token).
      const ecr = new ECRClient(config);
      await ecr.send(new CreateRepositoryCommand({ repositoryName: "app" }));
      const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0].authorizationToken!;
      expect(await viaProxy(aws.port, "http://123456789012.dkr.ecr.eu-central-1.amazonaws.com/v2/app/tags/list", token)).toBe(404); // empty repository: NAME_UNKNOWN from the registry
      expect(running("docker-registry serve")).toBe(true);
      expect(fs.readdirSync(tmp).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^local-aws-build-/), expect.stringMatching(/^local-aws-registry-/)]));

      // WHEN the server is killed outright (no exit handler runs)
      process.kill(aws.pid, "SIGKILL");

      // THEN its build and its registry follow within seconds, and their folders go
      expect(await waitUntil(() => !running(`^${marker}$`) && !running(`docker-registry serve ${tmp}`), 10)).toBe(true);
      expect(await waitUntil(() => fs.readdirSync(tmp).filter((f) => f.startsWith("local-aws-")).length === 0, 5)).toBe(true);
    } finally {
      await aws.stop();
    }
  });
});

/** A GET through the local AWS as HTTP proxy (as podman reaches the ECR hosts), with the token of GetAuthorizationToken; the status. */
function viaProxy(port: number, url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: url, headers: { Host: new URL(url).host, Authorization: `Basic ${token}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}
