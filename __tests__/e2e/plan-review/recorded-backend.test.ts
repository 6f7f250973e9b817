import * as fs from "fs";
import * as path from "path";
import { CloudWatchLogsClient, PutRetentionPolicyCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { clientConfig } from "../../../scripts/local-aws/clients";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { tempDir } from "../../support/app";
import { runScript, withoutNodeWarnings, type Run } from "../../support/e2e-run";
import { writeSingleAccountConfig } from "../../support/environments";

/**
 * The plan review against what the last apply left, on a local AWS: one
 * environment, one region. `npm run deploy` records the stack's backend, outputs and resources
 * beside its state, in its bucket; then a change made outside Terraform is listed as drift, and a moved
 * `state.keyPrefix` (a plan against an empty new state) is a backend change that blocks the
 * review as `state-empty` unless `--allow-empty-state` names the stack.
 */
jest.setTimeout(400_000);

const STACK = "local-eu-central-1";
const LOG_GROUP = "/aws/codebuild/codebuild-sample-dckr-push-ecr";
let aws: LocalAws;
let dir: string;
let config: string;

function plan(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return runScript("plan-review/plan", args, {
    AWS_ENDPOINT_URL: aws.endpoint,
    CONFIG_FILE: config,
    ENVIRONMENTS: "local",
    CDKTF_OUTDIR: path.join(dir, "cdktf.out"),
    ALLOW_DESTROY: undefined,
    ALLOW_EMPTY_STATE: undefined,
    ALLOW_LOCAL_ENDPOINT: undefined,
    ...env,
  });
}
const read = (...p: string[]) => fs.readFileSync(path.join(...p), "utf8");

/** The stack's state record, from beside its state. */
async function record(): Promise<any> {
  const s3 = new S3Client(clientConfig({ region: "eu-central-1", endpoint: aws.endpoint }));
  const r = await s3.send(new GetObjectCommand({ Bucket: "codebuild-docker-tfstate-local", Key: "local/eu-central-1/terraform.tfstate.record.json" }));
  return JSON.parse(await r.Body!.transformToString());
}

beforeAll(async () => {
  aws = await startLocalAws();
  dir = tempDir("recorded-backend");
  config = writeSingleAccountConfig(dir, ["eu-central-1"]);
});

afterAll(async () => {
  await aws?.stop();
});

describe("the plan review compares with what the last apply left", () => {
  test("npm run deploy records the stack's backend, outputs and resources beside its state, not on the machine", async () => {
    const r = await plan(["--apply", "--out", path.join(dir, "plans-deploy")]);
    expect({ code: r.code, stderr: withoutNodeWarnings(r.stderr) }).toEqual({ code: 0, stderr: "" });
    const recorded = await record();
    expect(recorded).toMatchObject({ after: "apply", backend: { bucket: "codebuild-docker-tfstate-local", key: "local/eu-central-1/terraform.tfstate" } });
    expect(recorded.outputs).toContain("repository_url");
    expect(recorded.resources).toBeGreaterThan(5);
  });

  test("a change made outside Terraform is listed as drift, with the attributes' names only; the review passes", async () => {
    // GIVEN the build logs' retention changed outside Terraform (30 days deployed)
    const logs = new CloudWatchLogsClient(clientConfig({ region: "eu-central-1", endpoint: aws.endpoint }));
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: LOG_GROUP, retentionInDays: 7 }));

    // WHEN reviewed
    const out = path.join(dir, "plans-drift");
    const r = await plan(["--out", out]);

    // THEN
    expect({ code: r.code, stderr: withoutNodeWarnings(r.stderr) }).toEqual({ code: 0, stderr: "" });
    const json = JSON.parse(read(out, "summary.json"));
    // (The roles' inline_policy, read back once their policies exist, is drift the plan keeps.)
    const drifted = json.drift.filter((d: any) => d.corrected);
    expect(drifted).toEqual([
      { stack: STACK, address: expect.stringMatching(/^aws_cloudwatch_log_group\.PrivilegedProject_LogGroup_/), type: "aws_cloudwatch_log_group", action: "update", attributes: ["retention_in_days"], corrected: true },
    ]);
    const address: string = drifted[0].address;
    const md = read(out, `${STACK}.md`);
    expect(md).toContain("Drift (changed outside Terraform):\n\n| resource | outside Terraform | attributes | this plan |\n|---|---|---|---|\n");
    expect(md).toContain(`| \`${address}\` | changed | retention_in_days | changes it back |\n`);
    expect(md).toContain(`- :warning: **drift**: ${address} was changed outside Terraform: retention_in_days (the plan changes it back)\n`);
    const summary = read(out, "summary.md");
    expect(summary).toContain(`- \`${STACK}\`: \`${address}\` changed (retention_in_days): this plan changes it back\n`);
    expect(json.ok).toBe(true);
    expect(json.stacks[0].risks.map((k: any) => k.kind)).not.toContain("state-empty");
  });

  test("a moved state.keyPrefix is a backend change and an empty state: blocked (exit 1) until --allow-empty-state names the stack", async () => {
    // GIVEN the state key moved: the plan runs against an empty new state
    const moved = JSON.parse(read(config));
    moved.environments.local.state.keyPrefix = "moved";
    const movedConfig = path.join(dir, "moved.json");
    fs.writeFileSync(movedConfig, JSON.stringify(moved, null, 2));

    // WHEN reviewed
    const out = path.join(dir, "plans-moved");
    const r = await plan(["--out", out], { CONFIG_FILE: movedConfig });

    // THEN
    expect({ code: r.code, stderr: withoutNodeWarnings(r.stderr) }).toEqual({ code: 1, stderr: "" });
    const json = JSON.parse(read(out, "summary.json"));
    expect(json).toMatchObject({ ok: false, blocked: [], emptyState: [STACK] });
    const risks = json.stacks[0].risks.filter((k: any) => k.kind === "backend-change" || k.kind === "state-empty");
    expect(risks.map((k: any) => [k.kind, k.message.replace(/\(\d{4}-[\d-]+T[\d:.]+Z\)/, "(TIME)")])).toEqual([
      ["backend-change", 'state backend changes: key "local/eu-central-1/terraform.tfstate" -> "moved/local/eu-central-1/terraform.tfstate"'],
      [
        "state-empty",
        expect.stringMatching(
          /^the state at s3:\/\/codebuild-docker-tfstate-local\/moved\/local\/eu-central-1\/terraform\.tfstate is empty \(the plan creates all \d+ resources\) but the last apply recorded \d+ resources and \d+ outputs \([a-z_, …]+\) \(TIME\): check state\.keyPrefix, state\.bucket and state\.region of the environment, or restore the state \(docs\/recovery\.md\); after an interrupted apply, adopt what it created with npm run recover -- --stack local-eu-central-1; if the stack is meant to start empty, re-run with --allow-empty-state local-eu-central-1$/,
        ),
      ],
    ]);
    expect(r.stdout).toContain(":no_entry: **Blocked: empty state**: `local-eu-central-1` plans to create everything again");
    // The record still holds the backend of the last apply.
    expect((await record()).backend.key).toBe("local/eu-central-1/terraform.tfstate");

    // AND allowed by name, the review passes
    const allowed = await plan(["--out", path.join(dir, "plans-moved-allowed"), "--allow-empty-state", STACK], { CONFIG_FILE: movedConfig });
    expect({ code: allowed.code, stderr: withoutNodeWarnings(allowed.stderr) }).toEqual({ code: 0, stderr: "" });
    expect(allowed.stdout).toContain("**state-empty**");
    expect(allowed.stdout).toContain(":warning: **Empty state allowed**: `local-eu-central-1` will be created again from nothing.");
  });
});
