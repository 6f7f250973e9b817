import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./app";
import { requireTool } from "./containers";

/** The name other teams install the library by. */
export const PACKAGE_NAME = "codebuild-docker-modules";

/** The peer dependencies of the library: one copy each, the consumer's. */
export const PEERS = ["cdktf", "constructs", "@cdktf/provider-aws"] as const;
export type Peer = (typeof PEERS)[number];

/** Flags of every npm install in a temp folder: the npm cache first, no audit, no funding notes. */
export const NPM_QUIET = ["--prefer-offline", "--no-audit", "--no-fund"];

/** A finished child process. */
export interface Run {
  /** The command line, for messages. */
  readonly command: string;
  readonly cwd: string;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment of npm, git and node in temp folders: this process's, without the `npm_*`
 * variables an outer `npm test` sets (`npm_config_local_prefix` would point npm back at this
 * repository). The npm cache and registry are kept, so installs reuse the cache of `npm ci`.
 */
export function childEnv(extra: Record<string, string> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const keep = new Set(["npm_config_cache", "npm_config_registry"]);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if ((/^npm_/i.test(k) && !keep.has(k.toLowerCase())) || k === "INIT_CWD") continue;
    env[k] = v;
  }
  return { ...env, CHECKPOINT_DISABLE: "1", ...extra };
}

/** Runs a command to its end without a shell; never throws (see {@link mustSucceed}). */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()): Promise<Run> {
  const line = [command, ...args].join(" ");
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e) => resolve({ command: line, cwd, status: null, stdout, stderr: `${stderr}${e.message}\n` }));
    child.on("close", (status) => resolve({ command: line, cwd, status, stdout, stderr }));
  });
}

/** The last lines of a command's output, for failure messages. */
export function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** A failure message with the command, its exit status and the end of both outputs. */
export function describeRun(r: Run): string {
  return `\`${r.command}\` in ${r.cwd} exited ${r.status}\n--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`;
}

/** Returns `r` when it exited 0; throws with its output otherwise. */
export function mustSucceed(r: Run): Run {
  if (r.status !== 0) throw new Error(describeRun(r));
  return r;
}

/** Runs `npm` with the environment of {@link childEnv}. */
export function npm(args: string[], cwd: string): Promise<Run> {
  return run("npm", args, cwd);
}

/** Removes a temp folder and everything in it. */
export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A clean clone of the committed HEAD of the repository these tests run from: only committed
 * files, no node_modules, no lib/. Cloning a clone gives the same commit to every install mode.
 */
export async function cloneRepository(dest: string, from = ROOT): Promise<string> {
  requireTool("git", "apt-get install -y git");
  mustSucceed(await run("git", ["clone", "--quiet", "--no-hardlinks", from, dest], path.dirname(dest)));
  return dest;
}

/**
 * `npm pack` of `dir` into `dest` (npm runs the `prepare` script, which builds lib/); returns the
 * tarball's path.
 */
export async function pack(dir: string, dest: string): Promise<string> {
  fs.mkdirSync(dest, { recursive: true });
  mustSucceed(await npm(["pack", "--pack-destination", dest, ...NPM_QUIET], dir));
  const tarballs = fs.readdirSync(dest).filter((f) => f.endsWith(".tgz"));
  if (tarballs.length !== 1) throw new Error(`expected one tarball in ${dest}, found: ${tarballs.join(", ") || "none"}`);
  return path.join(dest, tarballs[0]);
}

/**
 * `npm pack` of the working tree into `dest`; returns the tarball's path. npm pack runs
 * `prepare`, which deletes and rebuilds lib/, and doing that in the shared working tree would
 * pull lib/ from under anyone reading it meanwhile; so it packs a snapshot in `dest/source`:
 * every file git does not ignore (committed or not), plus the ignored paths that `files` lists
 * except lib/ (prepare builds it), with this repository's node_modules linked in. npm sees the
 * same files it would see here, so the tarball is the one `npm pack` makes in the repository.
 */
export async function packWorkingTree(dest: string): Promise<string> {
  const source = path.join(dest, "source");
  const listed = mustSucceed(await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT));
  const files = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).files ?? []) as string[];
  const entries = new Set([...listed.stdout.split("\0").filter(Boolean), ...files.filter((f) => f.replace(/\/$/, "") !== "lib")]);
  for (const entry of entries) {
    const from = path.join(ROOT, entry);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(source, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(source, "node_modules"), "dir");
  return pack(source, path.join(dest, "tarball"));
}

/** All files under `dir`, as sorted `/`-separated paths relative to it. */
export function listFiles(dir: string, base = dir): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name)).split(path.sep).join("/")]))
    .sort();
}

/**
 * A promise whose rejection is reported by the test that awaits it, not as an unhandled
 * rejection while other tests run.
 */
export function settleLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
