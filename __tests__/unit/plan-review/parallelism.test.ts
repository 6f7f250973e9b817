import * as fs from "fs";
import * as path from "path";
import { defaultParallelism, machineResources, parallelismProblem, resolveParallelism, runPool, MAX_PARALLELISM } from "../../../scripts/shared/pool";
import { applyInWaves, parallelismLine, parseDestroyFlags, parsePlanFlags, stackSelectionProblem } from "../../../scripts/plan-review/plan";
import { parseFlags as parseStartFlags } from "../../../scripts/local-aws/start";
import { tempDir } from "../../support/app";
import { messageOf } from "../../support/synth";

/**
 * The bounded runner without Terraform: the pool, the wave-by-wave apply, the
 * default from the machine, and the flags. The bound with real terraform processes:
 * e2e/organization.test.ts (its deploy runs with --parallelism 2 and counts every terraform process).
 */

/** A task the test ends by hand, and a log of what started and ended when. */
function harness() {
  const events: string[] = [];
  const pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  let running = 0;
  let peak = 0;
  const work = (name: string) =>
    new Promise<string>((resolve, reject) => {
      running++;
      peak = Math.max(peak, running);
      events.push(`start ${name}`);
      pending.set(name, {
        resolve: () => {
          running--;
          events.push(`end ${name}`);
          resolve(name.toUpperCase());
        },
        reject: (e) => {
          running--;
          events.push(`fail ${name}`);
          reject(e);
        },
      });
    });
  const tick = () => new Promise((r) => setImmediate(r));
  return { events, pending, work, tick, peak: () => peak, running: () => running };
}

describe("runPool", () => {
  test("starts items in order, at most `limit` at once, the next as soon as a slot is free; results in the items' order", async () => {
    const h = harness();
    const done = runPool(["a", "b", "c", "d", "e"], 2, (x) => h.work(x));
    await h.tick();
    expect(h.events).toEqual(["start a", "start b"]);
    h.pending.get("b")!.resolve();
    await h.tick();
    expect(h.events).toEqual(["start a", "start b", "end b", "start c"]);
    for (const x of ["a", "c", "d", "e"]) {
      await h.tick();
      h.pending.get(x)!.resolve();
    }
    const settled = await done;
    expect(h.peak()).toBe(2);
    expect(settled.map((s) => (s.status === "done" ? s.value : s.status))).toEqual(["A", "B", "C", "D", "E"]);
    expect(h.events.filter((e) => e.startsWith("start"))).toEqual(["start a", "start b", "start c", "start d", "start e"]);
  });

  test("a limit above the number of items runs them all at once; a limit of 1 runs them one by one", async () => {
    const all = harness();
    const p = runPool(["a", "b", "c"], 64, (x) => all.work(x));
    await all.tick();
    expect(all.running()).toBe(3);
    for (const x of ["a", "b", "c"]) all.pending.get(x)!.resolve();
    await p;

    const one = harness();
    const q = runPool(["a", "b", "c"], 1, (x) => one.work(x));
    for (const x of ["a", "b", "c"]) {
      await one.tick();
      one.pending.get(x)!.resolve();
    }
    await q;
    expect(one.peak()).toBe(1);
    expect(one.events).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  test("by default a failure does not stop the others: every item runs, the failure is reported in place", async () => {
    const settled = await runPool([1, 2, 3, 4], 2, async (n) => {
      if (n === 2) throw new Error("two failed");
      return n * 10;
    });
    expect(settled.map((s) => s.status)).toEqual(["done", "failed", "done", "done"]);
    expect(settled[1].status === "failed" && (settled[1].error as Error).message).toBe("two failed");
    expect(settled[3].status === "done" && settled[3].value).toBe(40);
  });

  test("stopOnFailure: after a failure no further item starts, the running ones finish, the rest are not-started", async () => {
    const h = harness();
    const done = runPool(["a", "b", "c", "d"], 2, (x) => h.work(x), { stopOnFailure: true });
    await h.tick();
    h.pending.get("a")!.reject(new Error("a broke"));
    await h.tick();
    // b still runs; nothing new started
    expect(h.events).toEqual(["start a", "start b", "fail a"]);
    h.pending.get("b")!.resolve();
    const settled = await done;
    expect(settled.map((s) => s.status)).toEqual(["failed", "done", "not-started", "not-started"]);
    expect(h.events).toEqual(["start a", "start b", "fail a", "end b"]);
  });

  test("a limit that is not an integer ≥ 1 is refused", async () => {
    await expect(runPool([1], 0, async () => 1)).rejects.toThrow("pool limit 0 must be an integer ≥ 1");
  });
});

describe("applyInWaves", () => {
  const p = { limit: 2, reason: "--parallelism 2" };
  const s = (name: string) => ({ name });

  test("a wave starts only after every stack of the one before is done; at most `limit` at once within a wave; progress lines", async () => {
    const h = harness();
    const lines: string[] = [];
    const done = applyInWaves([[s("c1"), s("c2"), s("c3")], [], [s("owner")]], p, async (x) => void (await h.work(x.name)), "apply", (l) => lines.push(l));
    await h.tick();
    expect(h.events).toEqual(["start c1", "start c2"]);
    h.pending.get("c1")!.resolve();
    await h.tick();
    h.pending.get("c2")!.resolve();
    await h.tick();
    expect(h.events).toEqual(["start c1", "start c2", "end c1", "start c3", "end c2"]);
    h.pending.get("c3")!.resolve();
    await h.tick();
    await h.tick();
    expect(h.events.slice(-2)).toEqual(["end c3", "start owner"]);
    h.pending.get("owner")!.resolve();
    await done;
    expect(h.peak()).toBe(2);
    expect(lines[0]).toBe("applying 4 stacks, at most 2 at once (--parallelism 2), wave by wave\n");
    expect(lines[1]).toBe("wave 1/2: c1, c2, c3\n");
    expect(lines).toContain("[1/4] applying the reviewed plan of c1\n");
    expect(lines).toContain("wave 2/2: owner\n");
    expect(lines.filter((l) => /^\[\d\/4\] \w+: applied \(\d+\.\d s\)\n$/.test(l))).toHaveLength(4);
  });

  test("a failure starts no further stack and no further wave; the error names what failed, what was applied and what was not", async () => {
    const started: string[] = [];
    const lines: string[] = [];
    const err = await applyInWaves(
      [[s("c1"), s("c2"), s("c3")], [s("owner")]],
      { limit: 1, reason: "test" },
      async (x) => {
        started.push(x.name);
        if (x.name === "c2") throw new Error("terraform apply failed in c2 (exit 1):\nError: boom");
      },
      "destroy",
      (l) => lines.push(l),
    ).catch((e: Error) => e);
    expect(started).toEqual(["c1", "c2"]);
    expect((err as Error).message).toBe(
      "destroy failed for c2 (wave 1 of 2); destroyed: c1; not destroyed: c2, c3, owner\nc2: terraform apply failed in c2 (exit 1):\nError: boom",
    );
    expect(lines).toContain("[2/4] c2: destroy failed (0.0 s)\n");
  });
});

describe("the default parallelism: min(cores, available memory / 700 MiB), at least 1", () => {
  const GiB = 1024 ** 3;
  test.each([
    [2, 21.3 * GiB, 2],
    [8, 2 * GiB, 2],
    [16, 7 * GiB, 10],
    [4, 100 * 1024 ** 2, 1],
    [1, 0, 1],
    [256, 512 * GiB, MAX_PARALLELISM],
  ])("%d cores, %d bytes available: %d", (cores, availableBytes, expected) => {
    expect(defaultParallelism({ cores, availableBytes })).toBe(expected);
  });

  test("reads MemAvailable from /proc/meminfo (not MemFree)", () => {
    const file = path.join(tempDir("meminfo"), "meminfo");
    fs.writeFileSync(file, "MemTotal:       24576000 kB\nMemFree:         1000000 kB\nMemAvailable:   22334668 kB\n");
    expect(machineResources(file).availableBytes).toBe(22334668 * 1024);
    expect(machineResources(file).cores).toBeGreaterThanOrEqual(1);
  });

  test("the line printed at start says how many, at most how many at once, and why", () => {
    const machine = resolveParallelism(undefined, () => ({ cores: 2, availableBytes: 21.3 * 1024 ** 3 }));
    expect(parallelismLine("planning", 5, machine)).toBe("planning 5 stacks, at most 2 at once (2 cores, 21.3 GiB available, ~700 MiB per terraform)");
    expect(parallelismLine("planning", 1, resolveParallelism({ value: 3, source: "PARALLELISM" }))).toBe("planning 1 stack, at most 3 at once (PARALLELISM 3)");
  });
});

describe("--parallelism and PARALLELISM", () => {
  test("plan, deploy, destroy and npm start take the flag, else the variable; the flag wins; unset: the machine decides", () => {
    expect(parsePlanFlags(["--parallelism", "3"])).toMatchObject({ parallelism: { value: 3, source: "--parallelism" } });
    expect(parsePlanFlags(["--apply"], { PARALLELISM: "4" })).toMatchObject({ parallelism: { value: 4, source: "PARALLELISM" } });
    expect(parsePlanFlags(["--parallelism", "1"], { PARALLELISM: "4" })).toMatchObject({ parallelism: { value: 1, source: "--parallelism" } });
    expect(parsePlanFlags([])).toMatchObject({ parallelism: undefined });
    expect(parseDestroyFlags(["--parallelism", "64"])).toMatchObject({ parallelism: { value: 64, source: "--parallelism" } });
    expect(parseStartFlags(["--keep-running", "--parallelism", "2"])).toEqual({ keepRunning: true, build: true, parallelism: { value: 2, source: "--parallelism" } });
    expect(parseStartFlags([], { PARALLELISM: "5" })).toEqual({ keepRunning: false, build: true, parallelism: { value: 5, source: "PARALLELISM" } });
  });

  test.each(["0", "65", "2.5", "two", "-1", "", " 2"])("%j is refused in one line naming the source, the value and the rule", (value) => {
    const rule = "must be an integer from 1 to 64 (how many stacks run terraform at once)";
    expect(parallelismProblem(value, "--parallelism")).toBe(`--parallelism ${JSON.stringify(value)} ${rule}`);
    expect(messageOf(() => parsePlanFlags([], { PARALLELISM: value }))).toBe(`PARALLELISM ${JSON.stringify(value)} ${rule}`);
    expect(messageOf(() => parseDestroyFlags([], { PARALLELISM: value }))).toBe(`PARALLELISM ${JSON.stringify(value)} ${rule}`);
    expect(messageOf(() => parseStartFlags([], { PARALLELISM: value }))).toBe(`PARALLELISM ${JSON.stringify(value)} ${rule}`);
  });

  test("a missing value is one line", () => {
    expect(messageOf(() => parsePlanFlags(["--parallelism"]))).toBe("option --parallelism needs a value");
    expect(messageOf(() => parseStartFlags(["--parallelism", "--keep-running"]))).toBe("option --parallelism needs a value");
  });
});

describe("--stack", () => {
  test("repeatable and comma separated, for plan, deploy and destroy", () => {
    expect(parsePlanFlags(["--stack", "local-eu-central-1,local-us-east-1", "--stack", "local-prod-eu-central-1"])).toMatchObject({
      stacks: ["local-eu-central-1", "local-us-east-1", "local-prod-eu-central-1"],
    });
    expect(parsePlanFlags(["--apply", "--stack", "local-eu-central-1"])).toMatchObject({ apply: true, stacks: ["local-eu-central-1"] });
    expect(parseDestroyFlags(["--stack", "local-us-east-1"])).toMatchObject({ stacks: ["local-us-east-1"] });
  });

  test("a name that is not <environment>-<region> is one line", () => {
    expect(messageOf(() => parsePlanFlags(["--stack", "local"]))).toBe('--stack "local" must be a stack name <environment>-<region>, e.g. local-eu-central-1');
    expect(messageOf(() => parsePlanFlags(["--stack"]))).toBe("option --stack needs a value");
  });

  test("a name that is not a stack of the selection is one line listing the known stacks", () => {
    const known = ["local-eu-central-1", "local-us-east-1"];
    expect(stackSelectionProblem(["local-eu-central-1"], known, "ENVIRONMENTS=local")).toBeUndefined();
    expect(stackSelectionProblem(["local-eu-west-1"], known, "ENVIRONMENTS=local")).toBe(
      '--stack "local-eu-west-1": not a stack of the selected environments (ENVIRONMENTS=local); known stacks: local-eu-central-1, local-us-east-1',
    );
  });
});
