import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { requireBuiltApp, ROOT, tempDir } from "../../support/app";
import { withoutNodeWarnings, type Run } from "../../support/e2e-run";
import { singleAccountLocal } from "../../support/environments";

/**
 * The bound of `--parallelism` with real terraform processes: a `terraform`
 * first on PATH records when each terraform process starts and ends (its pid, its command, its
 * stack folder) and runs the real one. Five local stacks (an owner, one region, and four consumer
 * accounts that pull from it) are planned, then deployed, with `--parallelism 2`. Every terraform
 * process the commands start is counted (init, plan, show, apply, state pull, output): each runs
 * inside a stack's slot, so at no moment do more than 2 run, and with five stacks 2 do run at once.
 */
jest.setTimeout(1_800_000);

const OWNER = "local-eu-central-1";
const CONSUMERS = [1, 2, 3, 4].map((i) => `consumer-${i}-eu-central-1`);
const ALL = [...CONSUMERS, OWNER].sort();

let aws: LocalAws;
let dir: string;
let config: string;
let wrapperDir: string;

/** One terraform process, as the wrapper saw it (seconds since the epoch). */
interface Proc {
  readonly pid: string;
  readonly command: string;
  readonly stack: string;
  readonly start: number;
  readonly end: number;
}

function processes(log: string): Proc[] {
  const starts = new Map<string, { start: number; command: string; stack: string }>();
  const procs: Proc[] = [];
  for (const line of fs.readFileSync(log, "utf8").trim().split("\n")) {
    const [what, at, pid, command, stack] = line.split(" ");
    if (what === "start") starts.set(pid, { start: Number(at), command, stack });
    else {
      const s = starts.get(pid);
      if (!s) throw new Error(`end without start in ${log}: ${line}`);
      procs.push({ pid, ...s, end: Number(at) });
      starts.delete(pid);
    }
  }
  if (starts.size) throw new Error(`terraform processes that never ended: ${[...starts.keys()].join(", ")}`);
  return procs;
}

/** The most processes running at one moment (a process that ends exactly when another starts does not overlap it). */
function peak(procs: readonly Proc[]): number {
  return Math.max(0, ...procs.map((p) => procs.filter((q) => q.start <= p.start && p.start < q.end).length));
}

/** Fails with the run's exit (or the signal that ended it) and the end of its output unless it succeeded without errors. */
function expectSuccess(r: Run & { signal?: string | null }): void {
  const stderr = withoutNodeWarnings(r.stderr);
  if (r.code !== 0 || stderr !== "") throw new Error(`exit ${r.code} (signal ${r.signal ?? "none"}), stderr:\n${stderr}\nend of stdout:\n${r.stdout.slice(-3000)}`);
}

function run(args: string[], log: string, env: Record<string, string> = {}): Promise<Run & { signal: string | null }> {
  return runPlanJs(["--parallelism", "2", ...args], {
    PATH: `${wrapperDir}${path.delimiter}${process.env.PATH}`,
    TERRAFORM_CALLS: log,
    AWS_ENDPOINT_URL: aws.endpoint,
    CONFIG_FILE: config,
    ENVIRONMENTS: undefined,
    CDKTF_OUTDIR: path.join(dir, "cdktf.out"),
    PARALLELISM: undefined,
    ALLOW_DESTROY: undefined,
    ALLOW_EMPTY_STATE: undefined,
    ALLOW_LOCAL_ENDPOINT: undefined,
    FAIL_STACK: undefined,
    FAIL_COMMAND: undefined,
    ...env,
  });
}

/** `npm run plan` (dist/scripts/plan-review/plan.js) from the project root, with `env` on top (undefined removes); also says which signal ended it, if one did. */
function runPlanJs(args: string[], env: Record<string, string | undefined>): Promise<Run & { signal: string | null }> {
  requireBuiltApp();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "dist", "scripts", "plan-review", "plan.js"), ...args], { cwd: ROOT, env: childEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code, signal) => resolve({ code: code ?? 1, signal, stdout, stderr }));
  });
}

beforeAll(async () => {
  // The real terraform, found before PATH changes; its absence fails the test.
  const real = spawnSync("sh", ["-c", "command -v terraform"], { encoding: "utf8" }).stdout.trim();
  if (!real) throw new Error("terraform is not on PATH: the bound is measured on real terraform processes");
  dir = tempDir("parallelism-bound");
  wrapperDir = path.join(dir, "bin");
  fs.mkdirSync(wrapperDir);
  // One short line per event, appended (O_APPEND: lines of concurrent processes do not mix).
  // FAIL_STACK / FAIL_COMMAND make that command fail in that stack's folder, without terraform.
  fs.writeFileSync(
    path.join(wrapperDir, "terraform"),
    `#!/bin/sh
echo "start $(date +%s.%N) $$ $1 $(basename "$PWD")" >> "$TERRAFORM_CALLS"
if [ -n "$FAIL_STACK" ] && [ "$1" = "$FAIL_COMMAND" ] && [ "$(basename "$PWD")" = "$FAIL_STACK" ]; then
  echo "Error: injected $1 failure in $FAIL_STACK" >&2
  code=1
else
  "${real}" "$@"
  code=$?
fi
echo "end $(date +%s.%N) $$ $1 $code" >> "$TERRAFORM_CALLS"
exit $code
`,
    { mode: 0o755 },
  );
  // The owner in one region, and four consumer accounts of one stack each (as bench/org.sh).
  const local = { ...singleAccountLocal(), regions: ["eu-central-1"] };
  const environments: Record<string, unknown> = { local };
  for (let i = 1; i <= 4; i++) {
    const account = String(200000000000 + i);
    environments[`consumer-${i}`] = {
      local: true,
      accountId: account,
      regions: ["eu-central-1"],
      assumeRoleArn: `arn:aws:iam::${account}:role/deployer`,
      state: local.state,
      pullFrom: "local",
    };
  }
  config = path.join(dir, "environments.json");
  fs.writeFileSync(config, JSON.stringify({ environments }, null, 2));
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws?.stop();
});

describe("--parallelism 2 with five stacks", () => {
  test("npm run plan: at most 2 terraform processes at once, and 2 at once reached; a line per stack when it starts and ends; <stack>.review.json", async () => {
    const log = path.join(dir, "plan-calls.log");
    const out = path.join(dir, "plans");
    const r = await run(["--out", out], log);
    expectSuccess(r);

    const procs = processes(log);
    expect(procs.filter((p) => p.command === "plan").map((p) => p.stack).sort()).toEqual(ALL);
    expect(peak(procs)).toBe(2);
    // The plans themselves overlapped too (two stacks planning at once).
    expect(peak(procs.filter((p) => p.command === "plan"))).toBe(2);

    expect(r.stdout).toContain("planning 5 stacks, at most 2 at once (--parallelism 2)\n");
    for (const s of ALL) {
      expect(r.stdout).toMatch(new RegExp(`^\\[[1-5]/5\\] ${s}: planning\\n`, "m"));
      expect(r.stdout).toMatch(new RegExp(`^\\[[1-5]/5\\] ${s}: planned \\(\\d+\\.\\d s\\)\\n`, "m"));
      const review = JSON.parse(fs.readFileSync(path.join(out, `${s}.review.json`), "utf8"));
      expect(Object.keys(review).sort()).toEqual(["changes", "counts", "destructive", "drift", "risks", "stack", "suppressions"]);
      expect(review.stack).toBe(s);
    }
    const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    // Each per-stack file is the review the summary holds.
    for (const s of summary.stacks) expect(JSON.parse(fs.readFileSync(path.join(out, `${s.stack}.review.json`), "utf8"))).toEqual(s);
  });

  test("--stack: only the named stacks run terraform, and the summary covers only them", async () => {
    const log = path.join(dir, "stack-calls.log");
    const out = path.join(dir, "plans-stack");
    const r = await run(["--stack", CONSUMERS[0], "--stack", `${CONSUMERS[1]},${OWNER}`, "--out", out], log);
    expectSuccess(r);
    const picked = [CONSUMERS[0], CONSUMERS[1], OWNER].sort();
    expect([...new Set(processes(log).map((p) => p.stack))].sort()).toEqual(picked);
    expect(r.stdout).toContain("planning 3 stacks, at most 2 at once (--parallelism 2)\n");
    const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    expect(summary.stacks.map((s: { stack: string }) => s.stack).sort()).toEqual(picked);
    const md = fs.readFileSync(path.join(out, "summary.md"), "utf8");
    expect(md).not.toContain(CONSUMERS[2]);
    expect(fs.readdirSync(out).filter((f) => f.endsWith(".review.json")).sort()).toEqual(picked.map((s) => `${s}.review.json`));
  });

  test("npm run deploy: the consumers' wave applies before the owner's, at most 2 at once, and 2 at once reached", async () => {
    const log = path.join(dir, "deploy-calls.log");
    const r = await run(["--apply", "--out", path.join(dir, "plans-deploy")], log);
    expectSuccess(r);

    const procs = processes(log);
    expect(peak(procs)).toBeLessThanOrEqual(2);
    const applies = procs.filter((p) => p.command === "apply");
    expect(applies.map((p) => p.stack).sort()).toEqual(ALL);
    expect(peak(applies)).toBe(2);
    // Wave 1 (the consumers) is over, its state records written, before the owner's apply starts.
    const ownerApply = applies.find((p) => p.stack === OWNER)!;
    const consumersEnd = Math.max(...procs.filter((p) => CONSUMERS.includes(p.stack) && (p.command === "apply" || p.command === "state")).map((p) => p.end));
    expect(ownerApply.start).toBeGreaterThanOrEqual(consumersEnd);

    expect(r.stdout).toContain("applying 5 stacks, at most 2 at once (--parallelism 2), wave by wave\n");
    expect(r.stdout).toContain(`wave 1/2: ${CONSUMERS.join(", ")}\n`);
    expect(r.stdout).toContain(`wave 2/2: ${OWNER}\n`);
    expect(r.stdout).toMatch(new RegExp(`^\\[5/5\\] ${OWNER}: applied \\(\\d+\\.\\d s\\)\\n`, "m"));
  });

  test("a failed plan does not stop the others: every stack is planned, then one error names the failed stack, and no summary is written", async () => {
    const log = path.join(dir, "plan-failure-calls.log");
    const out = path.join(dir, "plans-failure");
    const picked = [CONSUMERS[0], CONSUMERS[1], CONSUMERS[2]];
    const r = await run(["--parallelism", "1", "--stack", picked.join(","), "--out", out], log, { FAIL_STACK: CONSUMERS[0], FAIL_COMMAND: "plan" });
    expect(r.code).toBe(1);
    const stderr = withoutNodeWarnings(r.stderr);
    expect(stderr.split("\n")[0]).toBe(
      `error: the plan failed for 1 of 3 stacks (${CONSUMERS[0]}); the others were planned, no summary was written`,
    );
    expect(stderr).toContain(`${CONSUMERS[0]}: terraform plan failed:\nError: injected plan failure in ${CONSUMERS[0]}`);
    // The failed stack came first (--parallelism 1): the other two were still planned.
    const plans = processes(log).filter((p) => p.command === "plan");
    expect(plans.map((p) => p.stack)).toEqual(picked);
    expect(peak(processes(log))).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^\\[1/3\\] ${CONSUMERS[0]}: plan failed \\(\\d+\\.\\d s\\)\\n`, "m"));
    for (const s of picked.slice(1)) expect(fs.existsSync(path.join(out, `${s}.review.json`))).toBe(true);
    expect(fs.existsSync(path.join(out, "summary.md"))).toBe(false);
  });

  test("a failed apply starts no further stack nor wave; the error names the stacks applied and not applied", async () => {
    const log = path.join(dir, "apply-failure-calls.log");
    const r = await run(["--apply", "--parallelism", "1", "--stack", `${CONSUMERS[2]},${CONSUMERS[3]},${OWNER}`, "--out", path.join(dir, "plans-apply-failure")], log, {
      FAIL_STACK: CONSUMERS[2],
      FAIL_COMMAND: "apply",
    });
    expect(r.code).toBe(1);
    expect(withoutNodeWarnings(r.stderr).split("\n")[0]).toBe(
      `error: apply failed for ${CONSUMERS[2]} (wave 1 of 2); applied: none; not applied: ${CONSUMERS[2]}, ${CONSUMERS[3]}, ${OWNER}`,
    );
    expect(processes(log).filter((p) => p.command === "apply").map((p) => p.stack)).toEqual([CONSUMERS[2]]);
  });
});
