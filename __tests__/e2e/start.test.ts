import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { CodeBuildClient, ListProjectsCommand } from "@aws-sdk/client-codebuild";
import { clientConfig } from "../../scripts/local-aws/clients";
import { freePort, startLocalAws } from "../../scripts/local-aws/server";
import { requireBuiltApp, ROOT, tempDir } from "../support/app";
import { prodEnvironment, shippedConfig, shippedLocalStacks, singleAccountLocal, writeSingleAccountConfig } from "../support/environments";

/** `npm start` (node dist/scripts/local-aws/start.js) as a user runs it: the main job and its failures. */
jest.setTimeout(300_000);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  requireBuiltApp();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "dist", "scripts", "local-aws", "start.js"), ...args], { cwd: ROOT, env: childEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const motoPid = (out: string) => Number(/moto_server pid (\d+)/.exec(out)?.[1]);

describe("npm start", () => {
  test("deploys the local organization in waves (consumers, then the owner), prints outputs, the read-back per account and timings, then stops its server", async () => {
    // GIVEN the shipped config: the owner `local` (moto's default account) and the environments that pull from it
    const outdir = path.join(tempDir("start"), "cdktf.out");
    const envs = shippedConfig().environments;
    const consumers = Object.keys(envs).filter((n) => envs[n].local === true && envs[n].pullFrom === "local");
    const consumerStacks = consumers.flatMap((n) => (envs[n].regions as string[]).map((r) => `${n}-${r}`));

    // WHEN
    const run = await start([], { AWS_ENDPOINT_URL: undefined, CDKTF_OUTDIR: outdir, ENVIRONMENTS: undefined, CONFIG_FILE: undefined });

    // THEN
    expect({ code: run.code, stderr: run.stderr.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?trace-warnings[^\n]*\n/, "") }).toEqual({ code: 0, stderr: "" });
    expect(consumers).toHaveLength(2);
    expect(run.stdout).toContain("▸ synthesize 5 stacks of 3 environments in 3 accounts …");
    // Consumers first (the owner's repository policy names their pull roles), then the owner.
    const consumerWave = `▸ deploy ${consumerStacks.join(", ")} in parallel …`;
    const ownerWave = "▸ deploy local-eu-central-1, local-us-east-1 in parallel …";
    expect(consumerStacks).toHaveLength(3);
    expect(run.stdout).toContain(consumerWave);
    expect(run.stdout).toContain(ownerWave);
    expect(run.stdout.indexOf(consumerWave)).toBeLessThan(run.stdout.indexOf(ownerWave));
    expect(run.stdout).toContain("repository_url = 123456789012.dkr.ecr.eu-central-1.amazonaws.com/codebuild-sample/dckr-push-ecr");
    expect(run.stdout).toContain("repository_url = 123456789012.dkr.ecr.us-east-1.amazonaws.com/codebuild-sample/dckr-push-ecr");
    expect(run.stdout).toMatch(/CodeBuild codebuild-sample-dckr-push-ecr: aws\/codebuild\/amazonlinux2-x86_64-standard:5.0, privileged true, role arn:aws:iam::123456789012:role\//);
    expect(run.stdout).toContain("ECR codebuild-sample/dckr-push-ecr: tags IMMUTABLE, scan on push true, encryption KMS");
    // What each account holds, read back in that account.
    const accounts = run.stdout.slice(run.stdout.indexOf("\nAccounts (what each holds, read back in that account)\n"), run.stdout.indexOf("\nTimings\n"));
    expect(accounts).not.toBe("");
    for (const name of ["local", ...consumers]) expect(accounts).toContain(`\n  ${envs[name].accountId} ${name}\n`);
    expect(accounts).toContain("eu-central-1: codebuild-sample/dckr-push-ecr (builds: ");
    expect(accounts).toContain("us-east-1: codebuild-sample/dckr-push-ecr (replica, no projects); repository policy names 4 pull role(s)");
    expect(accounts).toContain(
      "eu-central-1: replicates codebuild-sample/dckr-push-ecr to 123456789012/us-east-1, 345678901234/eu-central-1, 345678901234/us-east-1",
    );
    for (const name of consumers) {
      for (const kind of ["ecs-execution", "workload"]) {
        expect(accounts).toContain(
          `pull role arn:aws:iam::${envs[name].accountId}:role/ecr-pull-local-${kind} may pull ` +
            "arn:aws:ecr:eu-central-1:123456789012:repository/codebuild-sample/dckr-push-ecr, arn:aws:ecr:us-east-1:123456789012:repository/codebuild-sample/dckr-push-ecr",
        );
      }
    }
    expect(accounts.match(/registry policy lets 123456789012 replicate into this account/g)).toHaveLength(2);
    expect(run.stdout).toMatch(/Timings\n[\s\S]*s {2}total/);
    expect(fs.readdirSync(path.join(outdir, "stacks")).sort()).toEqual([...shippedLocalStacks()].sort());
    expect(alive(motoPid(run.stdout))).toBe(false);
  });

  test("deploys to AWS_ENDPOINT_URL when it is set, and starts nothing", async () => {
    const aws = await startLocalAws();
    try {
      // (One stack keeps it quick; the shipped organization is deployed above.)
      const dir = tempDir("start");
      const config = writeSingleAccountConfig(dir, ["eu-central-1"]);
      const run = await start([], { AWS_ENDPOINT_URL: aws.endpoint, CDKTF_OUTDIR: path.join(dir, "cdktf.out"), CONFIG_FILE: config, ENVIRONMENTS: "local" });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("▸ deploy local-eu-central-1 in parallel …");
      expect(run.stdout).toContain(`using the local AWS at AWS_ENDPOINT_URL=${aws.endpoint} (nothing started)`);
      expect(run.stdout).not.toContain("moto_server pid");
    } finally {
      await aws.stop();
    }
  });

  test("a failed apply shows Terraform's error, exits non-zero and stops the server", async () => {
    // Two local environments that both create the same repository and projects in one region:
    // whichever applies second hits "already exists".
    const dir = tempDir("start-fail");
    const env = { ...singleAccountLocal(), regions: ["eu-central-1"] };
    fs.writeFileSync(path.join(dir, "environments.json"), JSON.stringify({ environments: { local: env, twin: env } }));
    const run = await start([], {
      AWS_ENDPOINT_URL: undefined,
      CONFIG_FILE: path.join(dir, "environments.json"),
      ENVIRONMENTS: "local,twin",
      CDKTF_OUTDIR: path.join(dir, "cdktf.out"),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: terraform apply failed in .*stacks\/(local|twin)-eu-central-1/);
    expect(run.stderr).toMatch(/already exists/i);
    expect(run.stderr).toContain("npm start failed; the local AWS it started was stopped.");
    expect(alive(motoPid(run.stdout))).toBe(false);
  });

  test("without moto it says how to install it, and writes nothing", async () => {
    const outdir = path.join(tempDir("start-nomoto"), "cdktf.out");
    const run = await start([], { AWS_ENDPOINT_URL: undefined, MOTO_SERVER: "/nonexistent/moto_server", CDKTF_OUTDIR: outdir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `error: moto_server not found (looked for "/nonexistent/moto_server"): install it with \`pip install 'moto[server]'\` (Python 3), or set MOTO_SERVER to its path\n` +
        "npm start failed; it started no local AWS.\n",
    );
    expect(fs.existsSync(outdir)).toBe(false);
  });

  test("a real environment is refused before anything starts, and the failure says it started nothing", async () => {
    const dir = tempDir("start-real");
    const local = singleAccountLocal();
    const { name: _p, ...prod } = prodEnvironment();
    fs.writeFileSync(path.join(dir, "environments.json"), JSON.stringify({ environments: { local, prod } }));
    const run = await start([], { AWS_ENDPOINT_URL: undefined, CONFIG_FILE: path.join(dir, "environments.json"), ENVIRONMENTS: "prod", CDKTF_OUTDIR: path.join(dir, "cdktf.out") });
    expect(run).toEqual({
      code: 1,
      stdout: "",
      stderr:
        'error: environment(s) "prod" are not local ("local": true): the local deploy only targets the embedded local AWS; deploy real accounts with `cdktf deploy` or terraform\n' +
        "npm start failed; it started no local AWS.\n",
    });
    expect(fs.existsSync(path.join(dir, "cdktf.out"))).toBe(false);
  });

  test("a failure with AWS_ENDPOINT_URL given says it started nothing and names the endpoint", async () => {
    // Nothing listens there: the deploy fails when it first calls the endpoint.
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const run = await start([], { AWS_ENDPOINT_URL: endpoint, CDKTF_OUTDIR: path.join(tempDir("start-external"), "cdktf.out"), ENVIRONMENTS: undefined, CONFIG_FILE: undefined });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`using the local AWS at AWS_ENDPOINT_URL=${endpoint} (nothing started)`);
    expect(run.stdout).not.toContain("moto_server pid");
    expect(run.stderr).toMatch(/^error: .*ECONNREFUSED/m);
    expect(run.stderr.endsWith(`\nnpm start failed; it started no local AWS (it was given AWS_ENDPOINT_URL=${endpoint}).\n`)).toBe(true);
  });

  test("an unknown flag is one clear line and exit code 2", async () => {
    const run = await start(["--keep"], {});
    expect(run).toEqual({ code: 2, stdout: "", stderr: 'error: unknown flag "--keep" (known: --keep-running, --help)\n' });
  });

  test("--keep-running leaves the server up and prints how to point the AWS CLI at it", async () => {
    // (One stack keeps it quick; the shipped organization is deployed above.)
    const dir = tempDir("start-keep");
    const run = await start(["--keep-running"], {
      AWS_ENDPOINT_URL: undefined,
      CDKTF_OUTDIR: path.join(dir, "cdktf.out"),
      CONFIG_FILE: writeSingleAccountConfig(dir, ["eu-central-1"]),
      ENVIRONMENTS: "local",
    });
    const pid = motoPid(run.stdout);
    try {
      expect(run.code).toBe(0);
      expect(alive(pid)).toBe(true);
      const endpoint = /export AWS_ENDPOINT_URL=(\S+)/.exec(run.stdout)![1];
      expect(run.stdout).toContain(`export AWS_ENDPOINT_URL=${endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=eu-central-1`);
      expect(run.stdout).toContain(`Stop it with: kill ${pid}`);
      // The server still answers, and holds what was deployed. (moto's own /moto-api/data.json
      // answers 500 after this deploy, a moto-side serialization failure, so the API is asked.)
      const { projects } = await new CodeBuildClient(clientConfig({ region: "eu-central-1", endpoint })).send(new ListProjectsCommand({}));
      expect([...(projects ?? [])].sort()).toEqual(["codebuild-sample-dckr-dind", "codebuild-sample-dckr-push-ecr"]);
    } finally {
      if (alive(pid)) process.kill(-pid, "SIGTERM");
    }
  });
});

describe("startLocalAws", () => {
  test("takes another port when the requested one is taken", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const aws = await startLocalAws({ port: taken });
    try {
      expect(aws.port).not.toBe(taken);
      expect((await fetch(`${aws.endpoint}/moto-api/data.json`)).ok).toBe(true);
    } finally {
      await aws.stop();
      blocker.close();
    }
    expect(alive(aws.pid)).toBe(false);
  });
});
