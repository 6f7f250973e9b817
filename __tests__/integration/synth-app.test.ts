import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../support/app";
import { fixedTagWarning, prodEnvironment, shippedConfig, shippedLocalStacks, writeFixedTagConfig } from "../support/environments";

/** cdktf.json's app: `node scripts/app/synth.js`, the bundled app that `cdktf synth` runs. */
describe("cdktf.json's app (scripts/app/synth.js)", () => {
  const bundle = path.join(ROOT, "dist", "main.bundle.js");
  const run = (outdir: string) =>
    spawnSync(process.execPath, [path.join(ROOT, "scripts", "app", "synth.js")], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: outdir, ENVIRONMENTS: undefined, CONFIG_FILE: undefined, AWS_ENDPOINT_URL: undefined },
      encoding: "utf8",
    });

  test("is what cdktf.json runs", () => {
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, "cdktf.json"), "utf8")).app).toBe("node scripts/app/synth.js");
  });

  test("writes the same stacks as the unbundled entry point", () => {
    const dir = tempDir("synth-app");
    const a = run(path.join(dir, "bundled"));
    const b = spawnSync(process.execPath, [path.join(ROOT, "dist", "main.js")], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: path.join(dir, "plain"), ENVIRONMENTS: undefined, CONFIG_FILE: undefined, AWS_ENDPOINT_URL: undefined },
      encoding: "utf8",
    });
    expect([a.status, b.status]).toEqual([0, 0]);
    const stacks = (v: string) => fs.readdirSync(path.join(dir, v, "stacks")).sort();
    // The default: every stack of the shipped local organization.
    expect(stacks("bundled")).toEqual([...shippedLocalStacks()].sort());
    expect(stacks("plain")).toEqual(stacks("bundled"));
    for (const stack of stacks("bundled")) {
      const read = (v: string) => fs.readFileSync(path.join(dir, v, "stacks", stack, "cdk.tf.json"), "utf8");
      expect(read("bundled")).toBe(read("plain"));
    }
  });

  test("rebuilds the bundle when a source is newer, and only then", () => {
    const dir = tempDir("synth-app");
    expect(run(path.join(dir, "1")).status).toBe(0);
    const before = fs.statSync(bundle).mtimeMs;
    expect(run(path.join(dir, "2")).status).toBe(0);
    expect(fs.statSync(bundle).mtimeMs).toBe(before);
    const source = path.join(ROOT, "stacks", "index.ts");
    const now = new Date();
    fs.utimesSync(source, now, new Date(before + 1000));
    expect(run(path.join(dir, "3")).status).toBe(0);
    expect(fs.statSync(bundle).mtimeMs).toBeGreaterThan(before);
  });

  test("exits 1 with the error lines on a bad config, like the entry point", () => {
    const dir = tempDir("synth-app");
    fs.writeFileSync(path.join(dir, "env.json"), JSON.stringify({ environments: {} }));
    const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "app", "synth.js")], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: path.join(dir, "out"), CONFIG_FILE: path.join(dir, "env.json") },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("must declare at least one environment");
    expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
  });
});

/** The shipped config with fixed tags on its IMMUTABLE repository: the construct warns about each. */

describe("npm run synth", () => {
  const synth = (args: string[], env: Record<string, string | undefined>) =>
    spawnSync(process.execPath, [path.join(ROOT, "scripts", "app", "synth.js"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ENVIRONMENTS: undefined, CONFIG_FILE: undefined, AWS_ENDPOINT_URL: undefined, ...env },
      encoding: "utf8",
    });

  test("--help prints the usage and synthesizes nothing", () => {
    // GIVEN
    const outdir = path.join(tempDir("synth-help"), "out");

    // WHEN
    const r = synth(["--help"], { CDKTF_OUTDIR: outdir });

    // THEN
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.stdout).toMatch(/^Usage: npm run synth \[-- --help\]\n/);
    expect(r.stdout).toContain("ENVIRONMENTS");
    expect(fs.existsSync(outdir)).toBe(false);
  });

  test("an unknown argument is refused in one line with exit 2, and nothing is synthesized", () => {
    const outdir = path.join(tempDir("synth-help"), "out");
    const r = synth(["--environments", "prod"], { CDKTF_OUTDIR: outdir });
    expect(r).toMatchObject({
      status: 2,
      stdout: "",
      stderr: "error: unknown argument(s): --environments prod (the settings are environment variables: npm run synth -- --help)\n",
    });
    expect(fs.existsSync(outdir)).toBe(false);
  });

  test("the shipped config synthesizes without a warning (IMMUTABLE tags, and each build pushes a tag of its own)", () => {
    const r = synth([], { CDKTF_OUTDIR: path.join(tempDir("synth-warnings"), "out") });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const build = shippedConfig().environments.local.build;
    expect(build.repository?.tagMutability ?? "IMMUTABLE").toBe("IMMUTABLE");
    expect([build.privilegedProject.imageTag, build.dindProject.imageTag]).toEqual([undefined, undefined]);
  });

  test("prints each construct warning on stderr with the file, stack and construct", () => {
    // GIVEN
    const dir = tempDir("synth-warnings");
    const config = writeFixedTagConfig(dir);

    // WHEN
    const r = synth([], { CDKTF_OUTDIR: path.join(dir, "out"), CONFIG_FILE: config });

    // THEN
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      `warning: ${config}: stack local-eu-central-1: PrivilegedProject: ${fixedTagWarning("latest")}\n` +
        `warning: ${config}: stack local-eu-central-1: DindProject: ${fixedTagWarning("dind-latest")}\n`,
    );
  });
  test("warns about each project without a source (the docs' prod example): no build of it could succeed", () => {
    // GIVEN a real environment whose docker:dind project has no source
    const dir = tempDir("synth-warnings");
    const { name: _name, ...prod } = prodEnvironment();
    const config = path.join(dir, "environments.json");
    fs.writeFileSync(config, JSON.stringify({ environments: { prod } }, null, 2));

    // WHEN
    const r = synth([], { CDKTF_OUTDIR: path.join(dir, "out"), CONFIG_FILE: config, ENVIRONMENTS: "prod" });

    // THEN one line per stack names the file, the stack, the project and the rule
    expect(r.status).toBe(0);
    const noSource = r.stderr.split("\n").filter((l) => l.includes("source is NO_SOURCE"));
    expect(noSource).toEqual(
      ["prod-eu-west-1", "prod-us-west-2"].map(
        (stack) =>
          `warning: ${config}: stack ${stack}: DindProject: source is NO_SOURCE (not set), but the bundled buildspec builds the Dockerfile "Dockerfile" of the source: ` +
          "every build fails at its check step. Set source (GITHUB, CODECOMMIT or S3), or a buildSpec that fetches what it builds.",
      ),
    );
  });
});

