/**
 * One temporary folder per test run. Jest's globalSetup makes it and points TMPDIR at it (the
 * workers inherit the variable, so `os.tmpdir()` — what cdktf's `Testing` and every test's
 * `mkdtemp` use — lands inside it); globalTeardown removes it. A run therefore leaves nothing in
 * the system temp folder, however many `cdktf.outdir.*` or `buildspec-src-*` folders it made.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The prefix of every run's folder in the system temp folder. */
export const TEMP_ROOT_PREFIX = "codebuild-docker-modules-test-";
/** Set in the environment of the run's processes: the run's folder. */
export const TEMP_ROOT_VARIABLE = "CODEBUILD_DOCKER_MODULES_TEST_TMPDIR";

/** Makes the run's folder under `base` and points TMPDIR (and TMP, TEMP) at it. */
export function createTempRoot(env: NodeJS.ProcessEnv = process.env, base = os.tmpdir()): string {
  const dir = fs.mkdtempSync(path.join(base, TEMP_ROOT_PREFIX));
  env[TEMP_ROOT_VARIABLE] = dir;
  env.TMPDIR = env.TMP = env.TEMP = dir;
  return dir;
}

/** Removes the run's folder (read-only files and all) and restores nothing: the run is over. */
export function removeTempRoot(env: NodeJS.ProcessEnv = process.env): void {
  const dir = env[TEMP_ROOT_VARIABLE];
  if (!dir || !path.basename(dir).startsWith(TEMP_ROOT_PREFIX)) return;
  // Files a build made read-only (Go's module cache) would stop rmSync: make them writable first.
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    spawnChmod(dir);
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

function spawnChmod(dir: string): void {
  require("child_process").spawnSync("chmod", ["-R", "u+w", dir]);
}
