import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../../support/app";
import { peerCopies } from "../../support/consumer-app";
import { requireTool } from "../../support/containers";
import { childEnv, mustSucceed, npm, NPM_QUIET, PACKAGE_NAME, PEERS, removeDir, run, settleLater } from "../../support/library";
import { hardLinkCopy, sharedExample, sharedTarball } from "../../support/library-cache";

/**
 * The library linked by plain symlink (`npm install <folder>`, without --install-links) from a
 * folder that has its own node_modules, as a checkout after `npm ci` has: the library then loads
 * the folder's own cdktf and constructs while the app builds its scope with the consumer's — two
 * copies, which CDKTF does not support. The construct must refuse such a scope with one line that
 * says so, instead of synthesizing.
 */
jest.setTimeout(10 * 60_000);

/** A CommonJS app (no type check: two copies of the declarations don't type-check either). */
const MAIN_CJS = `const { App, TerraformStack } = require("cdktf");
const { AwsProvider } = require("@cdktf/provider-aws/lib/provider");
const { EcrRepo } = require("${PACKAGE_NAME}");

const app = new App();
const stack = new TerraformStack(app, "consumer");
new AwsProvider(stack, "aws", { region: "eu-central-1" });
new EcrRepo(stack, "repo", { repositoryName: "consumer/app" });
app.synth();
`;

let work: string | undefined;
let consumer: string;

beforeAll(async () => {
  work = tempDir("cdm-two-copies");
  const example = settleLater(sharedExample());
  // GIVEN the library's folder: the packed library (built lib/ and package.json, shared by the
  // run) unpacked, with its own node_modules holding the peers at this repository's versions, as
  // hard links to this repository's (what `npm ci` in a checkout installs, without the minute it
  // takes; lib/ needs nothing else, see package.test.ts)
  requireTool("tar", "apt-get install -y tar");
  const unpacked = path.join(work, "unpacked");
  fs.mkdirSync(unpacked);
  mustSucceed(await run("tar", ["-xzf", (await sharedTarball()).tarball, "-C", unpacked], work));
  const library = path.join(unpacked, "package");
  for (const peer of PEERS) {
    fs.mkdirSync(path.dirname(path.join(library, "node_modules", peer)), { recursive: true });
    await hardLinkCopy(path.join(ROOT, "node_modules", peer), path.join(library, "node_modules", peer));
  }
  // AND a consumer that links it and installs the same peer versions itself
  const versions = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).devDependencies as Record<string, string>;
  consumer = path.join(work, "consumer");
  fs.mkdirSync(consumer);
  fs.writeFileSync(path.join(consumer, "package.json"), `${JSON.stringify({ name: "consumer-app", version: "1.0.0", private: true }, null, 2)}\n`);
  fs.writeFileSync(path.join(consumer, "main.js"), MAIN_CJS);
  // (its node_modules starts as a hard-linked copy of the installed example's, which holds those
  // peers: npm then only links the library and drops the rest instead of unpacking the peers again)
  await hardLinkCopy(path.join((await example).appDir, "node_modules"), path.join(consumer, "node_modules"));
  // (--ignore-scripts: npm would run the linked folder's `prepare`, whose build tools the packed
  // library does not ship; its lib/ is built already)
  mustSucceed(await npm(["install", "--save-exact", ...NPM_QUIET, "--ignore-scripts", library, ...PEERS.map((p) => `${p}@${versions[p]}`)], consumer));
});

afterAll(() => removeDir(work));

describe("a library linked with its own copies of cdktf and constructs", () => {
  test("a scope from the consumer's copy makes the construct throw one line about another copy", async () => {
    // the premise: the library and the app each load their own cdktf and constructs
    expect(fs.lstatSync(path.join(consumer, "node_modules", PACKAGE_NAME)).isSymbolicLink()).toBe(true);
    const copies = await peerCopies(consumer);
    expect({ cdktf: copies.cdktf.length, constructs: copies.constructs.length }).toEqual({ cdktf: 2, constructs: 2 });

    // WHEN the app runs
    const r = await run(process.execPath, ["main.js"], consumer, childEnv({ CDKTF_OUTDIR: path.join(work ?? consumer, "cdktf.out") }));

    // THEN it fails, and says why
    expect({ exitedNonZero: r.status !== 0, stderr: r.stderr }).toEqual({ exitedNonZero: true, stderr: expect.stringContaining("another copy") });
  });
});
