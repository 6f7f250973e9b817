import * as childProcess from "child_process";
import * as path from "path";
import { promisify } from "util";
import { IN_PROCESS_ONLY, PROCESS_STARTERS } from "../../support/in-process-guard";

/**
 * The unit tier's guards: a unit test that starts a program fails at once, saying where the test
 * belongs, instead of making the fast tier slow (support/in-process-only.ts); one that loads
 * compiled code from dist/, which `npm run test:unit` does not rebuild, fails too (the unit
 * project's moduleNameMapper, support/no-dist.js).
 */
describe("the unit tier's child_process guard", () => {
  test.each(PROCESS_STARTERS)("child_process.%s throws, naming the integration folder", (name) => {
    // WHEN a unit test starts a program by any of child_process's functions
    const start = () => (childProcess[name] as (file: string, args: string[]) => unknown)("node", ["--version"]);
    // THEN it throws the guard's message
    expect(start).toThrow(IN_PROCESS_ONLY);
  });

  test("a promisified exec rejects with the same message", async () => {
    await expect(promisify(childProcess.execFile)("node", ["--version"])).rejects.toThrow(IN_PROCESS_ONLY);
  });

  test("the message says where the test goes", () => {
    expect(IN_PROCESS_ONLY).toBe("unit tests run in-process: move this test to __tests__/integration");
  });

  test("node:child_process is guarded too", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const prefixed = require("node:child_process") as typeof childProcess;
    expect(() => prefixed.spawnSync("node", ["--version"])).toThrow(IN_PROCESS_ONLY);
  });

  test("compiled code from dist/ does not load: unit tests test the sources", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = (file: string) => () => require(file);
    expect(load(path.join(__dirname, "..", "..", "..", "dist", "main.js"))).toThrow("unit tests test the TypeScript sources");
    expect(load("../../../dist/scripts/stacks/stacks.js")).toThrow("unit tests test the TypeScript sources");
  });
});
