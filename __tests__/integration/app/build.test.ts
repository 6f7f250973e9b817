import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../../support/app";

/**
 * `node scripts/app/build.mjs`, which every `npm run <command>` runs first: it compiles when an
 * input changed and does nothing when dist/ was built from the same inputs. Run in a copy of the
 * sources (this checkout's dist/ is in use by the other test files), with its node_modules linked.
 */
let dir: string;
const build = (env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [path.join(dir, "scripts", "app", "build.mjs")], { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8" });
const builtAt = (file: string) => fs.statSync(path.join(dir, "dist", file)).mtimeMs;

beforeAll(() => {
  dir = tempDir("app-build");
  for (const f of ["main.ts", "modules", "stacks", "config", "scripts", "package-lock.json", "package.json"]) fs.cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the first run compiles dist/ and the app bundle; an unchanged second run writes nothing", () => {
  expect(build()).toMatchObject({ status: 0, stderr: "" });
  const before = [builtAt("main.js"), builtAt("main.bundle.js"), builtAt("config/environments.js")];
  expect(build()).toMatchObject({ status: 0, stdout: "", stderr: "" });
  expect([builtAt("main.js"), builtAt("main.bundle.js"), builtAt("config/environments.js")]).toEqual(before);
});

test("a changed source, a changed package-lock.json or BUILD_FORCE=1 compiles again", () => {
  const cases: [string, () => void, NodeJS.ProcessEnv][] = [
    ["a source", () => fs.appendFileSync(path.join(dir, "config", "environments.ts"), "\n"), {}],
    ["the lock file", () => fs.appendFileSync(path.join(dir, "package-lock.json"), "\n"), {}],
    ["BUILD_FORCE=1", () => undefined, { BUILD_FORCE: "1" }],
  ];
  for (const [what, change, env] of cases) {
    const before = builtAt("main.bundle.js");
    change();
    expect({ what, status: build(env).status }).toEqual({ what, status: 0 });
    expect({ what, rebuilt: builtAt("main.bundle.js") > before }).toEqual({ what, rebuilt: true });
  }
});

test("a build that fails leaves no stamp: the next run compiles again instead of trusting a half-written dist/", () => {
  const source = path.join(dir, "config", "environments.ts");
  const good = fs.readFileSync(source, "utf8");
  fs.appendFileSync(source, "\nconst = ;\n");
  expect(build().status).not.toBe(0);
  expect(fs.existsSync(path.join(dir, "dist", ".build-stamp"))).toBe(false);
  fs.writeFileSync(source, good);
  expect(build().status).toBe(0);
  expect(fs.existsSync(path.join(dir, "dist", ".build-stamp"))).toBe(true);
});
