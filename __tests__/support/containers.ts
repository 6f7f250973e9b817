import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./app";

/** The image `npm run image` builds, and the builder base image it makes with debootstrap. */
export const APP_IMAGE = "localhost/codebuild-sample-app:dev";
export const BUILDER_IMAGE = "localhost/go-builder:bookworm";

/** Fails with how to install a missing tool (tests never skip). */
export function requireTool(cmd: string, install: string): void {
  const found = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0;
  if (!found) throw new Error(`${cmd} is not installed: ${install}`);
}

/** `buildah --storage-driver vfs <args>`, the storage `npm run image` uses. */
export function buildah(args: string[]): string {
  return execFileSync("buildah", ["--storage-driver", "vfs", ...args], { encoding: "utf8" }).trim();
}

export function imageExists(ref: string): boolean {
  return spawnSync("buildah", ["--storage-driver", "vfs", "inspect", "--type", "image", ref], { stdio: "ignore" }).status === 0;
}

/**
 * Runs `fn` while holding a lock shared by the test files that build images, so two jest
 * workers never debootstrap or build at the same time.
 */
export async function withImageLock<T>(fn: () => Promise<T> | T): Promise<T> {
  const dir = path.join(ROOT, ".tmp", "image");
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, "test.lock");
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Runs `npm run image`'s script; returns its stdout (the report). */
export function buildAppImage(extraArgs: string[] = []): string {
  requireTool("buildah", "apt-get install -y buildah");
  const r = spawnSync("bash", [path.join(ROOT, "scripts", "image", "build-image.sh"), ...extraArgs], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, VERSION: "test" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`build-image.sh failed (exit ${r.status}):\n${r.stderr.split("\n").slice(-30).join("\n")}`);
  return r.stdout;
}

/** Makes sure the local Go builder base image exists (building the app image once if not). */
export async function ensureBuilderImage(): Promise<void> {
  requireTool("buildah", "apt-get install -y buildah");
  await withImageLock(() => {
    if (!imageExists(BUILDER_IMAGE)) buildAppImage(["--no-smoke"]);
  });
}
