import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { configFilePath, projectRoot } from "../../config/environments";
import { listStacks, type StackInfo, type StackListOptions } from "./list";

/** Options of changedSince: those of listStacks, and where progress goes. */
export interface ChangedOptions extends StackListOptions {
  /** Progress lines (the CLI writes them to stderr). @default none */
  readonly progress?: (line: string) => void;
}

/** What changedSince decided. */
export interface ChangedResult {
  /** The stacks whose synthesized Terraform JSON differs from the ref's (or that the ref lacks), in wave order. */
  readonly stacks: StackInfo[];
  /** Stacks the ref's synth has and the working tree's has not: not listed (nothing to plan), named for a note. */
  readonly gone: string[];
  /** The commit the ref names. */
  readonly commit: string;
  /** Set when every stack is listed without comparing, and why (package-lock.json differs from the ref's). */
  readonly everyStackBecause?: string;
}

/**
 * The stacks of listStacks(options) whose synthesized Terraform JSON differs from the synth of
 * `ref`. The ref's tree is checked out in a temporary git worktree (this checkout's node_modules
 * linked in) and synthesized with its own synth entry point, while the working tree (uncommitted
 * changes included) is synthesized too, both at once and into temporary folders (cdktf.out is
 * never touched), with the same ENVIRONMENTS and CONFIG_FILE (a CONFIG_FILE inside the project is
 * read from the ref's tree for the ref). Two synths are compared per stack after dropping what
 * Terraform ignores (the `//` comment keys cdktf writes: metadata, construct paths) and key
 * order. A stack the ref lacks counts as changed. The worktree and the temporary folders are
 * removed afterwards, also on failure and on SIGINT/SIGTERM.
 *
 * Throws an Error with one line: a ref that is not a commit, a ref whose tree cannot be
 * synthesized (e.g. an older config schema; no fallback: the caller decides, e.g. plans every
 * stack), a working tree that cannot be synthesized.
 */
export async function changedSince(ref: string, options: ChangedOptions = {}): Promise<ChangedResult> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const root = options.root ?? projectRoot();
  const progress = options.progress ?? (() => undefined);
  const commit = resolveCommit(root, ref);
  // The stacks now, and every config or selection problem, before anything is synthesized.
  const stacks = listStacks({ env, cwd, root });
  const short = commit.slice(0, 12);

  // The ref is synthesized with this checkout's node_modules: a dependency change (a provider
  // version in package-lock.json) would not show in the comparison, so it lists every stack.
  const lockNow = readOrUndefined(path.join(root, "package-lock.json"));
  const lockThen = spawnSync("git", ["show", `${commit}:package-lock.json`], { cwd: root, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (lockThen.status !== 0 || lockThen.stdout !== lockNow) {
    const because = `package-lock.json differs from ${JSON.stringify(ref)} (${short}): the ref would be synthesized with this checkout's node_modules, so a dependency change cannot be compared; every stack is listed`;
    return { stacks, gone: [], commit, everyStackBecause: because };
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-changed-"));
  const tree = path.join(tmp, "tree");
  const refOut = path.join(tmp, "ref.out");
  const nowOut = path.join(tmp, "now.out");
  const children = new Set<ChildProcess>();
  let worktreeAdded = false;
  const cleanup = () => {
    for (const c of children) stopGroup(c);
    if (worktreeAdded) {
      const removed = spawnSync("git", ["worktree", "remove", "--force", tree], { cwd: root, encoding: "utf8" });
      if (removed.status !== 0) {
        fs.rmSync(tmp, { recursive: true, force: true });
        spawnSync("git", ["worktree", "prune"], { cwd: root });
      }
      worktreeAdded = false;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    // The synths' own children (the bundler, the app) go with them: each synth leads a process
    // group. Wait (up to 5 s) until they are gone, so nothing writes after the clean-up.
    const running = [...children];
    for (const c of running) stopGroup(c);
    void Promise.race([Promise.all(running.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once("close", r))))), new Promise((r) => setTimeout(r, 5000))]).then(() => {
      cleanup();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const started = Date.now();
  try {
    progress(`stacks: synthesizing ${JSON.stringify(ref)} (${short}) in a temporary worktree and the working tree, in parallel`);
    const file = path.resolve(cwd, configFilePath(env));
    const relFile = path.relative(root, file);
    const refFile = relFile.startsWith("..") || path.isAbsolute(relFile) ? file : path.join(tree, relFile);
    const synthEnv = (outdir: string, configFile?: string): NodeJS.ProcessEnv => {
      const e: NodeJS.ProcessEnv = { ...env, CDKTF_OUTDIR: outdir, ALLOW_LOCAL_ENDPOINT: "1" };
      if (configFile !== undefined) e.CONFIG_FILE = configFile;
      // Run as by npm run synth, not as by the cdktf CLI.
      delete e.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS;
      return e;
    };
    const now = run(children, process.execPath, [path.join(root, "scripts", "app", "synth.js")], { cwd, env: synthEnv(nowOut) }).then((r) => ({ ...r, seconds: (Date.now() - started) / 1000 }));
    const then = (async () => {
      const added = spawnSync("git", ["worktree", "add", "--detach", tree, commit], { cwd: root, encoding: "utf8" });
      if (added.status !== 0) throw new Error(`cannot check out ${JSON.stringify(ref)} (${short}) in a temporary worktree (git worktree add: ${firstLine(added.stderr)})`);
      worktreeAdded = true;
      if (!fs.existsSync(path.join(tree, "node_modules"))) fs.symlinkSync(path.join(root, "node_modules"), path.join(tree, "node_modules"));
      const e = synthEnv(refOut, refFile);
      // The tree's own synth: scripts/app/synth.js (bundles main.ts, then runs it), or, in trees
      // that predate it, its build (scripts/app/build.mjs) and dist/main.js.
      let r: RunResult;
      if (fs.existsSync(path.join(tree, "scripts", "app", "synth.js"))) {
        r = await run(children, process.execPath, [path.join(tree, "scripts", "app", "synth.js")], { cwd: tree, env: e });
      } else if (fs.existsSync(path.join(tree, "scripts", "app", "build.mjs"))) {
        r = await run(children, process.execPath, [path.join(tree, "scripts", "app", "build.mjs")], { cwd: tree, env: e });
        if (r.code === 0) r = await run(children, process.execPath, [path.join(tree, "dist", "main.js")], { cwd: tree, env: e });
      } else {
        throw new Error(`the tree of --changed-since ${JSON.stringify(ref)} (${short}) cannot be synthesized: it has neither scripts/app/synth.js nor scripts/app/build.mjs; run without --changed-since to list every stack`);
      }
      return { ...r, seconds: (Date.now() - started) / 1000 };
    })();
    const [nowRun, thenRun] = await Promise.allSettled([now, then]);
    if (thenRun.status === "rejected") throw thenRun.reason;
    if (nowRun.status === "rejected") throw nowRun.reason;
    if (thenRun.value.code !== 0 || !fs.existsSync(path.join(refOut, "stacks"))) {
      throw new Error(
        `the tree of --changed-since ${JSON.stringify(ref)} (${short}) cannot be synthesized (${synthFailure(thenRun.value)}), so what changed cannot be decided; run without --changed-since to list every stack`,
      );
    }
    if (nowRun.value.code !== 0 || !fs.existsSync(path.join(nowOut, "stacks"))) {
      throw new Error(`the working tree cannot be synthesized (${synthFailure(nowRun.value)}): npm run synth shows every problem`);
    }
    const nowNames = new Set(fs.readdirSync(path.join(nowOut, "stacks")));
    const refNames = new Set(fs.readdirSync(path.join(refOut, "stacks")));
    const changed = stacks.filter((s) => {
      if (!nowNames.has(s.name)) throw new Error(`stack ${s.name} is missing from the working tree's synth output (${nowOut})`);
      return !refNames.has(s.name) || !sameStackFolder(path.join(refOut, "stacks", s.name), path.join(nowOut, "stacks", s.name));
    });
    const gone = [...refNames].filter((n) => !nowNames.has(n)).sort();
    progress(
      `stacks: synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s (${short}: ${thenRun.value.seconds.toFixed(1)} s, working tree: ${nowRun.value.seconds.toFixed(1)} s); ${changed.length} of ${stacks.length} stack(s) changed`,
    );
    return { stacks: changed, gone, commit };
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    cleanup();
  }
}

/** The commit `ref` names in the repository of `root`, or an Error with one line. */
export function resolveCommit(root: string, ref: string): string {
  const r = spawnSync("git", ["rev-parse", "--verify", "--end-of-options", `${ref}^{commit}`], { cwd: root, encoding: "utf8" });
  if (r.error) throw new Error(`--changed-since ${JSON.stringify(ref)} cannot be checked: git cannot be run (${r.error.message})`);
  if (r.status !== 0) throw new Error(`--changed-since ${JSON.stringify(ref)} is not a commit of this repository (git rev-parse: ${firstLine(r.stderr) || `exit ${r.status}`})`);
  return r.stdout.trim();
}

/**
 * A stack's synthesized Terraform JSON with what Terraform ignores removed: every `//` key (the
 * comments cdktf writes: stack metadata, construct paths, unique IDs), and key order.
 */
export function normalizeTerraformJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeTerraformJson);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (key === "//") continue;
    out[key] = normalizeTerraformJson((value as Record<string, unknown>)[key]);
  }
  return out;
}

/** Whether two synthesized stack folders hold the same files with the same (normalized) content. */
export function sameStackFolder(a: string, b: string): boolean {
  const fa = filesUnder(a);
  const fb = filesUnder(b);
  if (fa.join("\n") !== fb.join("\n")) return false;
  return fa.every((f) => {
    const ta = fs.readFileSync(path.join(a, f), "utf8");
    const tb = fs.readFileSync(path.join(b, f), "utf8");
    if (ta === tb) return true;
    if (!f.endsWith(".tf.json")) return false;
    try {
      return JSON.stringify(normalizeTerraformJson(JSON.parse(ta))) === JSON.stringify(normalizeTerraformJson(JSON.parse(tb)));
    } catch {
      return false;
    }
  });
}

function filesUnder(dir: string, prefix = ""): string[] {
  return fs
    .readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(dir, path.join(prefix, e.name)) : [path.join(prefix, e.name)]))
    .sort();
}

interface RunResult {
  readonly code: number;
  readonly stderr: string;
}

function run(children: Set<ChildProcess>, cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // A process group of its own, so that stopping it stops what it started (stopGroup).
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    children.add(child);
    let stderr = "";
    child.stdout!.on("data", () => undefined);
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e) => {
      children.delete(child);
      reject(e);
    });
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code: code ?? (signal ? 128 : 1), stderr });
    });
  });
}

/** Stops a child started by run() and everything it started (its process group). */
function stopGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    child.kill("SIGTERM");
  }
}

/** The synth's error lines, at most three, in one line. */
function synthFailure(r: RunResult): string {
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("error: ")).map((l) => l.slice("error: ".length));
  const shown = (lines.length ? lines : r.stderr.split("\n").filter((l) => l.trim() && !l.startsWith("warning: "))).slice(0, 3);
  const more = lines.length > 3 ? `; and ${lines.length - 3} more` : "";
  return shown.length ? `${shown.join("; ")}${more}` : `exit ${r.code}, no output`;
}

function firstLine(s: string): string {
  return s.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
