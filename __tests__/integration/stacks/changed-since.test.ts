import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { scratchCopy } from "../../support/scratch";
import { tempDir } from "../../support/app";
import type { StackInfo } from "../../../scripts/stacks/list";
import { cleanEnv } from "../../support/stacks-cli";

/**
 * npm run -s stacks -- --json --changed-since REF against real commits, in a scratch git
 * repository holding a copy of the project: a change that alters every stack lists them all, a
 * module change only the stacks holding what it changes, a config change of one environment only
 * that environment's stacks, no change none; a new stack counts as changed, a removed one is a
 * note; a bad ref, a ref that cannot be synthesized and a dependency change are said in one line.
 */

let dir: string;
let env: NodeJS.ProcessEnv;

function git(args: string[]): string {
  const r = spawnSync("git", args, { cwd: dir, env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

function commit(message: string): string {
  git(["add", "-A"]);
  git(["commit", "-q", "-m", message]);
  return git(["rev-parse", "HEAD"]);
}

/** Replaces `from` by `to` in a file of the scratch copy; fails when `from` is not there. */
function edit(file: string, from: string, to: string): void {
  const p = path.join(dir, file);
  const text = fs.readFileSync(p, "utf8");
  if (!text.includes(from)) throw new Error(`${file} does not contain ${JSON.stringify(from)}: the test's edit needs updating`);
  fs.writeFileSync(p, text.replace(from, to));
}

function editConfig(change: (environments: Record<string, any>) => void): void {
  const p = path.join(dir, "config", "environments.json");
  const cfg = JSON.parse(fs.readFileSync(p, "utf8"));
  change(cfg.environments);
  fs.writeFileSync(p, `${JSON.stringify(cfg, null, 2)}\n`);
}

function stacks(args: string[], extra: Record<string, string | undefined> = {}) {
  return spawnSync(process.execPath, [path.join(dir, "dist", "scripts", "stacks", "stacks.js"), ...args], { cwd: dir, env: { ...env, ...cleanEnv(extra) }, encoding: "utf8" });
}

function changed(ref: string, extra: Record<string, string | undefined> = {}): { names: string[]; list: StackInfo[]; stderr: string } {
  const r = stacks(["--json", "--changed-since", ref], extra);
  if (r.status !== 0) throw new Error(`stacks --changed-since ${ref} exited ${r.status}: ${r.stderr}`);
  const list: StackInfo[] = JSON.parse(r.stdout);
  return { names: list.map((s) => s.name), list, stderr: r.stderr };
}

function all(extra: Record<string, string | undefined> = {}): StackInfo[] {
  const r = stacks(["--json"], extra);
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

function worktrees(): string[] {
  return git(["worktree", "list", "--porcelain"]).split("\n").filter((l) => l.startsWith("worktree "));
}

beforeAll(() => {
  dir = scratchCopy("stacks-changed");
  const home = tempDir("stacks-changed-home");
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GIT_")));
  env = {
    ...clean,
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "Test",
    GIT_AUTHOR_EMAIL: "test@example.com",
    GIT_COMMITTER_NAME: "Test",
    GIT_COMMITTER_EMAIL: "test@example.com",
  };
  git(["init", "-q", "-b", "main"]);
  // node_modules is a link to the checkout's (a link is not matched by .gitignore's node_modules/).
  fs.appendFileSync(path.join(dir, ".git", "info", "exclude"), "node_modules\n");
  commit("the project");
  const build = spawnSync(process.execPath, ["scripts/app/build.mjs"], { cwd: dir, env, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("npm run -s stacks -- --changed-since", () => {
  it("lists nothing when nothing changed: an empty JSON array on stdout, progress on stderr", () => {
    const r = stacks(["--json", "--changed-since", "HEAD"]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect(r.stderr).toMatch(/^stacks: synthesizing "HEAD" \([0-9a-f]{12}\) in a temporary worktree and the working tree, in parallel\nstacks: synthesized in .*; 0 of 5 stack\(s\) changed\n$/);
    expect(worktrees()).toHaveLength(1);
  });

  it("lists every stack, in wave order, after a change of the stack code that alters every stack", () => {
    edit("stacks/regional-stack.ts", 'ManagedBy: "cdktf",', 'ManagedBy: "cdktf-changed",');
    commit("a provider default tag of every stack");
    expect(changed("HEAD~1").list).toEqual(all());
  });

  it("lists only the stacks that hold what a module change alters (the repository's lifecycle policy)", () => {
    edit("modules/ecr-repo/ecr-repo.ts", "days after push`", "days after the push`");
    commit("a lifecycle rule's description");
    const repositoryStacks = all().filter((s) => s.environment === "local").map((s) => s.name);
    expect(repositoryStacks.length).toBe(2);
    expect(changed("HEAD~1").names).toEqual(repositoryStacks);
  });

  it("lists only the environment's stacks after a config change of one environment", () => {
    editConfig((e) => (e["local-prod"].tags = { ...e["local-prod"].tags, CostCenter: "42" }));
    commit("a tag of local-prod");
    expect(changed("HEAD~1").names).toEqual(["local-prod-eu-central-1", "local-prod-us-east-1"]);
    // The ref may be any commit: since the first one, everything above changed.
    expect(changed("HEAD~3").names).toEqual(all().map((s) => s.name));
  });

  it("compares the working tree (uncommitted changes too) and honours ENVIRONMENTS in both synths", () => {
    editConfig((e) => (e["local-staging"].tags = { ...e["local-staging"].tags, Team: "qa" }));
    expect(changed("HEAD").names).toEqual(["local-staging-eu-central-1"]);
    expect(changed("HEAD", { ENVIRONMENTS: "local-prod,local" }).names).toEqual([]);
    git(["checkout", "--", "config/environments.json"]);
  });

  it("counts a stack the ref lacks as changed, and names a stack gone since the ref on stderr without listing it", () => {
    editConfig((e) => e["local-staging"].regions.push("us-east-1"));
    commit("local-staging in us-east-1");
    const added = changed("HEAD~1");
    expect(added.names).toContain("local-staging-us-east-1");
    expect(added.names).not.toContain("local-prod-eu-central-1");
    editConfig((e) => (e["local-staging"].regions = ["eu-central-1"]));
    commit("local-staging out of us-east-1 again");
    const gone = changed("HEAD~1");
    expect(gone.names).not.toContain("local-staging-us-east-1");
    expect(gone.stderr).toContain(
      'note: stack local-staging-us-east-1 is in the synth of "HEAD~1" but no longer in the working tree\'s: not listed (its resources stay deployed until it is destroyed)\n',
    );
  });

  it("refuses a ref that is not a commit in one line, exit 1, nothing on stdout", () => {
    const r = stacks(["--json", "--changed-since", "no-such-branch"]);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe('error: --changed-since "no-such-branch" is not a commit of this repository (git rev-parse: fatal: Needed a single revision)\n');
    expect(r.status).toBe(1);
  });

  it("fails in one line when the ref's tree cannot be synthesized, and leaves no worktree behind", () => {
    editConfig((e) => (e["local-prod"].accountId = "12345"));
    const bad = commit("a broken account ID");
    editConfig((e) => (e["local-prod"].accountId = "345678901234"));
    commit("the account ID fixed");
    const r = stacks(["--json", "--changed-since", bad]);
    expect(r.stdout).toBe("");
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^error: the tree of --changed-since "${bad}" \\(${bad.slice(0, 12)}\\) cannot be synthesized \\(.*accountId.*12345.*\\), so what changed cannot be decided; run without --changed-since to list every stack$`));
    expect(r.status).toBe(1);
    expect(worktrees()).toHaveLength(1);
  });

  it("lists every stack with a warning when package-lock.json differs from the ref's (the ref would run on this checkout's node_modules)", () => {
    fs.appendFileSync(path.join(dir, "package-lock.json"), "\n");
    const r = changed("HEAD");
    expect(r.list).toEqual(all());
    expect(r.stderr).toContain('warning: package-lock.json differs from "HEAD" (');
    git(["checkout", "--", "package-lock.json"]);
  });

  it("removes the worktree and its temporary folders when stopped with SIGTERM mid-run (exit 143)", async () => {
    const child = spawn(process.execPath, [path.join(dir, "dist", "scripts", "stacks", "stacks.js"), "--json", "--changed-since", "HEAD~1"], { cwd: dir, env: { ...env, ...cleanEnv() } });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // Waits until the worktree exists (polling, no timing asserted), then stops the run.
    let tree: string | undefined;
    while (tree === undefined && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
      tree = worktrees().slice(1).map((l) => l.slice("worktree ".length))[0];
    }
    expect(tree).toBeDefined();
    child.kill("SIGTERM");
    expect(await exited).toBe(143);
    expect(stderr).toContain("stacks: synthesizing");
    expect(worktrees()).toHaveLength(1);
    expect(fs.existsSync(path.dirname(tree!))).toBe(false);
  });
});
