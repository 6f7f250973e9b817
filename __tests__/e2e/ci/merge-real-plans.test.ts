/**
 * The fan-out's premise on real plans (terraform against a local AWS): a stack planned alone
 * (`npm run plan -- --stack`, what each matrix job runs) gets the review it gets in a run of every
 * stack, and `npm run -s merge-reviews` over the per-stack review files, laid out as
 * download-artifact lays them, writes the summary.md and summary.json of that run.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { tempDir } from "../../support/app";
import { runScript, withoutNodeWarnings, type Run } from "../../support/e2e-run";
import { writeSingleAccountConfig } from "../../support/environments";

jest.setTimeout(400_000);

const ROOT = path.resolve(__dirname, "..", "..", "..");
const STACKS = ["local-eu-central-1", "local-us-east-1"];
let aws: LocalAws;
let dir: string;
let config: string;

/** `fresh`: the folder for the synth output: each matrix job runs on a fresh runner, without one. */
function plan(args: string[], fresh: string): Promise<Run> {
  fs.mkdirSync(path.join(dir, fresh), { recursive: true });
  return runScript("plan-review/plan", args, {
    AWS_ENDPOINT_URL: aws.endpoint,
    CONFIG_FILE: config,
    ENVIRONMENTS: "local",
    CDKTF_OUTDIR: path.join(dir, fresh, "cdktf.out"),
    ALLOW_DESTROY: undefined,
    ALLOW_EMPTY_STATE: undefined,
    ALLOW_LOCAL_ENDPOINT: undefined,
    PARALLELISM: "2",
  });
}
const read = (...p: string[]) => fs.readFileSync(path.join(...p), "utf8");

beforeAll(async () => {
  aws = await startLocalAws();
  dir = tempDir("merge-real-plans");
  config = writeSingleAccountConfig(dir, ["eu-central-1", "us-east-1"]);
});

afterAll(async () => {
  await aws?.stop();
});

test("per-stack reviews of real plans merge into the summary of one run of every stack", async () => {
  const all = await plan(["--out", path.join(dir, "all")], "runner-all");
  expect({ code: all.code, stderr: withoutNodeWarnings(all.stderr) }).toEqual({ code: 0, stderr: "" });
  // What one matrix job does: plan its stack alone, into its own folder.
  const one = await plan(["--stack", STACKS[1], "--out", path.join(dir, "one")], "runner-one");
  expect({ code: one.code, stderr: withoutNodeWarnings(one.stderr), out: one.code ? one.stdout : "" }).toEqual({ code: 0, stderr: "", out: "" });
  expect(JSON.parse(read(dir, "one", `${STACKS[1]}.review.json`))).toEqual(JSON.parse(read(dir, "all", `${STACKS[1]}.review.json`)));

  // The artifacts of two matrix jobs, as download-artifact lays them out.
  for (const s of STACKS) {
    const d = path.join(dir, "reviews", `review-${s}`);
    fs.mkdirSync(d, { recursive: true });
    for (const f of [`${s}.review.json`, `${s}.md`]) fs.copyFileSync(path.join(dir, "all", f), path.join(d, f));
  }
  fs.writeFileSync(path.join(dir, "expected.json"), JSON.stringify(STACKS));
  const merged = spawnSync(process.execPath, [path.join(ROOT, "dist", "scripts", "plan-review", "merge.js"), "reviews", "--expect", "expected.json", "--out", "merged"], {
    cwd: dir,
    encoding: "utf8",
  });
  expect({ code: merged.status, stderr: merged.stderr }).toEqual({ code: 0, stderr: "" });
  expect(read(dir, "merged", "summary.md")).toBe(read(dir, "all", "summary.md"));
  expect({ ...JSON.parse(read(dir, "merged", "summary.json")), missing: undefined }).toEqual({ ...JSON.parse(read(dir, "all", "summary.json")), missing: undefined });
  expect(JSON.parse(read(dir, "merged", "summary.json")).missing).toEqual([]);
  expect(read(dir, "merged", "summary.md")).toContain(`| ${STACKS[0]} | `);
});
