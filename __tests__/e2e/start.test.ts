import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { freePort, startLocalAws } from "../../scripts/local-aws/server";
import { ROOT, tempDir } from "../support/app";
import { alive, startedServer, start, withoutNodeWarnings } from "../support/e2e-run";
import { prodEnvironment, singleAccountLocal, writeSingleAccountConfig } from "../support/environments";

/**
 * `npm start` (node dist/scripts/local-aws/start.js) as a user runs it: the local AWS it starts and
 * stops, and its failures. The deploys that are read back afterwards run once each, where they
 * are read back: the shipped organization to a given AWS_ENDPOINT_URL in organization.test.ts,
 * a single-account environment with --keep-running in local-deploy.test.ts.
 */
jest.setTimeout(300_000);

describe("npm start", () => {
  // The two deploys run side by side: each has its own local AWS and its own folders.
  test.concurrent("starts its own local AWS, deploys, prints the outputs and timings, then stops its server", async () => {
    // GIVEN one stack (the organization is deployed by organization.test.ts, to an endpoint it gives)
    const dir = tempDir("start");
    const outdir = path.join(dir, "cdktf.out");
    const tmp = path.join(dir, "tmp");
    fs.mkdirSync(tmp);

    // WHEN
    const run = await start(["--no-build"], {
      AWS_ENDPOINT_URL: undefined,
      TMPDIR: tmp,
      CDKTF_OUTDIR: outdir,
      CONFIG_FILE: writeSingleAccountConfig(dir, ["eu-central-1"]),
      ENVIRONMENTS: undefined,
    });

    // THEN
    expect({ code: run.code, stderr: withoutNodeWarnings(run.stderr) }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/▸ start the local AWS \(moto_server\) …\n {2}server pid \d+ \(process group \d+\) listening on http:\/\/127\.0\.0\.1:\d+\n/);
    expect(run.stdout).toContain("▸ synthesize, plan and deploy 1 stacks of 1 environments in 1 accounts (npm run deploy) …");
    expect(run.stdout).toContain("\nwave 1/1: local-eu-central-1\n");
    // init, a saved plan, the apply of that plan (each against a provider process of its own): no
    // warning that one did not start, and the saved plan is removed afterwards.
    const phases = run.stdout.split("\n").filter((l) => /^ {2}local-eu-central-1: terraform \w+ (started|done in)/.test(l)).map((l) => l.replace(/ in \d+\.\d s$/, ""));
    expect(phases).toEqual(["init started", "init done", "plan started", "plan done", "apply started", "apply done"].map((p) => `  local-eu-central-1: terraform ${p}`));
    expect(run.stdout).not.toContain(": warning: ");
    expect(run.stdout).toMatch(/\[1\/1\] local-eu-central-1: applied \(\d+\.\d s\)/);
    expect(fs.existsSync(path.join(outdir, "stacks", "local-eu-central-1", ".terraform", "deploy.tfplan"))).toBe(false);
    // The reviewed plan, its JSON and the review stay where the run says they are: beside the stacks.
    expect(run.stdout).toContain(`plans, their JSON and the reviews are in ${path.relative(ROOT, path.join(dir, "plans"))}/`);
    expect(fs.readdirSync(path.join(dir, "plans")).filter((f) => f.startsWith("local-eu-central-1.")).sort()).toEqual(
      ["local-eu-central-1.binding.json", "local-eu-central-1.json", "local-eu-central-1.md", "local-eu-central-1.review.json", "local-eu-central-1.tfplan", "local-eu-central-1.txt"],
    );
    expect(run.stdout).toContain("repository_url = 123456789012.dkr.ecr.eu-central-1.amazonaws.com/codebuild-sample/dckr-push-ecr");
    expect(run.stdout).toMatch(/Timings\n[\s\S]*s {2}total/);
    expect(run.stdout).not.toContain("keeps running");
    expect(fs.readdirSync(path.join(outdir, "stacks"))).toEqual(["local-eu-central-1"]);
    expect(alive(startedServer(run.stdout).pid)).toBe(false);
    // Nothing left in its TMPDIR (the provider processes' plugin sockets went with them).
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  test.concurrent("a failed apply shows Terraform's error, exits non-zero and stops the server", async () => {
    // Two local environments that both create the same repository and projects in one region:
    // whichever applies second hits "already exists" (one at a time: the plans are all made before
    // the first apply, so two applies at once could each create part and both fail).
    const dir = tempDir("start-fail");
    const env = { ...singleAccountLocal(), regions: ["eu-central-1"] };
    fs.writeFileSync(path.join(dir, "environments.json"), JSON.stringify({ environments: { local: env, twin: env } }));
    const run = await start(["--no-build", "--parallelism", "1"], {
      AWS_ENDPOINT_URL: undefined,
      CONFIG_FILE: path.join(dir, "environments.json"),
      ENVIRONMENTS: "local,twin",
      CDKTF_OUTDIR: path.join(dir, "cdktf.out"),
    });
    expect(run.code).toBe(1);
    // The run's summary line names the stack that failed and what was deployed, then Terraform's error.
    expect(run.stderr).toMatch(/error: apply failed for (local|twin)-eu-central-1 \(wave 1 of 1\); applied: (local|twin)-eu-central-1; not applied: \1-eu-central-1\n\1-eu-central-1: terraform apply failed in .*stacks\/\1-eu-central-1/);
    expect(run.stderr).toMatch(/already exists/i);
    expect(run.stderr).toContain("npm start failed; the local AWS it started was stopped.");
    expect(alive(startedServer(run.stdout).pid)).toBe(false);
  });

  test("without moto it says how to install it, and writes nothing", async () => {
    const outdir = path.join(tempDir("start-nomoto"), "cdktf.out");
    const run = await start([], { AWS_ENDPOINT_URL: undefined, LOCAL_AWS_PYTHON: "/nonexistent/python3", CDKTF_OUTDIR: outdir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `error: moto's server not found ("/nonexistent/python3" was not found, from LOCAL_AWS_PYTHON): install it with \`pip install 'moto[server]'\` (Python 3), or set LOCAL_AWS_PYTHON to a Python 3 that has it\n` +
        "npm start failed; it started no local AWS.\n",
    );
    expect(fs.existsSync(outdir)).toBe(false);
  });

  test("MOTO_SERVER, which named a plain moto_server before, is refused with what to set instead", async () => {
    const outdir = path.join(tempDir("start-moto-server"), "cdktf.out");
    const run = await start([], { AWS_ENDPOINT_URL: undefined, MOTO_SERVER: "moto_server", CDKTF_OUTDIR: outdir });
    expect({ code: run.code, stderr: withoutNodeWarnings(run.stderr) }).toEqual({
      code: 1,
      stderr:
        'error: MOTO_SERVER="moto_server" is no longer read: the local AWS is moto\'s server with this project\'s additions (scripts/local-aws/local_aws.py); set LOCAL_AWS_PYTHON to a Python 3 that has moto[server] instead\n' +
        "npm start failed; it started no local AWS.\n",
    });
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

  test("a local environment the local AWS cannot serve is refused at its field before anything starts", async () => {
    const dir = tempDir("start-unsupported");
    const local = singleAccountLocal();
    local.assumeRoleArn = "arn:aws:iam::123456789012:role/deployer";
    const text = JSON.stringify({ environments: { local } }, null, 2);
    fs.writeFileSync(path.join(dir, "environments.json"), text);
    const line = text.split("\n").findIndex((l) => l.includes('"assumeRoleArn"')) + 1;
    const column = text.split("\n")[line - 1].indexOf('"assumeRoleArn"') + 1;
    const run = await start([], { AWS_ENDPOINT_URL: undefined, CONFIG_FILE: path.join(dir, "environments.json"), ENVIRONMENTS: "local", CDKTF_OUTDIR: path.join(dir, "cdktf.out") });
    expect(run).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `error: ${path.join(dir, "environments.json")}:${line}:${column}: environment "local": assumeRoleArn "arn:aws:iam::123456789012:role/deployer" must not be set in a local environment of moto's default account 123456789012\n` +
        "npm start failed; it started no local AWS.\n",
    });
    expect(fs.existsSync(path.join(dir, "cdktf.out"))).toBe(false);
  });

  test("a failure with AWS_ENDPOINT_URL given says it started nothing and names the endpoint", async () => {
    // Nothing listens there: the deploy fails when it first calls the endpoint.
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const run = await start(["--no-build"], { AWS_ENDPOINT_URL: endpoint, CDKTF_OUTDIR: path.join(tempDir("start-external"), "cdktf.out"), ENVIRONMENTS: undefined, CONFIG_FILE: undefined });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`using the local AWS at AWS_ENDPOINT_URL=${endpoint} (nothing started)`);
    expect(run.stdout).not.toContain("server pid");
    expect(run.stderr).toMatch(/^error: .*ECONNREFUSED/m);
    expect(run.stderr.endsWith(`\nnpm start failed; it started no local AWS (it was given AWS_ENDPOINT_URL=${endpoint}).\n`)).toBe(true);
  });

  test("an unknown flag is one clear line and exit code 2", async () => {
    const run = await start(["--keep"], {});
    expect(run).toEqual({ code: 2, stdout: "", stderr: 'error: unknown flag "--keep" (known: --keep-running, --no-build, --parallelism, --help)\n' });
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
