import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../../support/app";
import { peerCopies } from "../../support/consumer-app";
import { childEnv, cloneRepository, mustSucceed, npm, NPM_QUIET, PACKAGE_NAME, PEERS, removeDir, run, settleLater } from "../../support/library";
import { hardLinkCopy, sharedExample } from "../../support/library-cache";

/**
 * The library linked by plain symlink (`npm install <clone>`, without --install-links) after
 * `npm ci` in the clone: the library then loads the clone's own cdktf and constructs while the
 * app builds its scope with the consumer's — two copies, which CDKTF does not support. The
 * construct must refuse such a scope with one line that says so, instead of synthesizing.
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
  // GIVEN a clean clone of HEAD with its own node_modules: this repository's, the packages of its
  // lock file, as hard links (what `npm ci` would write, without the minute it takes), and lib/
  // built by the package's `prepare`
  const clone = await cloneRepository(path.join(work, "clone"));
  await hardLinkCopy(path.join(ROOT, "node_modules"), path.join(clone, "node_modules"));
  mustSucceed(await npm(["run", "prepare"], clone));
  // AND a consumer that links it and installs the same peer versions itself
  const versions = JSON.parse(fs.readFileSync(path.join(clone, "package.json"), "utf8")).devDependencies as Record<string, string>;
  consumer = path.join(work, "consumer");
  fs.mkdirSync(consumer);
  fs.writeFileSync(path.join(consumer, "package.json"), `${JSON.stringify({ name: "consumer-app", version: "1.0.0", private: true }, null, 2)}\n`);
  fs.writeFileSync(path.join(consumer, "main.js"), MAIN_CJS);
  // (its node_modules starts as a hard-linked copy of the installed example's, which holds those
  // peers: npm then only links the clone and drops the rest instead of unpacking the peers again)
  await hardLinkCopy(path.join((await example).appDir, "node_modules"), path.join(consumer, "node_modules"));
  mustSucceed(await npm(["install", "--save-exact", ...NPM_QUIET, clone, ...PEERS.map((p) => `${p}@${versions[p]}`)], consumer));
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
