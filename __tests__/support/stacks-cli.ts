import { spawnSync } from "child_process";
import * as fs from "fs";
import { ROOT } from "./app";

/** The caller's environment without what selects or redirects a synth (ENVIRONMENTS, CONFIG_FILE, CDKTF_OUTDIR, endpoints), plus `extra`. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("AWS_ENDPOINT_URL") || ["ENVIRONMENTS", "CONFIG_FILE", "CDKTF_OUTDIR", "ALLOW_LOCAL_ENDPOINT"].includes(k)) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs a compiled script with node. */
export function runScript(script: string, args: readonly string[], extra: Record<string, string | undefined> = {}, cwd = ROOT) {
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run node scripts/app/build.mjs first`);
  return spawnSync(process.execPath, [script, ...args], { cwd, env: cleanEnv(extra), encoding: "utf8" });
}
