import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./app";
import { containerStorage, storageEnv, type ContainerStorage } from "../../scripts/local-aws/container-storage";

/** The image `npm run image` builds, and the builder base image it makes with debootstrap. */
export const APP_IMAGE = "localhost/codebuild-sample-app:dev";
export const BUILDER_IMAGE = "localhost/go-builder:bookworm";

/** The Debian package that provides each command the tests run. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  aws: "awscli",
  buildah: "buildah",
  curl: "curl",
  debootstrap: "debootstrap",
  "docker-registry": "docker-registry",
  flock: "util-linux",
  git: "git",
  go: "golang-go",
  podman: "podman",
  shellcheck: "shellcheck",
  skopeo: "skopeo",
  tar: "tar",
  unshare: "util-linux",
};

/** Whether `cmd` is an executable file in one of the folders of `searchPath`. */
export function onPath(cmd: string, searchPath = process.env.PATH ?? ""): boolean {
  return searchPath
    .split(path.delimiter)
    .filter((dir) => dir !== "")
    .some((dir) => {
      try {
        fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
        return fs.statSync(path.join(dir, cmd)).isFile();
      } catch {
        return false;
      }
    });
}

/**
 * Fails at once, before a test does any work, when a command is missing: one line naming every
 * missing command and the apt line that installs them (tests never skip).
 */
export function requireTools(cmds: readonly string[], searchPath = process.env.PATH ?? ""): void {
  const missing = cmds.filter((cmd) => !onPath(cmd, searchPath));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((cmd) => TOOL_PACKAGES[cmd] ?? cmd))];
  throw new Error(
    `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not installed: sudo apt-get install -y ${packages.join(" ")}` +
      " (or run `bash scripts/setup/test-prerequisites.sh`)",
  );
}

/** Fails with how to install a missing tool (tests never skip). */
export function requireTool(cmd: string, install: string): void {
  if (!onPath(cmd)) throw new Error(`${cmd} is not installed: ${install}`);
}

/** The tools a test that builds an image with scripts/image/build-image.sh needs. */
export const IMAGE_BUILD_TOOLS = ["buildah", "podman", "unshare", "flock", "debootstrap", "tar"] as const;

export { userCacheDir } from "../../scripts/local-aws/container-storage";

/** The container storage the image tests share: its driver and the storage.conf that selects it. */
export type TestStorage = ContainerStorage;

/**
 * The container storage of the image tests, in the per-user cache so that every test file, both
 * jest workers and later runs share the builder base and the layer cache (overlay where the
 * kernel allows it, vfs otherwise). It is neither the machine's default storage, which `npm run
 * image` keeps, nor the local AWS's builds' storage of `npm start`.
 */
export function testStorage(): TestStorage {
  return containerStorage("test-containers");
}

/** The environment that points buildah, podman and build-image.sh at {@link testStorage}. */
export function containerEnv(): Record<string, string> {
  return storageEnv(testStorage());
}

/** `buildah <args>` on the tests' storage. */
export function buildah(args: string[]): string {
  return execFileSync("buildah", ["--storage-driver", testStorage().driver, ...args], { encoding: "utf8", env: { ...process.env, ...containerEnv() } }).trim();
}

/** `podman <args>` on the tests' storage. */
export function podman(args: string[]): string {
  return execFileSync("podman", ["--storage-driver", testStorage().driver, ...args], { encoding: "utf8", env: { ...process.env, ...containerEnv() } }).trim();
}

/** Runs scripts/image/build-image.sh on the tests' storage; returns its stdout (the report). */
export function buildAppImage(extraArgs: string[] = []): string {
  requireTools(IMAGE_BUILD_TOOLS);
  const r = spawnSync("bash", [path.join(ROOT, "scripts", "image", "build-image.sh"), ...extraArgs], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...containerEnv(), VERSION: "test" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`build-image.sh failed (exit ${r.status}):\n${r.stderr.split("\n").slice(-30).join("\n")}`);
  return r.stdout;
}

/**
 * Makes sure the Go builder base exists on the tests' storage (build-image.sh --builder-only:
 * reused when its key matches; made once otherwise, while the other jest worker waits on the
 * script's lock).
 */
export function ensureBuilderImage(): void {
  buildAppImage(["--builder-only"]);
}
