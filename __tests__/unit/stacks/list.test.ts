import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ROOT } from "../../support/app";
import { cleanEnv } from "../../support/stacks-cli";
import { shippedConfig } from "../../support/environments";
import { listStacks } from "../../../scripts/stacks/list";
import { generate } from "../../../scripts/atlantis/atlantis-config";
import { parseArgs } from "../../../scripts/stacks/stacks";
import { WORKFLOW } from "../../../scripts/atlantis/config";

/**
 * npm run -s stacks's arguments and npm run -s atlantis-config's atlantis.yaml (committed and
 * current), in-process. The commands as processes: integration/stacks/stacks-command; in
 * scratch copies of the project: --changed-since in integration/stacks/changed-since, a stale
 * atlantis.yaml and the workflow's synth step in integration/stacks/atlantis-config.
 */

const config = shippedConfig();
const names = Object.keys(config.environments);
/** [consumer, owner] pairs of the shipped config (pullFrom). */
const pulls: [string, string][] = names.filter((n) => config.environments[n].pullFrom).map((n) => [n, config.environments[n].pullFrom]);


describe("the arguments of npm run -s stacks", () => {
  it.each([
    [["--changed-since", "--json"], "--changed-since needs a git ref, e.g. --changed-since origin/main (got the flag --json)"],
    [["--changed-since=a", "--changed-since=b"], '--changed-since is given twice ("a" and "b"): give one git ref'],
    [["--changed-since="], "--changed-since needs a git ref, e.g. --changed-since origin/main"],
    [["json"], 'unknown argument "json" (options: --json, --changed-since GIT_REF, --pending, --orphans, --help)'],
    [["--pending", "--changed-since", "main"], "--changed-since and --pending do not go together: give one"],
    [["--pending", "--orphans"], "--pending and --orphans do not go together: give one"],
  ])("refuses %j in one line", (args, line) => {
    expect(() => parseArgs(args)).toThrow(new Error(line));
  });

  it("takes the ref as the next argument or after =", () => {
    expect(parseArgs(["--changed-since", "origin/main", "--json"])).toEqual({ json: true, changedSince: "origin/main", pending: false, orphans: false });
    expect(parseArgs(["--changed-since=HEAD~1"])).toEqual({ json: false, changedSince: "HEAD~1", pending: false, orphans: false });
    expect(parseArgs(["--json", "--pending"])).toEqual({ json: true, changedSince: undefined, pending: true, orphans: false });
    expect(parseArgs(["--orphans"])).toEqual({ json: false, changedSince: undefined, pending: false, orphans: true });
    expect(parseArgs(["--json", "--help"])).toBe("help");
  });
});

describe("npm run -s atlantis-config", () => {
  it("the committed atlantis.yaml is current (regenerated and compared)", () => {
    const committed = fs.readFileSync(path.join(ROOT, "atlantis.yaml"), "utf8");
    expect(committed).toBe(generate(cleanEnv(), ROOT, ROOT));
  });

  it("has one project per stack of every environment, each once, in its folder, with groups from the waves and the cdktf workflow", () => {
    const doc = parse(fs.readFileSync(path.join(ROOT, "atlantis.yaml"), "utf8"));
    const stacks = listStacks({ env: cleanEnv({ ENVIRONMENTS: "all" }), root: ROOT, cwd: ROOT });
    expect(stacks.length).toBe(names.reduce((n, e) => n + config.environments[e].regions.length, 0));
    expect(doc.version).toBe(3);
    expect(doc.projects.map((p: { name: string }) => p.name)).toEqual(stacks.map((s) => s.name));
    expect(new Set(doc.projects.map((p: { dir: string }) => p.dir)).size).toBe(stacks.length);
    for (const [i, p] of doc.projects.entries()) {
      const s = stacks[i];
      expect(p).toEqual({
        name: s.name,
        dir: s.dir,
        workspace: "default",
        execution_order_group: s.wave,
        autoplan: { enabled: true, when_modified: expect.any(Array) },
        apply_requirements: ["approved", "mergeable"],
        workflow: WORKFLOW,
      });
      // Every pattern points from the project's folder back into the project: its fixed part exists.
      for (const pattern of p.autoplan.when_modified as string[]) {
        const fixed = pattern.split("*")[0].replace(/\/$/, "");
        expect(fs.existsSync(path.resolve(ROOT, p.dir, fixed))).toBe(true);
      }
      expect(p.autoplan.when_modified).toEqual(expect.arrayContaining(["../../../config/environments.json", "../../../modules/**/*.ts", "../../../main.ts", "../../../stacks/**/*.ts"]));
    }
    const group = (env: string) => doc.projects.filter((p: { name: string }) => stacks.find((s) => s.name === p.name)!.environment === env).map((p: { execution_order_group: number }) => p.execution_order_group);
    for (const [consumer, owner] of pulls) expect(Math.max(...group(consumer))).toBeLessThan(Math.min(...group(owner)));
    const steps = doc.workflows[WORKFLOW].plan.steps;
    expect(steps.slice(1)).toEqual(["init", "plan"]);
    expect(steps[0].run).toBe('node ../../../dist/scripts/atlantis/synth-project.js "$PROJECT_NAME"');
    expect(doc.workflows[WORKFLOW].apply.steps).toEqual(["apply"]);
    expect(doc.abort_on_execution_order_fail).toBe(true);
  });
});
