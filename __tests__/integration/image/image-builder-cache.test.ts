import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../../support/app";
import { requireTools } from "../../support/containers";

/**
 * Where scripts/image/build-image.sh makes the builder rootfs, and what debootstrap's mounts can
 * touch, with a debootstrap stand-in: it mounts a tmpfs on the rootfs's /proc as the real one
 * mounts procfs there, records where and in which mount namespace it runs and whether this
 * process sees its mount, then fails (so nothing is imported into any storage).
 */
jest.setTimeout(120_000);

const STUB = `#!/bin/sh
set -e
n=0
for a in "$@"; do
  case "$a" in
    --*) ;;
    *) n=$((n + 1)); if [ "$n" = 2 ]; then target="$a"; fi ;;
  esac
done
mkdir -p "$target/proc"
mount -t tmpfs debootstrap-stub "$target/proc"
{
  echo "target=$target"
  echo "ns=$(readlink /proc/self/ns/mnt)"
  if grep -q " $target/proc " "/proc/$WATCH_PID/mountinfo"; then echo "visible=yes"; else echo "visible=no"; fi
} >"$RECORD"
echo "debootstrap stand-in: failing on purpose" >&2
exit 1
`;

/** Mount points below `dir` in this process's mount namespace. */
function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((mnt) => mnt !== undefined && mnt.startsWith(`${dir}/`));
}

let work: string;

/** Runs build-image.sh --builder-only with the stand-in on PATH and an empty storage of its own. */
function runScript(env: Record<string, string | undefined>): SpawnSyncReturns<string> {
  const stubDir = path.join(work, "bin");
  fs.mkdirSync(stubDir, { recursive: true });
  fs.writeFileSync(path.join(stubDir, "debootstrap"), STUB, { mode: 0o755 });
  const storage = fs.mkdtempSync(path.join(work, "storage-"));
  fs.writeFileSync(path.join(storage, "storage.conf"), `[storage]\ndriver = "vfs"\ngraphroot = "${storage}/root"\nrunroot = "${storage}/run"\n`);
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${stubDir}:${process.env.PATH}`,
    CONTAINERS_STORAGE_CONF: path.join(storage, "storage.conf"),
    STORAGE_DRIVER: "vfs",
    WATCH_PID: String(process.pid),
  };
  delete childEnv.BUILDER_CACHE_DIR;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  return spawnSync("bash", [path.join(ROOT, "scripts", "image", "build-image.sh"), "--builder-only"], { cwd: ROOT, env: childEnv, encoding: "utf8" });
}

beforeAll(() => {
  requireTools(["buildah", "unshare", "flock", "mount"]);
  work = tempDir("image-builder-cache");
});

afterAll(() => {
  // A safety net should the stand-in's mount have reached this namespace.
  for (const mnt of mountsUnder(work).reverse()) spawnSync("umount", ["-l", mnt]);
});

describe("the builder rootfs of build-image.sh", () => {
  let xdg: string;
  let record: string;
  let run: SpawnSyncReturns<string>;
  let recorded: Record<string, string>;

  beforeAll(() => {
    // GIVEN a cache home outside the repository and no BUILDER_CACHE_DIR
    xdg = path.join(work, "xdg-cache");
    record = path.join(work, "debootstrap.record");
    // WHEN the builder is made with the stand-in
    run = runScript({ XDG_CACHE_HOME: xdg, RECORD: record });
    recorded = Object.fromEntries(
      (fs.existsSync(record) ? fs.readFileSync(record, "utf8") : "")
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
  });

  test("is made outside the repository, under $XDG_CACHE_HOME/codebuild-docker-modules/image by default", () => {
    expect(recorded.target).toBeDefined();
    expect(recorded.target.startsWith(`${path.join(xdg, "codebuild-docker-modules", "image")}/`)).toBe(true);
    expect(path.relative(ROOT, recorded.target).startsWith("..")).toBe(true);
    expect(fs.existsSync(path.join(ROOT, ".tmp", "image", "builder-rootfs.partial"))).toBe(false);
  });

  test("debootstrap runs in a private mount namespace: its mount in the rootfs is never visible outside", () => {
    expect(recorded.ns).toMatch(/^mnt:\[\d+\]$/);
    expect(recorded.ns).not.toBe(fs.readlinkSync("/proc/self/ns/mnt"));
    expect(recorded.visible).toBe("no");
  });

  test("a failed debootstrap leaves no mount and no partial rootfs, and names its log", () => {
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("debootstrap stand-in: failing on purpose");
    expect(run.stderr).toMatch(/error: debootstrap failed \(full log: .*\/debootstrap\.log\)/);
    expect(mountsUnder(xdg)).toEqual([]);
    expect(fs.existsSync(recorded.target)).toBe(false);
  });

  test("refuses a BUILDER_CACHE_DIR inside the repository before making anything", () => {
    const inside = path.join(ROOT, ".tmp", `builder-cache-test-${process.pid}`);
    const r = runScript({ BUILDER_CACHE_DIR: inside, RECORD: path.join(work, "inside.record") });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`error: BUILDER_CACHE_DIR (${inside}) is inside the repository (${ROOT}): choose a folder outside it`);
    expect(fs.existsSync(inside)).toBe(false);
    expect(fs.existsSync(path.join(work, "inside.record"))).toBe(false);
  });
});
