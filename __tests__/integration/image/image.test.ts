import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { APP_IMAGE, buildah, buildAppImage, containerEnv, IMAGE_BUILD_TOOLS, podman, requireTools, testStorage } from "../../support/containers";

/**
 * `npm run image`: docker/Dockerfile built for real, daemonless (buildah, chroot), with a Go
 * builder base made from Debian by debootstrap and passed in through the base-image ARGs. It runs
 * on the tests' shared container storage (support/containers.ts), so the builder base and the
 * unchanged layers are made once for this file, e2e/build-runner/buildspecs-run.test.ts and later runs.
 */
jest.setTimeout(20 * 60_000);

let report: string;
let imageBytes: number;
let binaryBytes: number;
let user: string;
let binaryCopy: string;

beforeAll(() => {
  requireTools([...IMAGE_BUILD_TOOLS]);
  report = buildAppImage(["--no-smoke"]);
  const inspect = JSON.parse(buildah(["inspect", "--type", "image", APP_IMAGE]));
  user = inspect.OCIv1.config.User;
  imageBytes = Number(podman(["image", "inspect", APP_IMAGE, "--format", "{{.Size}}"]));
  const ctr = buildah(["from", "--pull=false", APP_IMAGE]);
  try {
    const mnt = buildah(["mount", ctr]);
    binaryBytes = fs.statSync(path.join(mnt, "app")).size;
    binaryCopy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "app-")), "app");
    fs.copyFileSync(path.join(mnt, "app"), binaryCopy);
    fs.chmodSync(binaryCopy, 0o755);
  } finally {
    buildah(["rm", ctr]);
  }
});

function execJson(args: string[]): any {
  return JSON.parse(buildah(args));
}

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

describe("the multi-stage image", () => {
  test("builds and reports its reference, size and binary size", () => {
    expect(report).toContain(`image:   ${APP_IMAGE}`);
    expect(report).toMatch(/size: +\S+/);
    expect(report).toMatch(/binary: +\/app \d+ bytes/);
  });

  test("is smaller than 20 MB and at most 1.2 times the stripped binary", () => {
    expect(imageBytes).toBeLessThan(20 * 1000 * 1000);
    expect(imageBytes).toBeLessThanOrEqual(1.2 * binaryBytes);
  });

  test("declares a non-root user", () => {
    expect(user).toBe("65532:65532");
  });

  test("carries the OCI labels", () => {
    const labels = execJson(["inspect", "--type", "image", APP_IMAGE]).OCIv1.config.Labels;
    expect(labels).toMatchObject({ "org.opencontainers.image.title": "codebuild-sample-app", "org.opencontainers.image.version": "test" });
  });

  test("runs as non-root and its binary answers /healthz and /version", async () => {
    // Run the image's entrypoint with the image's USER (buildah run, chroot isolation, host network).
    const port = await freePort();
    const ctr = buildah(["from", "--pull=false", APP_IMAGE]);
    const run = spawn("buildah", ["--storage-driver", testStorage().driver, "run", "--isolation", "chroot", "--env", `ADDR=127.0.0.1:${port}`, ctr, "--", "/app"], {
      env: { ...process.env, ...containerEnv() },
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
      const uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1];
      expect(uid).toBe("65532");
      process.kill(Number(pid), "SIGTERM");
      const code = await new Promise<number | null>((resolve) => run.on("close", resolve));
      expect(code).toBe(0); // graceful shutdown on SIGTERM
    } finally {
      run.kill("SIGKILL");
      buildah(["rm", ctr]);
    }
  });

  test("the binary copied out of the image is static and answers /healthz on its own", async () => {
    const port = await freePort();
    const app = spawn(binaryCopy, [], { env: { ADDR: `127.0.0.1:${port}` }, stdio: "ignore" });
    try {
      expect((await waitFor(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      app.kill("SIGTERM");
    }
  });
});
