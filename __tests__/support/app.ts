import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The project root. */
export const ROOT = path.join(__dirname, "..", "..");

/** Fails with how to fix it when the compiled app is missing. */
export function requireBuiltApp(): string {
  const main = path.join(ROOT, "dist", "main.js");
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm test does it first)`);
  return main;
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

/** Runs the real entry point (`node dist/main.js`) with extra environment variables. */
export function runApp(env: Record<string, string | undefined>): SpawnSyncReturns<string> {
  const main = requireBuiltApp();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1" };
  delete childEnv.CONFIG_FILE;
  delete childEnv.ENVIRONMENTS;
  delete childEnv.CDKTF_OUTDIR;
  // An endpoint exported in the caller's shell would make the app refuse real environments.
  for (const k of Object.keys(childEnv)) if (k.startsWith("AWS_ENDPOINT_URL") || k === "ALLOW_LOCAL_ENDPOINT") delete childEnv[k];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  return spawnSync(process.execPath, [main], { cwd: ROOT, env: childEnv, encoding: "utf8" });
}
