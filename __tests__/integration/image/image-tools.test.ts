import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../../support/app";
import { onPath, requireTools } from "../../support/containers";

/**
 * The test files that build images or run Go check their tools before doing any work: on a
 * machine without them they fail at once, with one line naming the tools and the apt line that
 * installs them, and no follow-on errors (no TypeError from a half-made setup).
 */
jest.setTimeout(180_000);

/** The tools these files need that a fresh machine lacks (the rest of PATH stays). */
const HIDDEN = ["buildah", "podman", "go", "docker-registry", "debootstrap", "skopeo"];

const FILES = ["__tests__/integration/image/image.test.ts", "__tests__/integration/image/go.test.ts", "__tests__/integration/image/multi-arch.test.ts", "__tests__/e2e/build-runner/buildspecs-run.test.ts"];

/** A folder of links to every command on PATH except `hidden`: PATH as a machine without them has it. */
function pathWithout(hidden: string[]): string {
  const dir = tempDir("path-without");
  for (const from of (process.env.PATH ?? "").split(path.delimiter).filter((d) => d !== "" && fs.existsSync(d))) {
    for (const name of fs.readdirSync(from)) {
      const target = path.join(from, name);
      if (hidden.includes(name) || fs.existsSync(path.join(dir, name)) || !onPath(name, from)) continue;
      fs.symlinkSync(target, path.join(dir, name));
    }
  }
  return dir;
}

interface FileResult {
  readonly name: string;
  readonly status: string;
  readonly message: string;
  readonly assertionResults: { readonly status: string; readonly failureMessages: string[] }[];
}

describe("requireTools", () => {
  test("names every missing tool and the apt line that installs them", () => {
    const empty = tempDir("empty-path");
    expect(() => requireTools(["podman", "go", "unshare"], empty)).toThrow(
      "podman, go, unshare are not installed: sudo apt-get install -y podman golang-go util-linux (or run `bash scripts/setup/test-prerequisites.sh`)",
    );
  });

  test("passes when every tool is on PATH", () => {
    expect(() => requireTools(["sh"], "/bin:/usr/bin")).not.toThrow();
  });
});

describe("the image, Go and buildspec test files on a machine without their tools", () => {
  let results: Record<string, FileResult>;
  let seconds: number;

  beforeAll(() => {
    // GIVEN a PATH without the container tools, Go and the registry
    const searchPath = pathWithout(HIDDEN);
    expect(HIDDEN.filter((t) => onPath(t, searchPath))).toEqual([]);
    const out = path.join(tempDir("jest-json"), "results.json");
    // A TMPDIR of the inner run's own: its teardown checks that nothing new is left in the TMPDIR it
    // started in, which the outer run's other files write into meanwhile.
    const innerTmp = tempDir("inner-jest-tmp");
    // WHEN jest runs the files
    const started = Date.now();
    const inner = spawnSync(process.execPath, [require.resolve("jest/bin/jest"), "--ci", "--runInBand", "--json", `--outputFile=${out}`, "--runTestsByPath", ...FILES], {
      cwd: ROOT,
      env: { ...process.env, PATH: searchPath, TMPDIR: innerTmp },
      encoding: "utf8",
    });
    seconds = (Date.now() - started) / 1000;
    if (!fs.existsSync(out)) throw new Error(`the inner jest run wrote no results (exit ${inner.status}):\n${`${inner.stderr}`.split("\n").slice(-30).join("\n")}`);
    const json = JSON.parse(fs.readFileSync(out, "utf8")) as { testResults: FileResult[] };
    results = Object.fromEntries(json.testResults.map((r) => [path.relative(ROOT, r.name), r]));
  });

  test("they fail within seconds, before any build", () => {
    expect(Object.keys(results).sort()).toEqual([...FILES].sort());
    expect(seconds).toBeLessThan(90);
    for (const file of FILES) expect({ file, status: results[file].status }).toEqual({ file, status: "failed" });
  });

  test.each([
    ["__tests__/integration/image/image.test.ts", /buildah, podman, debootstrap are not installed: sudo apt-get install -y buildah podman debootstrap/],
    ["__tests__/integration/image/go.test.ts", /go is not installed: sudo apt-get install -y golang-go/],
    [
      "__tests__/integration/image/multi-arch.test.ts",
      /buildah, podman, debootstrap, docker-registry, skopeo are not installed: sudo apt-get install -y buildah podman debootstrap docker-registry skopeo/,
    ],
    ["__tests__/e2e/build-runner/buildspecs-run.test.ts", /docker-registry, buildah, podman, debootstrap are not installed: sudo apt-get install -y docker-registry buildah podman debootstrap/],
  ])("%s: every failure is the line naming the tools and the apt install line, and nothing else", (file, line) => {
    // A check in a hook fails each test with it; a check at the top of the file fails the file.
    const failures = [...results[file].assertionResults.flatMap((a) => a.failureMessages), ...(results[file].message ? [results[file].message] : [])];
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure).toMatch(line);
      expect(failure).not.toMatch(/TypeError|ReferenceError|Cannot read properties/);
    }
  });
});
