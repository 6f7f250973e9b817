import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import { tempDir } from "../../support/app";
import { containerEnv } from "../../support/containers";
import { runScript, stopKept, withoutNodeWarnings, type Run } from "../../support/e2e-run";
import { keptServers } from "../../../scripts/local-aws/kept";

/**
 * `npm run local-aws`: the local AWS for a library user's own app, started and left running,
 * with the endpoint and credentials to export; `npm run status` shows it and `npm stop` stops it.
 */
let stateDir: string;
let run: Run;
let group = NaN;

beforeAll(async () => {
  stateDir = tempDir("up-kept");
  // On the tests' container storage, where the builder base already is: its preparation is a check.
  run = await runScript("local-aws/up", ["--region", "us-east-1"], { LOCAL_AWS_STATE_DIR: stateDir, ...containerEnv() });
  group = keptServers({ LOCAL_AWS_STATE_DIR: stateDir })[0]?.record.group ?? NaN;
});

afterAll(async () => {
  await runScript("local-aws/stop", [], { LOCAL_AWS_STATE_DIR: stateDir });
  stopKept(group);
});

test("it starts the local AWS, leaves it running, records it, and prints the export line and how to build and stop", () => {
  expect({ code: run.code, stderr: withoutNodeWarnings(run.stderr) }).toEqual({ code: 0, stderr: "" });
  const [server] = keptServers({ LOCAL_AWS_STATE_DIR: stateDir });
  expect(server).toMatchObject({ running: true, record: { stacks: [], region: "us-east-1" } });
  const endpoint = server.record.endpoint;
  expect(run.stdout).toContain(`  export AWS_ENDPOINT_URL=${endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1\n`);
  expect(run.stdout).toMatch(/^▸ prepare the builds: their tools and the Go builder base \(made once with debootstrap, then reused\) …\n[\s\S]*\n▸ start the local AWS …\n/);
  expect(run.stdout).toContain(
    "  aws codebuild start-build --project-name <project> --source-type-override S3 --source-location-override <bucket>/<key.zip> \\\n" +
      "    --environment-variables-override name=BUILDER_IMAGE,value=localhost/go-builder:bookworm,type=PLAINTEXT name=RUNTIME_IMAGE,value=scratch,type=PLAINTEXT\n",
  );
  expect(run.stdout).toContain("Is it up: npm run status\nStop it:  npm stop\n");
});

test("the exported line is all the AWS CLI needs: it answers in account 123456789012, and in another account through a role", () => {
  const { endpoint } = keptServers({ LOCAL_AWS_STATE_DIR: stateDir })[0].record;
  const exported = /export (.*)\n/.exec(run.stdout)![1];
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_PROFILE: undefined, AWS_CONFIG_FILE: "/dev/null", AWS_SESSION_TOKEN: undefined };
  for (const pair of exported.split(" ")) env[pair.split("=")[0]] = pair.slice(pair.indexOf("=") + 1);
  const aws = (args: string[]) => JSON.parse(spawnSync("aws", [...args, "--output", "json"], { env, encoding: "utf8" }).stdout || "{}");
  expect(env.AWS_ENDPOINT_URL).toBe(endpoint);
  expect(aws(["sts", "get-caller-identity"]).Account).toBe("123456789012");
  expect(aws(["sts", "assume-role", "--role-arn", "arn:aws:iam::222222222222:role/deploy", "--role-session-name", "walkthrough"]).AssumedRoleUser.Arn).toMatch(/^arn:aws:sts::222222222222:assumed-role\/deploy\//);
});

test("npm run status shows it and npm stop stops it", async () => {
  const { endpoint, pid } = keptServers({ LOCAL_AWS_STATE_DIR: stateDir })[0].record;
  const status = await runScript("local-aws/status", [], { LOCAL_AWS_STATE_DIR: stateDir });
  expect(status.stdout).toMatch(new RegExp(`^local AWS running at ${endpoint}: server pid ${pid} \\(process group \\d+\\), .*answering`));
  expect(status.stdout).toContain("  deployed: nothing\n");
  const stop = await runScript("local-aws/stop", [], { LOCAL_AWS_STATE_DIR: stateDir });
  expect(stop.stdout).toBe(`stopped the local AWS at ${endpoint} (pid ${pid})\n`);
  expect(keptServers({ LOCAL_AWS_STATE_DIR: stateDir })).toEqual([]);
});

test("a bad flag is one line each, exit 2, nothing started", async () => {
  const bad = await runScript("local-aws/up", ["--port", "80", "--region", "Frankfurt", "--keep"], { LOCAL_AWS_STATE_DIR: tempDir("up-bad") });
  expect({ code: bad.code, stdout: bad.stdout, stderr: withoutNodeWarnings(bad.stderr) }).toEqual({
    code: 2,
    stdout: "",
    stderr: 'error: --port "80" is not a port from 1024 to 65535\nerror: --region "Frankfurt" is not an AWS region name (e.g. eu-central-1)\nerror: unknown flag "--keep" (known: --port, --region, --no-build, --help)\n',
  });
});

test("a --port that is taken is one line, exit 1, nothing started or recorded", async () => {
  const blocker = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => blocker.once("listening", r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const dir = tempDir("up-taken");
    const r = await runScript("local-aws/up", ["--no-build", "--port", String(port)], { LOCAL_AWS_STATE_DIR: dir });
    expect({ code: r.code, stdout: r.stdout, stderr: withoutNodeWarnings(r.stderr) }).toEqual({
      code: 1,
      stdout: "",
      stderr: `error: port ${port} is taken: choose another with --port, or leave it out for a free one\n`,
    });
    expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
  } finally {
    blocker.close();
  }
});
