/**
 * npm run merge-reviews with what the state records decide, run for real (dist/): `--orphans`
 * (the output of npm run -s stacks -- --orphans --json) named under "Orphaned stacks" in the
 * comment, and the nightly report (`--drift-summary`) failing on orphans and on pending changes,
 * naming the commit each stack was last deployed from. The sections in-process:
 * unit/plan-review/state-record; with real records in fresh clones: e2e/plan-review/records-in-ci.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { reviewPlan, type StackReview } from "../../../scripts/plan-review/review";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const MERGE = path.join(ROOT, "dist", "scripts", "plan-review", "merge.js");
const SHA = "89abcdef0123456789abcdef0123456789abcdef";
const ORPHAN = {
  name: "qa-eu-west-1",
  backend: { bucket: "acme-tfstate", key: "qa/eu-west-1/terraform.tfstate", region: "eu-central-1" },
  resources: 7,
  reason: "removed",
  commit: SHA,
  at: "2026-12-01T10:00:00.000Z",
  local: false,
};

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "merge-records-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function artifact(r: StackReview): void {
  const d = path.join(tmp, "reviews", `review-${r.stack}`);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, `${r.stack}.review.json`), JSON.stringify(r));
}

function write(name: string, value: unknown): string {
  fs.writeFileSync(path.join(tmp, name), typeof value === "string" ? value : JSON.stringify(value));
  return name;
}

function merge(args: string[]) {
  const summary = path.join(tmp, "step-summary.md");
  const r = spawnSync(process.execPath, [MERGE, ...args], { cwd: tmp, encoding: "utf8", env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, GITHUB_STEP_SUMMARY: summary } });
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, md: read(path.join(tmp, "plans", "summary.md")), report: read(summary) };
}

const unchanged = () => reviewPlan("prod-eu-west-1", { resource_changes: [] }, {});
const changed = (): StackReview => ({
  ...reviewPlan("prod-eu-west-1", { resource_changes: [{ address: "aws_cloudwatch_log_group.L", type: "aws_cloudwatch_log_group", mode: "managed", change: { actions: ["update"], before: {}, after: {} } }] }, {}),
  deployed: { commit: SHA, at: "2026-12-01T10:00:00.000Z" },
});

describe("merge-reviews and the state records", () => {
  test("--orphans names them under Orphaned stacks in the comment; a pull request's merge is not failed by them", () => {
    artifact(unchanged());
    const r = merge(["reviews", "--expect", write("expected.json", ["prod-eu-west-1"]), "--out", "plans", "--orphans", write("orphans.json", [ORPHAN])]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.md).toContain("## Orphaned stacks");
    expect(r.md).toContain(`| \`qa-eu-west-1\` | \`s3://acme-tfstate/qa/eu-west-1/terraform.tfstate\` | 7 | not in the config | \`${SHA.slice(0, 12)}\` |`);
  });

  test("the nightly report fails on an orphan alone", () => {
    artifact(unchanged());
    const r = merge(["reviews", "--expect", write("expected.json", ["prod-eu-west-1"]), "--out", "plans", "--drift-summary", "--orphans", write("orphans.json", [ORPHAN])]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("; orphaned: qa-eu-west-1");
    expect(r.report).toContain("## Orphaned stacks");
    const none = merge(["reviews", "--expect", "expected.json", "--out", "plans", "--drift-summary", "--orphans", write("none.json", [])]);
    expect(none.code).toBe(0);
  });

  test("the nightly report fails on a pending change alone, naming the commit it was last deployed from", () => {
    artifact(changed());
    const r = merge(["reviews", "--expect", write("expected.json", ["prod-eu-west-1"]), "--out", "plans", "--drift-summary"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("; pending changes in prod-eu-west-1");
    expect(r.report).toContain(`- \`prod-eu-west-1\`: 0 add, 1 change, 0 destroy, 0 replace; deployed from \`${SHA.slice(0, 12)}\` at 2026-12-01T10:00:00.000Z`);
  });

  test.each([
    [[] as string[], "error: --orphans missing.json: no such file (write it with npm run -s stacks -- --orphans --json > missing.json)"],
    [["bad.json", "{"], /^error: --orphans bad\.json is not valid JSON \(.+\): expected the output of npm run -s stacks -- --orphans --json$/],
    [["bad.json", '[{"name":"qa-eu-west-1"}]'], 'error: --orphans bad.json: orphan qa-eu-west-1 has no "backend" with bucket and key'],
  ])("a bad --orphans file is one line and exit 1 (%j)", (file, line) => {
    artifact(unchanged());
    const name = file.length ? write(file[0], file[1]) : "missing.json";
    const r = merge(["reviews", "--expect", write("expected.json", ["prod-eu-west-1"]), "--out", "plans", "--orphans", name]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    if (typeof line === "string") expect(lines[0]).toBe(line);
    else expect(lines[0]).toMatch(line);
  });

  test("--orphans needs a file", () => {
    const r = merge(["reviews", "--out", "plans", "--orphans"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: option --orphans needs a value\n");
  });
});
