/**
 * The container storage the local AWS's builds use (their docker is podman): a storage of their
 * own in the per-user cache, not the machine's default storage (a team's own podman images and
 * settings stay untouched, and a default storage made with another driver cannot break a build),
 * kept between runs like a Docker layer cache: the Go builder base is made in it once.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The per-user cache of this repository's tools (outside the repository, kept between runs). */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache"), "codebuild-docker-modules");
}

/** A container storage: its driver and the storage.conf that selects it. */
export interface ContainerStorage {
  readonly driver: "overlay" | "vfs";
  readonly conf: string;
}

/** Whether the kernel mounts overlayfs on `dir`'s file system (tried in a throwaway mount namespace). */
function overlayWorks(dir: string): boolean {
  const probe = fs.mkdtempSync(path.join(dir, "overlay-probe-"));
  try {
    for (const d of ["lower", "upper", "work", "merged"]) fs.mkdirSync(path.join(probe, d));
    const opts = `lowerdir=${probe}/lower,upperdir=${probe}/upper,workdir=${probe}/work`;
    const r = spawnSync("unshare", ["--mount", "--propagation", "private", "mount", "-t", "overlay", "overlay", "-o", opts, path.join(probe, "merged")], {
      stdio: "ignore",
    });
    return r.status === 0;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

const made = new Map<string, ContainerStorage>();

/**
 * The storage `name` under the per-user cache: overlay where the kernel allows it (a build then
 * copies no layers; vfs copies the 550 MB builder for every step), vfs otherwise; its storage.conf
 * written once (rewritten only when it differs).
 */
export function containerStorage(name: string, env: NodeJS.ProcessEnv = process.env): ContainerStorage {
  const base = path.join(userCacheDir(env), name);
  const known = made.get(base);
  if (known) return known;
  fs.mkdirSync(base, { recursive: true });
  const driver = overlayWorks(base) ? "overlay" : "vfs";
  const dir = path.join(base, driver);
  // The run root holds locks and mount state: on /run (a tmpfs) it does not outlive a reboot.
  const runroot = fs.existsSync("/run") && process.getuid?.() === 0 ? `/run/codebuild-docker-modules/${name}-${driver}` : path.join(dir, "run");
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, "storage.conf");
  const text = `[storage]\ndriver = "${driver}"\ngraphroot = "${path.join(dir, "root")}"\nrunroot = "${runroot}"\n`;
  if (!fs.existsSync(conf) || fs.readFileSync(conf, "utf8") !== text) fs.writeFileSync(conf, text);
  const storage: ContainerStorage = { driver, conf };
  made.set(base, storage);
  return storage;
}

/** The environment that points buildah, podman and build-image.sh at a storage. */
export function storageEnv(storage: ContainerStorage): Record<string, string> {
  return { CONTAINERS_STORAGE_CONF: storage.conf, STORAGE_DRIVER: storage.driver, BUILDAH_ISOLATION: "chroot" };
}

/**
 * The containers environment of the local AWS's builds: the caller's own when it names a storage
 * (CONTAINERS_STORAGE_CONF), else the builds' storage in the per-user cache.
 */
export function buildsContainerEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env.CONTAINERS_STORAGE_CONF) return { CONTAINERS_STORAGE_CONF: env.CONTAINERS_STORAGE_CONF, ...(env.STORAGE_DRIVER ? { STORAGE_DRIVER: env.STORAGE_DRIVER } : {}), BUILDAH_ISOLATION: "chroot" };
  return storageEnv(containerStorage("local-aws-containers", env));
}
