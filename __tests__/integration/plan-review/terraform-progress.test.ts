import * as fs from "fs";
import * as path from "path";
import { DEFAULT_LOCK_TIMEOUT, HEARTBEAT_MS, lockTimeoutProblem, terraform, withLockTimeout } from "../../../scripts/terraform/run";
import { parseDestroyFlags, parsePlanFlags } from "../../../scripts/plan-review/plan";
import { parseFlags as parseStartFlags } from "../../../scripts/local-aws/start";
import { tempDir } from "../../support/app";
import { messageOf } from "../../support/synth";

/**
 * A `terraform` on PATH that records its arguments and sleeps: what plan, deploy, destroy and
 * npm start see of a slow Terraform, without running one.
 */
function fakeTerraform(sleepSeconds: number, exitCode = 0): { env: NodeJS.ProcessEnv; args: () => string[] } {
  const dir = tempDir("fake-terraform");
  const argsFile = path.join(dir, "args");
  fs.writeFileSync(path.join(dir, "terraform"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${argsFile}"\nsleep ${sleepSeconds}\nexit ${exitCode}\n`, { mode: 0o755 });
  return { env: { ...process.env, PATH: `${dir}${path.delimiter}${process.env.PATH}` }, args: () => fs.readFileSync(argsFile, "utf8").trim().split("\n") };
}

describe("progress of a terraform command", () => {
  test("names the stack and the phase, beats while it runs with the time elapsed, and says how long it took", async () => {
    // GIVEN a terraform that takes about a second
    const tf = fakeTerraform(1.2);
    const lines: string[] = [];

    // WHEN it runs with progress, beating every 300 ms
    const r = await terraform(["apply", "-input=false"], tempDir("cwd"), tf.env, { progress: { label: "local-eu-central-1", log: (l) => lines.push(l), heartbeatMs: 300 } });

    // THEN
    expect(r.code).toBe(0);
    expect(lines[0]).toBe("  local-eu-central-1: terraform apply started\n");
    const beats = lines.filter((l) => /^ {2}local-eu-central-1: terraform apply still running, \d+ s elapsed\n$/.test(l));
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(lines[lines.length - 1]).toMatch(/^ {2}local-eu-central-1: terraform apply done in \d+\.\d s\n$/);
  });

  test("beats every 10 s by default", () => {
    expect(HEARTBEAT_MS).toBe(10_000);
  });

  test("a failure says how long it ran; plan's exit code 2 (changes present) is not a failure", async () => {
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    await terraform(["apply"], tempDir("cwd"), fakeTerraform(0, 1).env, { progress: { label: "s", log } });
    await terraform(["plan", "-detailed-exitcode"], tempDir("cwd"), fakeTerraform(0, 2).env, { progress: { label: "s", log } });
    expect(lines.filter((l) => !l.endsWith("started\n"))).toEqual([expect.stringMatching(/^ {2}s: terraform apply failed after/), expect.stringMatching(/^ {2}s: terraform plan done in/)]);
  });

  test("without progress it prints nothing", async () => {
    const write = jest.spyOn(process.stdout, "write");
    await terraform(["apply"], tempDir("cwd"), fakeTerraform(0).env);
    expect(write).not.toHaveBeenCalled();
    write.mockRestore();
  });
});

describe("-lock-timeout", () => {
  test("every plan and apply waits 5 minutes for the state lock by default", async () => {
    const tf = fakeTerraform(0);
    await terraform(["plan", "-input=false"], tempDir("cwd"), tf.env);
    expect(tf.args()).toEqual(["plan", "-lock-timeout=5m", "-input=false"]);
    expect(DEFAULT_LOCK_TIMEOUT).toBe("5m");
    for (const cmd of ["apply", "destroy", "refresh", "import"]) expect(withLockTimeout([cmd], {})).toEqual([cmd, "-lock-timeout=5m"]);
  });

  test("LOCK_TIMEOUT overrides it; an explicit -lock-timeout or -lock=false is left alone; commands without a lock get none", () => {
    expect(withLockTimeout(["apply", "x.tfplan"], { LOCK_TIMEOUT: "30s" })).toEqual(["apply", "-lock-timeout=30s", "x.tfplan"]);
    expect(withLockTimeout(["apply", "-lock-timeout=0s"], {})).toEqual(["apply", "-lock-timeout=0s"]);
    expect(withLockTimeout(["plan", "-lock=false"], {})).toEqual(["plan", "-lock=false"]);
    for (const cmd of ["init", "show", "output", "validate"]) expect(withLockTimeout([cmd], {})).toEqual([cmd]);
  });

  test("a bad LOCK_TIMEOUT is one line naming the variable, the value and the rule, for plan, deploy, destroy and npm start", () => {
    const message = 'LOCK_TIMEOUT "5 minutes" must be a Terraform duration such as 0s, 30s, 5m or 1h (how long plan and apply wait for the state lock)';
    expect(lockTimeoutProblem("5 minutes")).toBe(message);
    expect(lockTimeoutProblem("1h30m")).toBeUndefined();
    expect(lockTimeoutProblem(undefined)).toBeUndefined();
    const env = { LOCK_TIMEOUT: "5 minutes" };
    expect(messageOf(() => parsePlanFlags([], env))).toBe(message);
    expect(messageOf(() => parsePlanFlags(["--apply"], env))).toBe(message);
    expect(messageOf(() => parseDestroyFlags([], env))).toBe(message);
    expect(messageOf(() => parseStartFlags([], env))).toBe(message);
  });
});
