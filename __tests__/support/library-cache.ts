/**
 * Work that several test files need once per run, done by the first file that asks and shared
 * with the others: the packed library (the library, example and e2e suites all install the same
 * tarball) and the example installed from it.
 *
 * Jest runs test files in parallel worker processes that share nothing but the file system, so
 * the cache is a folder in the run's temp folder (see temp-root.ts; globalTeardown removes it).
 * Each entry is keyed by a hash of its inputs: whoever creates `<entry>.lock` first builds the
 * entry and writes `<entry>/result.json`; the others wait for that file. A failed build is
 * recorded too, so every file that needs the entry fails with the builder's message instead of
 * building it again.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./app";
import { EXAMPLE_DIR, InstalledExample, copyExample, progress, runOk } from "./example-app";
import { packWorkingTree } from "./library";
import { TEMP_ROOT_VARIABLE } from "./temp-root";

/** How long a file waits for an entry another file builds before it gives up. */
const WAIT_LIMIT_MS = 15 * 60_000;
/** How often a waiting file looks for the result. */
const POLL_MS = 250;

/** What `result.json` holds. */
type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string; readonly builtBy: string };

/** The folder of the cache: in the run's temp folder, so the run's teardown removes it. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const runDir = env[TEMP_ROOT_VARIABLE];
  if (!runDir) throw new Error(`${TEMP_ROOT_VARIABLE} is not set: run the tests with jest, whose globalSetup makes the run's temp folder`);
  return path.join(runDir, "library-cache");
}

/** Builds of this process, so two callers in one test file share one promise. */
const inProcess = new Map<string, Promise<unknown>>();

/** Whether the process `pid` still runs. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The value of the cache entry `name` for inputs hashed to `key`: built by `build` in a fresh
 * folder when no process of this run has built it, otherwise the value the first builder
 * recorded (waiting for it while it builds). `build` returns what the callers need (paths into
 * its folder), as JSON.
 */
export function buildOnce<T>(name: string, key: string, build: (dir: string) => Promise<T>, root = cacheRoot()): Promise<T> {
  const entry = path.join(root, `${name}-${key.slice(0, 16)}`);
  let pending = inProcess.get(entry) as Promise<T> | undefined;
  if (!pending) {
    pending = claimOrWait(name, entry, build);
    inProcess.set(entry, pending);
  }
  return pending;
}

async function claimOrWait<T>(name: string, entry: string, build: (dir: string) => Promise<T>): Promise<T> {
  const lock = `${entry}.lock`;
  const result = path.join(entry, "result.json");
  const started = Date.now();
  let announced = false;
  for (;;) {
    if (fs.existsSync(result)) return unwrap<T>(name, JSON.parse(fs.readFileSync(result, "utf8")) as Outcome<T>);
    fs.mkdirSync(path.dirname(entry), { recursive: true });
    try {
      fs.mkdirSync(lock);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = Number(readOrEmpty(path.join(lock, "pid")));
      if (owner > 0 && !alive(owner)) {
        // The builder died mid-way (a killed worker): its half-built entry is worthless.
        progress("library-cache", `${name}: the process that was building it (${owner}) is gone; building it again`);
        fs.rmSync(entry, { recursive: true, force: true });
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        progress("library-cache", `${name}: waiting for another test file (pid ${owner || "?"}) that builds it`);
        announced = true;
      }
      if (Date.now() - started > WAIT_LIMIT_MS) {
        throw new Error(`${name}: gave up after ${WAIT_LIMIT_MS / 60_000} min waiting for ${result} (built by pid ${owner || "?"}; its lock is ${lock})`);
      }
      await sleep(POLL_MS);
      continue;
    }
    fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
    return unwrap<T>(name, await buildEntry(name, entry, build));
  }
}

async function buildEntry<T>(name: string, entry: string, build: (dir: string) => Promise<T>): Promise<Outcome<T>> {
  const begun = Date.now();
  progress("library-cache", `${name}: building it for this run`);
  fs.rmSync(entry, { recursive: true, force: true });
  fs.mkdirSync(entry, { recursive: true });
  let outcome: Outcome<T>;
  try {
    outcome = { ok: true, value: await build(entry) };
    progress("library-cache", `${name}: built in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
  } catch (e) {
    outcome = { ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e), builtBy: `pid ${process.pid} (${process.env.JEST_WORKER_ID ? `jest worker ${process.env.JEST_WORKER_ID}` : "jest"})` };
  }
  // Written whole, then renamed: a waiting file never reads half a result.
  const tmp = path.join(entry, `result.json.${process.pid}`);
  fs.writeFileSync(tmp, JSON.stringify(outcome));
  fs.renameSync(tmp, path.join(entry, "result.json"));
  return outcome;
}

function unwrap<T>(name: string, outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new Error(`${name} could not be built for this run (by ${outcome.builtBy}):\n${outcome.error}`);
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    return "";
  }
}

/** Every file under `dir` (or `dir` itself), skipping the named folders. */
function filesUnder(dir: string, skip: Set<string>): string[] {
  if (!fs.existsSync(dir)) return [];
  if (!fs.statSync(dir).isDirectory()) return [dir];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !skip.has(e.name))
    .flatMap((e) => filesUnder(path.join(dir, e.name), skip))
    .sort();
}

/** A hash of the paths (relative to `base`) and contents of `files`, and of `extra`. */
export function hashFiles(base: string, files: string[], extra: string[] = []): string {
  const hash = createHash("sha256");
  for (const f of extra) hash.update(`${f}\0`);
  for (const f of files) {
    hash.update(`${path.relative(base, f)}\0`);
    hash.update(fs.readFileSync(f));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/**
 * The hash of what goes into the tarball: package.json and the files npm always packs (README,
 * LICENSE), every path `files` lists except lib/, and what builds lib/ (the tsconfigs, the
 * `prepare` script and the TypeScript compiler's version).
 */
export function tarballKey(root = ROOT): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { files?: string[] };
  const listed = (pkg.files ?? []).map((f) => f.replace(/\/$/, "")).filter((f) => f !== "lib");
  const always = fs.readdirSync(root).filter((f) => /^(package\.json|readme|license|licence|\.npmignore|tsconfig.*\.json)/i.test(f));
  const skip = new Set(["node_modules", "lib", "dist"]);
  const files = [...always, ...listed, "scripts/library"].flatMap((f) => filesUnder(path.join(root, f), skip));
  const typescript = readOrEmpty(path.join(root, "node_modules", "typescript", "package.json"));
  return hashFiles(root, [...new Set(files)], [JSON.parse(typescript || "{}").version ?? "no typescript"]);
}

/** The library packed once per run. */
export interface SharedTarball {
  /** The tarball `npm pack` made. */
  readonly tarball: string;
  /** lib/ as `prepare` built it for the tarball (read only: other test files use it too). */
  readonly lib: string;
}

/**
 * `npm pack` of the working tree (see {@link packWorkingTree}), once per run and per content:
 * every test file that installs the library installs this one tarball. Read only.
 */
export function sharedTarball(): Promise<SharedTarball> {
  return buildOnce("packed library", tarballKey(), async (dir) => {
    const tarball = await packWorkingTree(dir);
    return { tarball, lib: path.join(dir, "source", "lib") };
  });
}

/**
 * examples/platform-app installed from the shared tarball, once per run: the example's sources
 * copied to a fresh folder with its library dependency pointing at the tarball, then `npm install`
 * the way a consumer runs it. Read only: use {@link copyInstalledExample} for a folder to work in.
 */
export async function sharedExample(): Promise<InstalledExample> {
  const { tarball } = await sharedTarball();
  const sources = filesUnder(EXAMPLE_DIR, new Set(["node_modules", "dist", "cdktf.out", ".terraform", "package-lock.json"]));
  // The tarball's path names the entry it was packed in, and so the hash of its inputs.
  const key = hashFiles(EXAMPLE_DIR, sources, [tarball]);
  return buildOnce("installed example", key, async (dir) => {
    const appDir = path.join(dir, "app");
    copyExample(appDir, `file:${tarball}`);
    progress("library-cache", `installing the example from ${path.basename(tarball)} (npm install --prefer-offline)`);
    await runOk("npm install", "npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: appDir, timeoutMs: 300_000 });
    return { appDir, tarball };
  });
}

/**
 * A private copy of the shared installed example in `appDir`: its sources (with the same lock
 * file) and its node_modules as hard links, so the copy costs a second instead of an install
 * while Node sees a folder of its own. Nothing the tests run writes into node_modules.
 */
export async function copyInstalledExample(appDir: string): Promise<InstalledExample> {
  const shared = await sharedExample();
  copyExample(appDir, `file:${shared.tarball}`);
  fs.copyFileSync(path.join(shared.appDir, "package-lock.json"), path.join(appDir, "package-lock.json"));
  await hardLinkCopy(path.join(shared.appDir, "node_modules"), path.join(appDir, "node_modules"));
  return { appDir, tarball: shared.tarball };
}

/** `cp -al`: a copy of a folder whose files are hard links to the original's. */
export async function hardLinkCopy(from: string, to: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn("cp", ["-al", from, to], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`cp -al ${from} ${to} exited ${code}: ${stderr.trim()}`))));
  });
}
