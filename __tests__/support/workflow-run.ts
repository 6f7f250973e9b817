/**
 * Runs a GitHub Actions workflow file on this machine the way a runner would, for scenario tests:
 * the jobs in `needs` order, each matrix instance in ONE FRESH `git clone` of the given commit,
 * its `run:` steps exactly as written (bash -eo pipefail, `${{ … }}` evaluated from github.*,
 * vars.*, env, matrix.*, needs.*, steps.*), with the variables a runner sets. The `uses:` steps
 * are emulated: checkout is the clone; setup-node / setup-terraform do nothing; configure-aws-
 * credentials asks `assumeRole` with the job's OIDC claims (its `sub` from the event and the
 * job's environment, as GitHub mints it); upload/download-artifact are a folder per artifact; the
 * sticky comment is a file per header. A `run: npm ci …` step links the prepared node_modules.
 * Job results feed `needs.<job>.result` and `if:`. Nothing passes between jobs but artifacts and
 * whatever `assumeRole`'s credentials reach (the local AWS). Not emulated: concurrency, caches,
 * services, containers, reusable workflows.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { githubClaims } from "./trust-policy";
import { asText, condition, type ExpressionScope, interpolate } from "./workflow-expressions";

/** What configure-aws-credentials gets from STS, or why it was refused. */
export type AssumeResult = { ok: true; credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } } | { ok: false; message: string };

/** The run's inputs. */
export interface WorkflowContext {
  /** The workflow's YAML text. */
  readonly workflow: string;
  /** The git repository the jobs clone, and the commit they check out (GITHUB_SHA). */
  readonly repo: string;
  readonly sha: string;
  readonly event: "pull_request" | "push" | "schedule" | "workflow_dispatch";
  /** GITHUB_REF: refs/heads/main, refs/pull/7/merge, … */
  readonly ref: string;
  /** `owner/name`. */
  readonly repository: string;
  /** github.event. */
  readonly payload?: Record<string, unknown>;
  readonly vars?: Record<string, string>;
  /** The node_modules that `npm ci` links. */
  readonly nodeModules: string;
  /** Where runners, artifacts and comments live (created). */
  readonly workDir: string;
  /** Variables every step gets besides the runner's (e.g. AWS_ENDPOINT_URL: the local AWS stands in for AWS). */
  readonly env?: Record<string, string>;
  /** STS's AssumeRoleWithWebIdentity, as the test's accounts answer it. */
  readonly assumeRole?: (roleArn: string, claims: Record<string, string>) => Promise<AssumeResult>;
  /** GitHub environments' deployment-branch rules: a job of another ref fails before its steps. */
  readonly environments?: Record<string, { readonly branches: readonly string[] }>;
}

/** One step as it ran. */
export interface StepRun {
  readonly name: string;
  readonly outcome: "success" | "failure" | "skipped";
  readonly output: string;
}

/** One job (or matrix instance) as it ran. */
export interface JobRun {
  readonly job: string;
  readonly name: string;
  readonly result: "success" | "failure" | "skipped";
  readonly outputs: Record<string, string>;
  readonly steps: StepRun[];
  readonly summary: string;
  readonly error?: string;
  /** Wall-clock milliseconds. */
  readonly ms?: number;
}

/** A role a configure-aws-credentials step asked for, and the answer. */
export interface RoleRequest {
  readonly job: string;
  readonly role: string;
  readonly sub: string;
  readonly granted: boolean;
}

/** The run: every job instance, the results by job, the roles asked for, the comments. */
export interface WorkflowRun {
  readonly jobs: JobRun[];
  readonly results: Record<string, "success" | "failure" | "skipped">;
  readonly roles: RoleRequest[];
  /** The sticky comments by header, as they stand after the run (start from `<workDir>/comments`). */
  readonly comments: Record<string, string>;
  readonly artifacts: string;
}

/** The machine's variables a job sees (a runner has its own PATH and HOME, not the test's other settings). */
const MACHINE_VARIABLES = ["PATH", "HOME", "TMPDIR", "LANG", "USER", "SHELL", "TERM"];

/** Runs the workflow for the context's event; resolves when every job has finished or been skipped. */
export async function runWorkflow(ctx: WorkflowContext): Promise<WorkflowRun> {
  const wf = parse(ctx.workflow);
  const jobs: Record<string, any> = wf.jobs;
  const artifacts = path.join(ctx.workDir, "artifacts");
  const commentsDir = path.join(ctx.workDir, "comments");
  fs.mkdirSync(artifacts, { recursive: true });
  fs.mkdirSync(commentsDir, { recursive: true });
  const state = { runs: [] as JobRun[], results: {} as Record<string, "success" | "failure" | "skipped">, outputs: {} as Record<string, Record<string, string>>, roles: [] as RoleRequest[] };
  const github = {
    event_name: ctx.event,
    ref: ctx.ref,
    ref_name: ctx.ref.replace(/^refs\/(heads|tags)\//, ""),
    sha: ctx.sha,
    repository: ctx.repository,
    repository_owner: ctx.repository.split("/")[0],
    run_id: "4242",
    run_number: "1",
    run_attempt: "1",
    server_url: "https://github.com",
    api_url: "https://api.github.com",
    actor: "octocat",
    event: ctx.payload ?? {},
  };
  const order = topological(jobs);
  for (const name of order) {
    const job = jobs[name];
    const needs = [job.needs ?? []].flat() as string[];
    const needsCtx = Object.fromEntries(needs.map((n) => [n, { result: state.results[n], outputs: state.outputs[n] ?? {} }]));
    const results = needs.map((n) => state.results[n]);
    const status = { success: results.every((r) => r === "success"), failure: results.some((r) => r === "failure"), cancelled: false };
    const contexts = { github, vars: ctx.vars ?? {}, needs: needsCtx, env: {}, secrets: {}, inputs: {}, runner: { os: "Linux", temp: "" } };
    if (!condition(job.if, { contexts, status })) {
      state.results[name] = "skipped";
      state.runs.push({ job: name, name, result: "skipped", outputs: {}, steps: [], summary: "" });
      continue;
    }
    const rows = matrixRows(job.strategy?.matrix, { contexts });
    const instances: JobRun[] = [];
    for (const [i, matrix] of rows.entries()) {
      instances.push(await runJob(ctx, wf, name, job, { ...contexts, matrix, strategy: { "job-index": i } }, { artifacts, commentsDir, roles: state.roles }, `${name}-${i}`));
    }
    state.runs.push(...instances);
    state.results[name] = instances.every((r) => r.result === "success") ? "success" : "failure";
    state.outputs[name] = instances.length ? instances[instances.length - 1].outputs : {};
  }
  const comments = Object.fromEntries(fs.readdirSync(commentsDir).map((f) => [f.replace(/\.md$/, ""), fs.readFileSync(path.join(commentsDir, f), "utf8")]));
  return { jobs: state.runs, results: state.results, roles: state.roles, comments, artifacts };
}

function topological(jobs: Record<string, any>): string[] {
  const done: string[] = [];
  const visit = (n: string, seen: string[]) => {
    if (done.includes(n)) return;
    if (seen.includes(n)) throw new Error(`jobs need each other: ${[...seen, n].join(" -> ")}`);
    if (!jobs[n]) throw new Error(`a job needs ${n}, which the workflow does not have`);
    for (const d of [jobs[n].needs ?? []].flat()) visit(d, [...seen, n]);
    done.push(n);
  };
  Object.keys(jobs).forEach((n) => visit(n, []));
  return done;
}

function matrixRows(matrix: any, scope: ExpressionScope): Record<string, unknown>[] {
  if (matrix === undefined) return [{}];
  const m = interpolate(matrix, scope) as Record<string, unknown>;
  const entries = Object.entries(m).map(([k, v]) => [k, interpolate(v, scope)] as const);
  const include = entries.find(([k]) => k === "include")?.[1] as Record<string, unknown>[] | undefined;
  const vectors = entries.filter(([k]) => k !== "include");
  let rows: Record<string, unknown>[] = vectors.length ? [{}] : [];
  for (const [k, values] of vectors) {
    if (!Array.isArray(values) || values.length === 0) throw new Error(`Matrix vector '${k}' does not contain any values`);
    rows = rows.flatMap((r) => values.map((v) => ({ ...r, [k]: v })));
  }
  if (include) rows = [...rows, ...include];
  if (rows.length === 0) throw new Error("the matrix has no rows");
  return rows;
}

/** The `KEY=value` and `KEY<<EOF` lines of a GITHUB_OUTPUT / GITHUB_ENV file. */
function readKeyValues(file: string): Record<string, string> {
  if (!fs.existsSync(file)) return {};
  const out: Record<string, string> = {};
  const lines = fs.readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const body: string[] = [];
      while (++i < lines.length && lines[i] !== heredoc[2]) body.push(lines[i]);
      out[heredoc[1]] = body.join("\n");
    } else if (lines[i].includes("=")) out[lines[i].slice(0, lines[i].indexOf("="))] = lines[i].slice(lines[i].indexOf("=") + 1);
  }
  return out;
}

interface Shared {
  readonly artifacts: string;
  readonly commentsDir: string;
  readonly roles: RoleRequest[];
}

async function runJob(ctx: WorkflowContext, wf: any, name: string, job: any, contexts: Record<string, any>, shared: Shared, runnerId: string): Promise<JobRun> {
  const started = Date.now();
  const runner = path.join(ctx.workDir, "runners", runnerId);
  const workspace = path.join(runner, "work");
  const temp = path.join(runner, "temp");
  fs.mkdirSync(workspace, { recursive: true });
  fs.mkdirSync(temp, { recursive: true });
  const eventPath = path.join(runner, "event.json");
  fs.writeFileSync(eventPath, JSON.stringify(ctx.payload ?? {}));
  const base = { contexts: { ...contexts, runner: { os: "Linux", temp } }, workspace };
  const title = asText(interpolate(job.name ?? name, base));
  const workflowEnv = evalEnv(wf.env, base);
  const jobEnv = { ...workflowEnv, ...evalEnv(job.env, { ...base, contexts: { ...base.contexts, env: workflowEnv } }) };
  const environment = job.environment === undefined ? undefined : asText(interpolate(typeof job.environment === "object" ? job.environment.name : job.environment, base));
  const steps: StepRun[] = [];
  const stepsCtx: Record<string, { outputs: Record<string, string>; outcome: string; conclusion: string }> = {};
  let summary = "";
  const finish = (result: "success" | "failure", error?: string): JobRun => {
    const outputs = Object.fromEntries(Object.entries(job.outputs ?? {}).map(([k, v]) => [k, asText(interpolate(v, { ...base, contexts: { ...base.contexts, steps: stepsCtx, env: jobEnv } }))]));
    return { job: name, name: title, result, outputs, steps, summary, ms: Date.now() - started, ...(error ? { error } : {}) };
  };
  const rule = environment ? ctx.environments?.[environment] : undefined;
  const branch = ctx.ref.startsWith("refs/heads/") ? ctx.ref.slice("refs/heads/".length) : undefined;
  if (rule && (branch === undefined || !rule.branches.includes(branch))) {
    return finish("failure", `Branch "${ctx.ref.replace(/^refs\/heads\//, "")}" is not allowed to deploy to ${environment} due to environment protection rules.`);
  }
  let env: Record<string, string> = { ...jobEnv };
  let failed = false;
  for (const [i, step] of (job.steps as any[]).entries()) {
    const stepName = step.name ?? step.id ?? step.uses ?? String(step.run).split("\n")[0];
    const scope: ExpressionScope = { contexts: { ...base.contexts, steps: stepsCtx, env }, status: { success: !failed, failure: failed, cancelled: false }, workspace };
    if (!condition(step.if, scope)) {
      steps.push({ name: stepName, outcome: "skipped", output: "" });
      if (step.id) stepsCtx[step.id] = { outputs: {}, outcome: "skipped", conclusion: "skipped" };
      continue;
    }
    const stepEnv = { ...env, ...evalEnv(step.env, scope) };
    const files = { output: path.join(temp, `output-${i}`), env: path.join(temp, `env-${i}`), summary: path.join(temp, `summary-${i}`) };
    for (const f of Object.values(files)) fs.writeFileSync(f, "");
    const runnerVars: Record<string, string> = {
      GITHUB_ACTIONS: "true",
      CI: "true",
      GITHUB_SHA: ctx.sha,
      GITHUB_REF: ctx.ref,
      GITHUB_REF_NAME: contexts.github.ref_name,
      GITHUB_EVENT_NAME: ctx.event,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_REPOSITORY: ctx.repository,
      GITHUB_RUN_ID: contexts.github.run_id,
      GITHUB_SERVER_URL: contexts.github.server_url,
      GITHUB_WORKSPACE: workspace,
      GITHUB_JOB: name,
      GITHUB_OUTPUT: files.output,
      GITHUB_ENV: files.env,
      GITHUB_STEP_SUMMARY: files.summary,
      RUNNER_TEMP: temp,
      RUNNER_OS: "Linux",
    };
    let outcome: "success" | "failure";
    let output: string;
    try {
      const with_ = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, asText(interpolate(v, scope))]));
      const r = step.uses
        ? await useAction(ctx, { name, job, environment, step: step.uses, with: with_, workspace, shared, setEnv: (v) => (env = { ...env, ...v }) })
        : await runScript(ctx, asText(interpolate(step.run, scope)), { ...machine(), ...(ctx.env ?? {}), ...stepEnv, ...runnerVars }, workspace, path.join(temp, `step-${i}.sh`));
      outcome = r.ok ? "success" : "failure";
      output = r.output;
    } catch (e) {
      outcome = "failure";
      output = (e as Error).message;
    }
    env = { ...env, ...readKeyValues(files.env) };
    summary += fs.readFileSync(files.summary, "utf8");
    const conclusion = outcome === "failure" && step["continue-on-error"] === true ? "success" : outcome;
    if (conclusion === "failure") failed = true;
    if (step.id) stepsCtx[step.id] = { outputs: readKeyValues(files.output), outcome, conclusion };
    steps.push({ name: stepName, outcome, output });
  }
  return finish(failed ? "failure" : "success");
}

function machine(): Record<string, string> {
  return Object.fromEntries(MACHINE_VARIABLES.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]!]])));
}

function evalEnv(env: Record<string, unknown> | undefined, scope: ExpressionScope): Record<string, string> {
  return Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, asText(interpolate(v, scope))]));
}

/** A `run:` step: bash -e -o pipefail, as GitHub's default shell; `npm ci` links the prepared node_modules. */
async function runScript(ctx: WorkflowContext, script: string, env: NodeJS.ProcessEnv, cwd: string, file: string): Promise<{ ok: boolean; output: string }> {
  if (/^npm ci( --[\w-]+)*$/.test(script.trim())) {
    if (!fs.existsSync(path.join(cwd, "package-lock.json"))) return { ok: false, output: "npm ci: no package-lock.json (was the repository checked out?)" };
    fs.symlinkSync(ctx.nodeModules, path.join(cwd, "node_modules"));
    return { ok: true, output: "linked node_modules" };
  }
  fs.writeFileSync(file, script);
  return new Promise((resolve) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", file], { cwd, env });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => resolve({ ok: code === 0, output }));
  });
}

interface ActionCall {
  readonly name: string;
  readonly job: any;
  readonly environment: string | undefined;
  readonly step: string;
  readonly with: Record<string, string>;
  readonly workspace: string;
  readonly shared: Shared;
  readonly setEnv: (vars: Record<string, string>) => void;
}

async function useAction(ctx: WorkflowContext, a: ActionCall): Promise<{ ok: boolean; output: string }> {
  const action = a.step.split("@")[0];
  const fork = ctx.event === "pull_request" && (ctx.payload as any)?.pull_request?.head?.repo?.full_name !== ctx.repository;
  switch (action) {
    case "actions/checkout": {
      const git = (args: string[], cwd?: string) => spawnSync("git", args, { cwd, encoding: "utf8" });
      const clone = git(["clone", "-q", "--shared", "--no-checkout", ctx.repo, a.workspace]);
      const checkout = clone.status === 0 ? git(["checkout", "-q", "--detach", ctx.sha], a.workspace) : clone;
      return { ok: checkout.status === 0, output: `${clone.stderr}${checkout.stderr}` };
    }
    case "actions/setup-node":
    case "hashicorp/setup-terraform":
      return { ok: true, output: "" };
    case "aws-actions/configure-aws-credentials": {
      const role = a.with["role-to-assume"] ?? "";
      if (a.job.permissions?.["id-token"] !== "write" || fork) return { ok: false, output: "Error: Could not fetch an OIDC token. Did you add `id-token: write` to the job's permissions? (fork pull requests get none)" };
      if (role === "") return { ok: false, output: "Error: Credentials could not be loaded: no role-to-assume" };
      const claims = githubClaims(ctx.repository, { event: ctx.event, ref: ctx.ref, ...(a.environment ? { environment: a.environment } : {}) });
      const answer = ctx.assumeRole ? await ctx.assumeRole(role, claims) : { ok: false as const, message: "no STS in this run (assumeRole not given)" };
      a.shared.roles.push({ job: a.name, role, sub: claims.sub, granted: answer.ok });
      if (!answer.ok) return { ok: false, output: `Error: Could not assume role with OIDC: ${answer.message}` };
      const region = a.with["aws-region"] ?? "";
      a.setEnv({
        AWS_ACCESS_KEY_ID: answer.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: answer.credentials.secretAccessKey,
        ...(answer.credentials.sessionToken ? { AWS_SESSION_TOKEN: answer.credentials.sessionToken } : {}),
        ...(region ? { AWS_REGION: region, AWS_DEFAULT_REGION: region } : {}),
      });
      return { ok: true, output: `assumed ${role}` };
    }
    case "actions/upload-artifact":
      return uploadArtifact(a);
    case "actions/download-artifact":
      return downloadArtifact(a);
    case "marocchino/sticky-pull-request-comment": {
      if (ctx.event !== "pull_request") return { ok: false, output: "Error: no pull request number in this event" };
      if (a.job.permissions?.["pull-requests"] !== "write" || fork) return { ok: false, output: "Error: Resource not accessible by integration" };
      const body = a.with.path ? fs.readFileSync(path.join(a.workspace, a.with.path), "utf8") : (a.with.message ?? "");
      fs.writeFileSync(path.join(a.shared.commentsDir, `${a.with.header || "default"}.md`), body);
      return { ok: true, output: "comment replaced" };
    }
    default:
      throw new Error(`the workflow harness does not emulate ${a.step}`);
  }
}

function uploadArtifact(a: ActionCall): { ok: boolean; output: string } {
  const dest = path.join(a.shared.artifacts, a.with.name || "artifact");
  if (fs.existsSync(dest)) return { ok: false, output: `Error: an artifact named ${a.with.name} already exists in this run` };
  const paths = a.with.path.split("\n").map((p) => p.trim()).filter(Boolean).map((p) => path.resolve(a.workspace, p));
  const present = paths.filter((p) => fs.existsSync(p));
  if (present.length === 0) return { ok: a.with["if-no-files-found"] === "ignore" || a.with["if-no-files-found"] === "warn", output: `No files were found with the provided path: ${a.with.path}` };
  // The root is the one folder given, else the folders' common ancestor (upload-artifact's rule).
  const dirs = present.map((p) => (fs.statSync(p).isDirectory() ? p : path.dirname(p)));
  let root = dirs[0];
  while (!dirs.every((d) => d === root || d.startsWith(`${root}${path.sep}`))) root = path.dirname(root);
  fs.mkdirSync(dest, { recursive: true });
  for (const p of present) fs.cpSync(p, path.join(dest, path.relative(root, p)), { recursive: true });
  return { ok: true, output: `uploaded ${a.with.name}` };
}

function downloadArtifact(a: ActionCall): { ok: boolean; output: string } {
  const into = path.resolve(a.workspace, a.with.path || ".");
  if (a.with.name) {
    const from = path.join(a.shared.artifacts, a.with.name);
    if (!fs.existsSync(from)) return { ok: false, output: `Error: Artifact not found for name: ${a.with.name}` };
    fs.cpSync(from, into, { recursive: true });
    return { ok: true, output: "" };
  }
  const pattern = new RegExp(`^${(a.with.pattern ?? "*").replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
  const names = fs.readdirSync(a.shared.artifacts).filter((n) => pattern.test(n));
  for (const n of names) fs.cpSync(path.join(a.shared.artifacts, n), a.with["merge-multiple"] === "true" ? into : path.join(into, n), { recursive: true });
  fs.mkdirSync(into, { recursive: true });
  return { ok: true, output: `downloaded ${names.join(", ")}` };
}

