import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../../support/app";
import { cleanEnv, runScript } from "../../support/stacks-cli";
import { shippedConfig } from "../../support/environments";
import { applyWaves } from "../../../stacks/topology";
import { loadConfigFile } from "../../../config/environments";
import { listStacks, type StackInfo } from "../../../scripts/stacks/list";

/**
 * `npm run -s stacks` and `npm run -s atlantis-config --check` as processes (the compiled
 * dist/scripts/stacks/stacks.js and dist/scripts/atlantis/atlantis-config.js): the JSON and the
 * table they print, the waves, the variables they honour, each refusal in one line with its exit
 * code. The argument parsing and atlantis.yaml in-process: unit/stacks/list.
 */

const STACKS_JS = path.join(ROOT, "dist", "scripts", "stacks", "stacks.js");
const ATLANTIS_JS = path.join(ROOT, "dist", "scripts", "atlantis", "atlantis-config.js");

const run = runScript;

function stacksJson(extra: Record<string, string | undefined> = {}): StackInfo[] {
  const r = run(STACKS_JS, ["--json"], extra);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

/** The library the command prints (each command run loads cdktf: a second or more on a loaded machine). */
function stacksLib(extra: Record<string, string | undefined> = {}): StackInfo[] {
  return listStacks({ env: cleanEnv(extra), root: ROOT, cwd: ROOT });
}

const config = shippedConfig();
const names = Object.keys(config.environments);
/** [consumer, owner] pairs of the shipped config (pullFrom). */
const pulls: [string, string][] = names.filter((n) => config.environments[n].pullFrom).map((n) => [n, config.environments[n].pullFrom]);
describe("npm run -s stacks -- --json", () => {
  it("lists every stack of the default selection (the local environments) with exactly the seven fields, from the config", () => {
    const stacks = stacksJson();
    const expected = names.filter((n) => config.environments[n].local).flatMap((n) => config.environments[n].regions.map((r: string) => `${n}-${r}`));
    expect(stacks.map((s) => s.name).sort()).toEqual([...expected].sort());
    for (const s of stacks) {
      expect(Object.keys(s).sort()).toEqual(["accountId", "dir", "environment", "local", "name", "region", "wave"]);
      const e = config.environments[s.environment];
      expect(s.name).toBe(`${s.environment}-${s.region}`);
      expect(s.accountId).toBe(e.accountId);
      expect(e.regions).toContain(s.region);
      expect(s.local).toBe(e.local === true);
      expect(s.dir).toBe(`cdktf.out/stacks/${s.name}`);
      expect(Number.isInteger(s.wave)).toBe(true);
    }
  });

  it("orders by wave: every consumer's stacks come before those of the owner it pulls from (the owner's repository policy names the consumer's pull roles)", () => {
    expect(pulls.length).toBeGreaterThan(0);
    const stacks = stacksLib();
    expect(stacks.map((s) => s.wave)).toEqual([...stacks.map((s) => s.wave)].sort((a, b) => a - b));
    expect(stacks[0].wave).toBe(0);
    const index = (env: string) => stacks.flatMap((s, i) => (s.environment === env ? [i] : []));
    for (const [consumer, owner] of pulls) {
      const waveOf = (env: string) => new Set(stacks.filter((s) => s.environment === env).map((s) => s.wave));
      expect(waveOf(consumer).size).toBe(1);
      expect([...waveOf(consumer)][0]).toBeLessThan([...waveOf(owner)][0]);
      expect(Math.max(...index(consumer))).toBeLessThan(Math.min(...index(owner)));
    }
    // The shipped organization: the consumers in wave 0, their owner in wave 1.
    const owners = new Set(pulls.map(([, o]) => o));
    for (const s of stacks) expect(s.wave).toBe(owners.has(s.environment) ? 1 : 0);
  });

  it("numbers the waves as applyWaves groups the stacks (the one source of apply order), in the file's order within a wave", () => {
    const organization = loadConfigFile(path.join(ROOT, "config", "environments.json"));
    const local = organization.flatMap((environment) => environment.regions.map((region) => ({ environment, region, name: `${environment.name}-${region}`, dir: "" })));
    const waves = applyWaves(local, organization);
    const fromLib = listStacks({ env: cleanEnv({ ENVIRONMENTS: "all" }), root: ROOT, cwd: ROOT });
    expect(fromLib.map((s) => [s.name, s.wave])).toEqual(waves.flatMap((w, i) => w.map((s) => [s.name, i])));
    expect(stacksJson({ ENVIRONMENTS: "all" })).toEqual(fromLib);
  });

  it("honours ENVIRONMENTS (a wave number stays the organization's), CDKTF_OUTDIR and CONFIG_FILE", () => {
    const [consumer, owner] = pulls[0];
    const ownerOnly = stacksLib({ ENVIRONMENTS: owner });
    expect(ownerOnly.map((s) => s.environment)).toEqual(config.environments[owner].regions.map(() => owner));
    expect(ownerOnly.every((s) => s.wave === 1)).toBe(true);
    expect(new Set(stacksLib({ ENVIRONMENTS: `${owner},${consumer}` }).map((s) => s.environment))).toEqual(new Set([owner, consumer]));
    expect(stacksLib({ ENVIRONMENTS: consumer, CDKTF_OUTDIR: "out/synth" }).map((s) => s.dir)).toEqual(config.environments[consumer].regions.map((r: string) => `out/synth/stacks/${consumer}-${r}`));

    const dir = tempDir("stacks-config");
    const file = path.join(dir, "one.json");
    const one = { environments: { solo: { ...config.environments[owner], build: { ...config.environments[owner].build, replicateToEnvironments: undefined } } } };
    fs.writeFileSync(file, JSON.stringify(one));
    expect(stacksJson({ CONFIG_FILE: file }).map((s) => [s.name, s.wave])).toEqual(config.environments[owner].regions.map((r: string) => [`solo-${r}`, 0]));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("prints a table without --json", () => {
    const r = run(STACKS_JS, []);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^WAVE\s+STACK\s+ENVIRONMENT\s+ACCOUNT\s+REGION\s+LOCAL\s+DIR$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(stacksLib().map((s) => s.name));
  });

  it.each([
    [["--bogus"], {}, 2, 'error: unknown argument "--bogus" (options: --json, --changed-since GIT_REF, --pending, --orphans, --help)'],
    [["--json", "--changed-since"], {}, 2, "error: --changed-since needs a git ref, e.g. --changed-since origin/main"],
    [["--json"], { ENVIRONMENTS: "nope" }, 1, 'error: ENVIRONMENTS: "nope" is not an environment of config/environments.json (known: local, local-staging, local-prod, or all)'],
    [["--json"], { CONFIG_FILE: "missing.json" }, 1, "error: missing.json: cannot read the environments file (ENOENT)"],
  ] as const)("refuses %j %j: one error line, exit %i, nothing on stdout", (args, extra, code, line) => {
    const r = run(STACKS_JS, [...args], extra);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.status).toBe(code);
  });
});
describe("npm run -s atlantis-config", () => {
  it("--check agrees that the committed atlantis.yaml is current", () => {
    const r = run(ATLANTIS_JS, ["--check"]);
    expect(r.stderr).toBe("atlantis.yaml is current\n");
    expect(r.status).toBe(0);
  });
});

test("--orphans of local environments with no local AWS running: they hold no state, so none is orphaned (one warning line, exit 0)", () => {
  const r = run(STACKS_JS, ["--orphans", "--json"], { ENVIRONMENTS: "local", LOCAL_AWS_STATE_DIR: tempDir("no-kept-orphans") });
  expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
    status: 0,
    stdout: "[]\n",
    stderr:
      "warning: no local AWS is running (AWS_ENDPOINT_URL is unset and npm run status shows none): the local environments hold no state, so none is orphaned\n",
  });
});
