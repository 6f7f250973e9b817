import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../../support/app";

const SCRIPT = path.join(ROOT, "scripts", "setup", "test-prerequisites.sh");

/**
 * A PATH holding only the given commands (links to the real ones) plus a fake `id` that says
 * the user is not root, so the script must not try apt-get.
 */
function fakePath(commands: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prereq-"));
  for (const c of commands) {
    // python3 as its interpreter itself (a version manager's shim would need the tools it runs).
    const find = c === "python3" ? `python3 -c 'import sys; print(sys.executable)'` : `command -v ${c}`;
    const real = spawnSync("bash", ["-c", find], { encoding: "utf8" }).stdout.trim();
    if (!real) throw new Error(`${c} is not installed on this machine, so the test cannot link it`);
    fs.symlinkSync(real, path.join(dir, c));
  }
  fs.writeFileSync(path.join(dir, "id"), "#!/bin/sh\necho 1000\n", { mode: 0o755 });
  return dir;
}

/** Runs `script` with only `commands` on PATH (and a non-root `id`); returns its exit status and stderr. */
function runWith(commands: string[], env: Record<string, string> = {}, script = SCRIPT): { status: number | null; stderr: string } {
  const dir = fakePath(commands);
  try {
    const r = spawnSync(path.join(dir, "bash"), [script], { env: { PATH: dir, ...env }, encoding: "utf8" });
    return { status: r.status, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("scripts/setup/test-prerequisites.sh (npm test's pretest)", () => {
  const base = ["bash", "aws", "python3", "buildah", "docker-registry", "skopeo", "debootstrap", "go", "shellcheck", "curl", "git", "terraform"];

  test("without root, a missing Debian tool stops it at once with the exact install line", () => {
    expect(runWith(base)).toEqual({ status: 1, stderr: "error: the tests need podman; install them with: sudo apt-get install -y podman\n" });
  });

  test("a missing terraform stops it with where to get Terraform", () => {
    expect(runWith([...base.filter((c) => c !== "terraform"), "podman"])).toEqual({
      status: 1,
      stderr: "error: terraform is not on PATH: install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install)\n",
    });
  });

  test("a missing local AWS server stops it with how to install it", () => {
    expect(runWith([...base, "podman"], { LOCAL_AWS_PYTHON: "/nonexistent/python3" })).toEqual({
      status: 1,
      stderr:
        "error: the local AWS needs moto's server, which /nonexistent/python3 cannot import: install it with pip install 'moto[server]' (Python 3), or set LOCAL_AWS_PYTHON to a Python 3 that has it\n",
    });
  });

  test("with every tool present it passes silently", () => {
    expect(runWith([...base, "podman"])).toEqual({ status: 0, stderr: "" });
  });
});

describe("scripts/setup/build-prerequisites.sh (npm start's and npm run local-aws's builds)", () => {
  const SCRIPT_BUILDS = path.join(ROOT, "scripts", "setup", "build-prerequisites.sh");
  const tools = ["bash", "podman", "docker-registry", "buildah", "debootstrap", "unshare", "flock", "aws"];

  test("without root, missing build tools stop it at once with the exact install line and the way to skip the builds", () => {
    expect(runWith(tools.filter((t) => t !== "podman" && t !== "debootstrap"), {}, SCRIPT_BUILDS)).toEqual({
      status: 1,
      stderr: "error: the first builds need podman debootstrap: install them with: sudo apt-get install -y podman debootstrap (or skip the builds: npm start -- --no-build)\n",
    });
  });

  test("with every tool present it passes silently", () => {
    expect(runWith(tools, {}, SCRIPT_BUILDS)).toEqual({ status: 0, stderr: "" });
  });
});
