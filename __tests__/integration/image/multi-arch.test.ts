import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as zlib from "zlib";
import { ROOT, tempDir } from "../../support/app";
import { buildah, containerEnv, IMAGE_BUILD_TOOLS, requireTools } from "../../support/containers";

/**
 * Multi-arch images for real: `npm run image -- --platforms linux/amd64,linux/arm64
 * --push …` builds one image per platform with buildah (the Go builder runs on this amd64 machine
 * and cross-compiles: no emulation), makes the manifest list and pushes it with both images to a
 * local docker-registry on 127.0.0.1. The test reads the list back with `skopeo inspect --raw`,
 * copies each image out of the registry and reads its /app's ELF header, and runs the image an
 * amd64 machine pulls from the list. Bad flags fail before any build, one error line each.
 */
jest.setTimeout(20 * 60_000);

requireTools([...IMAGE_BUILD_TOOLS, "docker-registry", "skopeo"]);

/** The local manifest list (not the single-platform test image: both files share the storage). */
const LIST = "localhost/codebuild-sample-app-multiarch:test";
const REPO = "codebuild-sample-app";
const SCRIPT = path.join(ROOT, "scripts", "image", "build-image.sh");
/** ELF e_machine of each platform's binary. */
const E_MACHINE: Record<string, number> = { "linux/amd64": 0x3e, "linux/arm64": 0xb7 };

let work: string;
let registry: ChildProcess | undefined;
let registryHost: string;
let pushRef: string;
let run: { status: number | null; stdout: string; stderr: string; seconds: number };
let rawIndex: string;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string): Promise<Response> {
  for (let i = 0; i < 100; i++) {
    try {
      return await fetch(url);
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} never answered`);
}

function skopeo(args: string[]): string {
  return execFileSync("skopeo", args, { encoding: "utf8", env: { ...process.env, ...containerEnv() }, maxBuffer: 64 * 1024 * 1024 });
}

/** The files of a tar archive (gzip-compressed or not): name → content. */
function untar(blob: Buffer): Map<string, Buffer> {
  const tar = blob[0] === 0x1f && blob[1] === 0x8b ? zlib.gunzipSync(blob) : blob;
  const files = new Map<string, Buffer>();
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (from: number, len: number) => header.subarray(from, from + len).toString("utf8").replace(/\0.*$/s, "");
    const name = [field(345, 155), field(0, 100)].filter((s) => s !== "").join("/");
    const size = parseInt(field(124, 12).trim() || "0", 8);
    files.set(name.replace(/^\.\//, ""), tar.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** One image of the pushed list, copied out of the registry: its config and its /app. */
function imageFromRegistry(digest: string): { config: { architecture: string; os: string }; app: Buffer } {
  const dir = path.join(work, `oci-${digest.slice(7, 19)}`);
  skopeo(["copy", "--quiet", "--src-tls-verify=false", `docker://${registryHost}/${REPO}@${digest}`, `oci:${dir}:image`]);
  const blob = (d: string) => fs.readFileSync(path.join(dir, "blobs", ...d.split(":")));
  const index = JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8"));
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString("utf8"));
  const config = JSON.parse(blob(manifest.config.digest).toString("utf8"));
  let app: Buffer | undefined;
  for (const layer of manifest.layers) app = untar(blob(layer.digest)).get("app") ?? app;
  if (!app) throw new Error(`no /app in the layers of ${digest}`);
  return { config, app };
}

beforeAll(async () => {
  work = tempDir("multi-arch");
  const port = await freePort();
  registryHost = `127.0.0.1:${port}`;
  pushRef = `${registryHost}/${REPO}:test`;
  fs.writeFileSync(
    path.join(work, "registry.yml"),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(work, "registry")}\nhttp:\n  addr: ${registryHost}\n`,
  );
  registry = spawn("docker-registry", ["serve", path.join(work, "registry.yml")], { stdio: "ignore", detached: true });
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    up = await fetch(`http://${registryHost}/v2/`).then((r) => r.ok, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  if (!up) throw new Error(`docker-registry did not answer on ${registryHost}`);

  // WHEN the multi-arch build runs as the docs show it, pushing to the local registry
  const started = Date.now();
  const r = spawnSync("npm", ["run", "image", "--", "--platforms", "linux/amd64,linux/arm64", "--push", pushRef, "--tls-verify=false"], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...containerEnv(), VERSION: "test", IMAGE: LIST },
    maxBuffer: 64 * 1024 * 1024,
  });
  run = { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - started) / 1000 };
  if (r.status !== 0) throw new Error(`npm run image -- --platforms … failed (exit ${r.status}):\n${r.stderr.split("\n").slice(-30).join("\n")}`);
  rawIndex = skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${pushRef}`]);
});

afterAll(() => {
  if (registry?.pid) process.kill(-registry.pid, "SIGTERM");
  // No manifest list stays in the shared storage: a later pull there of an image identical to one of
  // its entries would make it unreadable for every test (buildah 1.28). The images stay, as cache.
  if (run) buildah(["manifest", "rm", LIST]);
});

/**
 * buildah on a throwaway storage of its own (vfs, in this run's folder): the image pulled back from
 * the registry must not land in the shared storage, where it would merge with the identical local
 * image and leave the local manifest list unreadable (buildah 1.28).
 */
function pullStorage(): { run: (args: string[]) => string; env: Record<string, string>; remove: () => void } {
  const dir = path.join(work, "pull-storage");
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, "storage.conf");
  fs.writeFileSync(conf, `[storage]\ndriver = "vfs"\ngraphroot = "${path.join(dir, "root")}"\nrunroot = "${path.join(dir, "run")}"\n`);
  const env = { ...process.env, CONTAINERS_STORAGE_CONF: conf, STORAGE_DRIVER: "vfs", BUILDAH_ISOLATION: "chroot" };
  const run = (args: string[]) => execFileSync("buildah", ["--storage-driver", "vfs", ...args], { encoding: "utf8", env }).trim();
  return {
    run,
    env,
    remove: () => {
      run(["rm", "--all"]);
      run(["rmi", "--all", "--force"]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe("npm run image -- --platforms linux/amd64,linux/arm64 --push <local registry>", () => {
  test("builds each platform with progress, smoke-tests only the native one, reports the list and the push", () => {
    const progress = run.stderr.split("\n").filter((l) => l.startsWith("==> "));
    expect(progress).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^==> \[1\/2\] linux\/amd64: building localhost\/codebuild-sample-app-multiarch:test-linux-amd64$/),
        expect.stringMatching(/^==> \[1\/2\] linux\/amd64: build took [\d.]+ s$/),
        expect.stringMatching(/^==> \[2\/2\] linux\/arm64: building localhost\/codebuild-sample-app-multiarch:test-linux-arm64$/),
        expect.stringMatching(/^==> \[2\/2\] linux\/arm64: done, \/app is a linux\/arm64 binary$/),
        expect.stringMatching(/^==> smoke: \/healthz -> \{"status":"ok"\}/),
      ]),
    );
    // Only the image of this machine's platform runs (no emulation): one smoke test, the amd64 one.
    const smokes = progress.filter((l) => l.startsWith("==> smoke test: running "));
    expect(smokes).toHaveLength(1);
    expect(smokes[0]).toMatch(/^==> smoke test: running localhost\/codebuild-sample-app-multiarch:test-linux-amd64 on 127\.0\.0\.1:\d+$/);
    expect(run.stdout).toContain(`image:   ${LIST}-linux-amd64 (linux/amd64)`);
    expect(run.stdout).toContain(`image:   ${LIST}-linux-arm64 (linux/arm64)`);
    expect(run.stdout).toContain(`list:    ${LIST} (linux/amd64 linux/arm64)`);
    expect(run.stdout).toMatch(new RegExp(`^pushed:  ${pushRef.replace(/[.]/g, "\\.")}@sha256:[0-9a-f]{64}$`, "m"));
    expect(run.stdout).toContain(`inspect: skopeo inspect --raw --tls-verify=false docker://${pushRef}`);
  });

  test("skopeo inspect --raw reads back a manifest list with exactly linux/amd64 and linux/arm64, the digest the build reported", () => {
    const index = JSON.parse(rawIndex);
    expect(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]).toContain(index.mediaType);
    const platforms = index.manifests.map((m: { platform: { os: string; architecture: string } }) => `${m.platform.os}/${m.platform.architecture}`);
    expect(platforms.sort()).toEqual(["linux/amd64", "linux/arm64"]);
    const pushed = /^pushed: +\S+@(sha256:[0-9a-f]{64})$/m.exec(run.stdout)![1];
    expect(`sha256:${createHash("sha256").update(rawIndex).digest("hex")}`).toBe(pushed);
  });

  test.each(["linux/amd64", "linux/arm64"])("the %s image in the registry holds a static binary of that architecture", (platform) => {
    const entry = JSON.parse(rawIndex).manifests.find((m: { platform: { os: string; architecture: string } }) => `${m.platform.os}/${m.platform.architecture}` === platform);
    const { config, app } = imageFromRegistry(entry.digest);
    expect(`${config.os}/${config.architecture}`).toBe(platform);
    expect(app.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46])); // \x7fELF
    expect(app.readUInt16LE(18)).toBe(E_MACHINE[platform]); // e_machine: 0x3E x86-64, 0xB7 AArch64
  });

  test("the image an amd64 machine pulls from the list runs: /healthz and /version answer as non-root", async () => {
    // buildah picks the list's entry for this machine's platform, as docker pull does.
    const pulled = pullStorage();
    const ctr = pulled.run(["from", "--quiet", "--tls-verify=false", `docker://${pushRef}`]);
    expect(pulled.run(["inspect", "--format", "{{.OCIv1.Architecture}}", ctr])).toBe("amd64");
    const port = await freePort();
    const app = spawn("buildah", ["--storage-driver", "vfs", "run", "--isolation", "chroot", "--env", `ADDR=127.0.0.1:${port}`, ctr, "--", "/app"], {
      env: pulled.env,
      stdio: "ignore",
    });
    try {
      const health = await waitFor(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      const version = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { version: string };
      expect(version.version).toBe("test");
      const pid = fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .find((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, "utf8") === "/app\0" && fs.readFileSync(`/proc/${p}/environ`, "utf8").includes(`ADDR=127.0.0.1:${port}`);
          } catch {
            return false;
          }
        });
      expect(pid).toBeDefined();
      expect(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]).toBe("65532");
      process.kill(Number(pid), "SIGTERM");
      expect(await new Promise<number | null>((resolve) => app.on("close", resolve))).toBe(0);
    } finally {
      app.kill("SIGKILL");
      pulled.remove();
    }
  });
});

describe("bad multi-arch flags: one error line, exit 1, before any build", () => {
  test.each([
    [["--platforms", "linux/amd64,linux/amd64"], "error: linux/amd64 is given twice in --platforms: give each platform once"],
    [["--platforms", "linux/s390x"], "error: unknown platform 'linux/s390x' in --platforms: known are linux/amd64, linux/arm64"],
    [["--platforms="], "error: --platforms is empty: give at least one of linux/amd64, linux/arm64, comma-separated"],
    [["--platforms", "linux/amd64,,linux/arm64"], "error: --platforms 'linux/amd64,,linux/arm64' has an empty entry: give platforms separated by single commas"],
    [["--platforms"], "error: --platforms needs a value, e.g. --platforms linux/amd64,linux/arm64"],
    [["--push", "127.0.0.1:5000/app:1"], "error: --push pushes the manifest list that --platforms makes: add --platforms, e.g. --platforms linux/amd64,linux/arm64"],
    [["--platforms", "linux/arm64", "--push", "app:1"], "error: --push 'app:1' is not a registry/repository[:tag] reference (e.g. 127.0.0.1:5000/codebuild-sample-app:1.0)"],
    [
      ["--platforms", "linux/arm64", "--push", "registry.example/app:1", "--tls-verify=false"],
      "error: --tls-verify=false is allowed only for a registry on this machine (127.0.0.1, localhost), not registry.example",
    ],
    [["--platforms", "linux/arm64", "--builder-only"], "error: --builder-only and --platforms exclude each other: --builder-only stops before any build"],
  ])("%j", (args, line) => {
    const r = spawnSync("bash", [SCRIPT, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...containerEnv() } });
    expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 1, stderr: `${line}\n`, stdout: "" });
  });
});
