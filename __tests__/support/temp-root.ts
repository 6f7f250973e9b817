/**
 * One temporary folder per test run. Jest's globalSetup makes it and points TMPDIR at it (the
 * workers inherit the variable, so `os.tmpdir()` — what cdktf's `Testing` and every test's
 * `mkdtemp` use — lands inside it); globalTeardown removes it and checks that the run left
 * nothing behind: not the folder itself, and, when the caller gave the run a TMPDIR of its own,
 * nothing new in that TMPDIR either.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The prefix of every run's folder in the system temp folder. */
export const TEMP_ROOT_PREFIX = "codebuild-docker-modules-test-";
/** Set in the environment of the run's processes: the run's folder. */
export const TEMP_ROOT_VARIABLE = "CODEBUILD_DOCKER_MODULES_TEST_TMPDIR";
/** The temp folder every program shares when TMPDIR is unset: others write there during a run too. */
export const SHARED_TEMP = "/tmp";

/** What the temp folder the run started in held before the run, to find what the run left in it. */
export interface TempBase {
  readonly dir: string;
  readonly before: readonly string[];
}

/** Makes the run's folder under `base` and points TMPDIR (and TMP, TEMP) at it. */
export function createTempRoot(env: NodeJS.ProcessEnv = process.env, base = os.tmpdir()): string {
  const dir = fs.mkdtempSync(path.join(base, TEMP_ROOT_PREFIX));
  env[TEMP_ROOT_VARIABLE] = dir;
  env.TMPDIR = env.TMP = env.TEMP = dir;
  return dir;
}

/** The entries of `dir` now, to compare with after the run. */
export function snapshotBase(dir: string): TempBase {
  return { dir, before: fs.readdirSync(dir) };
}

/** Removes the run's folder (read-only files and all) and restores nothing: the run is over. */
export function removeTempRoot(env: NodeJS.ProcessEnv = process.env): void {
  const dir = env[TEMP_ROOT_VARIABLE];
  if (!dir || !path.basename(dir).startsWith(TEMP_ROOT_PREFIX)) return;
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // Files a build made read-only (Go's module cache) stop rmSync when not run as root.
    makeWritable(dir);
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * What the run left: its own folder if it is still there, and whatever is new in the temp folder
 * it started in — unless that is the shared /tmp, where other programs come and go meanwhile.
 */
export function leftBehind(base: TempBase, env: NodeJS.ProcessEnv = process.env): string[] {
  const left: string[] = [];
  const root = env[TEMP_ROOT_VARIABLE];
  if (root && fs.existsSync(root)) left.push(root);
  if (fs.realpathSync(base.dir) !== SHARED_TEMP) {
    const before = new Set(base.before);
    for (const name of fs.readdirSync(base.dir)) {
      const full = path.join(base.dir, name);
      if (!before.has(name) && full !== root) left.push(full);
    }
  }
  return left;
}

function makeWritable(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      fs.chmodSync(full, 0o700);
      makeWritable(full);
    }
  }
}
