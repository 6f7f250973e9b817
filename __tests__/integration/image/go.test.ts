import { spawnSync } from "child_process";
import * as path from "path";
import { ROOT } from "../../support/app";
import { requireTools } from "../../support/containers";

/** The Go service of docker/ is tested with the toolchain of the machine (Debian 12: Go 1.19). */
jest.setTimeout(10 * 60_000);

const goEnv = { ...process.env, GOPROXY: "off", GOFLAGS: "-mod=readonly", CGO_ENABLED: "0" };

function go(args: string[]) {
  return spawnSync("go", args, { cwd: path.join(ROOT, "docker"), env: goEnv, encoding: "utf8" });
}

beforeAll(() => requireTools(["go"]));

describe("docker/ (the Go service)", () => {
  test("go vet finds nothing", () => {
    const r = go(["vet", "./..."]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
  });

  test("go test passes (handlers, version injection, graceful shutdown)", () => {
    const r = go(["test", "-count=1", "./..."]);
    expect({ status: r.status, out: r.stdout.trim().split("\n").pop() }).toEqual({ status: 0, out: expect.stringMatching(/^ok\s/) });
  });
});
