import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, requireBuiltApp, tempDir } from "../../support/app";
import { singleAccountLocal } from "../../support/environments";

/**
 * npm start, npm run plan / deploy / destroy synthesize through synthesize() (and plan.ts's own
 * synth run): the constructs' warnings they print must reach the user, not be swallowed with
 * the synth's stderr.
 */
describe("the local deploy's synth", () => {
  test("passes every construct warning through to stderr", () => {
    requireBuiltApp();
    const dir = tempDir("synth-warnings");
    const local = singleAccountLocal();
    local.regions = ["eu-central-1"];
    local.build.privilegedProject.imageTag = "latest"; // fixed tag on an IMMUTABLE repository: warns
    const config = path.join(dir, "environments.json");
    fs.writeFileSync(config, JSON.stringify({ environments: { local } }));
    const script = `require(${JSON.stringify(path.join(ROOT, "dist", "scripts", "local-aws", "deploy.js"))}).synthesize(${JSON.stringify({
      endpoint: "http://127.0.0.1:5000",
      root: ROOT,
      outdir: path.join(dir, "out"),
      configFile: config,
      environments: "local",
    })})`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^warning: .*stack local-eu-central-1: PrivilegedProject: IMAGE_TAG "latest" .*IMMUTABLE/m);
  });
});
