import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./app";
import { childEnv, describeRun, mustSucceed, npm, NPM_QUIET, PACKAGE_NAME, Peer, PEERS, run } from "./library";

/**
 * A tiny app of another team that installs the library: an ES module with the strictest
 * compiler settings a consumer may have, type-checked twice — node16 resolution (the exports
 * map) and node10 resolution (`typesVersions`) — and synthesized both ways (ESM and CommonJS).
 */

/** The stack the app synthesizes and the repositories it creates, one per entry point. */
export const CONSUMER_STACK = "consumer";
export const CONSUMER_REPOSITORIES = ["consumer/root-entry", "consumer/subpath-entry"];

const MAIN_TS = `import { App, Aspects, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { EcrRepo, PolicyPack } from "${PACKAGE_NAME}";
import { EcrRepo as EcrRepoFromSubpath, RuleTargets } from "${PACKAGE_NAME}/ecr-repo";

if (EcrRepoFromSubpath !== EcrRepo) throw new Error("the root and the subpath entry loaded two different EcrRepo classes");

// The output folder comes from CDKTF_OUTDIR, as with the cdktf CLI.
const app = new App();
// The policy pack on the whole app, as cdk-nag users add theirs.
Aspects.of(app).add(new PolicyPack());
const stack = new TerraformStack(app, "${CONSUMER_STACK}");
new AwsProvider(stack, "aws", { region: "eu-central-1" });
const repo = new EcrRepo(stack, "root-entry", { repositoryName: "${CONSUMER_REPOSITORIES[0]}" });
repo.onImageScanCompleted("scanned", { targets: [RuleTargets.sqsQueue("arn:aws:sqs:eu-central-1:111111111111:scans")], imageTags: ["main"] });
new EcrRepoFromSubpath(stack, "subpath-entry", { repositoryName: "${CONSUMER_REPOSITORIES[1]}" });
app.synth();
`;

/**
 * node16: the exports map, from an ES module; verbatimModuleSyntax fits ESM. No @types/node
 * (`types: []`): the library's declarations must not need it. skipLibCheck off, so the
 * library's .d.ts (and the peers' it reaches) are checked under these settings.
 */
const TSCONFIG_NODE16 = {
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2022"],
    types: [],
    module: "node16",
    moduleResolution: "node16",
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    verbatimModuleSyntax: true,
    rootDir: "src",
    outDir: "out",
  },
  include: ["src"],
};

/**
 * node10 (`moduleResolution: "node"`): subpaths through `typesVersions`, compiled to CommonJS.
 * verbatimModuleSyntax is off here: with CommonJS output it forbids `import` statements (TS1286).
 */
const TSCONFIG_NODE10 = {
  extends: "./tsconfig.json",
  compilerOptions: { module: "commonjs", moduleResolution: "node10", verbatimModuleSyntax: false, outDir: "out-cjs" },
};

/** Exact versions of the peers to install with the library. */
export type PeerVersions = Record<Peer, string>;

/** Writes the app into `dir` (package.json, src/main.ts, both tsconfigs). */
export function writeConsumer(dir: string): void {
  fs.mkdirSync(path.join(dir, "src"), { recursive: true });
  const pkg = { name: "consumer-app", version: "1.0.0", private: true, type: "module" };
  fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, "src", "main.ts"), MAIN_TS);
  fs.writeFileSync(path.join(dir, "tsconfig.json"), `${JSON.stringify(TSCONFIG_NODE16, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, "tsconfig.node10.json"), `${JSON.stringify(TSCONFIG_NODE10, null, 2)}\n`);
}

/**
 * Writes the app into `dir` and installs the library (`librarySpec`: npm install arguments) and
 * the peers at exactly `peers`, in one `npm install` as a consumer would.
 */
export async function installConsumer(dir: string, librarySpec: string[], peers: PeerVersions): Promise<string> {
  writeConsumer(dir);
  const peerSpecs = PEERS.map((p) => `${p}@${peers[p]}`);
  mustSucceed(await npm(["install", "--save-exact", ...NPM_QUIET, ...librarySpec, ...peerSpecs], dir));
  return dir;
}

/**
 * Compiler errors of both configurations with TypeScript 5, and of the node16 one with TypeScript 7
 * ("" when it type-checks); emits out/ and out-cjs/ (TypeScript 5's). Both
 * are compiled by one compiler process (`tsc -b --force`: build mode, never taking an output for
 * up to date), ~30% less CPU than two; only when it fails does each configuration run alone, so
 * the errors say which one they belong to.
 */
export async function typeCheck(dir: string): Promise<{ node16: string; node10: string; typescript7: string }> {
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const check = async (args: string[]) => {
    const r = await run(process.execPath, [tsc, ...args, "--pretty", "false"], dir);
    return r.status === 0 ? "" : `${r.stdout}${r.stderr}`.trim() || describeRun(r);
  };
  const both = await check(["-b", "--force", "tsconfig.json", "tsconfig.node10.json"]);
  const [node16, node10] = both === "" ? ["", ""] : await Promise.all([check(["-p", "tsconfig.json"]), check(["-p", "tsconfig.node10.json"])]);
  // npm's current TypeScript, 7 (the native compiler; it has no node10 resolution): the node16 configuration, checked only.
  const native = await run(process.execPath, [path.join(ROOT, "node_modules", "typescript-native", "bin", "tsc"), "-p", "tsconfig.json", "--noEmit", "--pretty", "false"], dir);
  const typescript7 = native.status === 0 ? "" : `${native.stdout}${native.stderr}`.trim() || describeRun(native);
  // out-cjs/ is CommonJS inside an ES module package.
  fs.mkdirSync(path.join(dir, "out-cjs"), { recursive: true });
  fs.writeFileSync(path.join(dir, "out-cjs", "package.json"), '{ "type": "commonjs" }\n');
  return { node16, node10, typescript7 };
}

/**
 * Runs a compiled app (`out/main.js` or `out-cjs/main.js`) and returns the names of the ECR
 * repositories in the synthesized stack.
 */
export async function synthesizedRepositories(dir: string, main: string): Promise<string[]> {
  const outdir = path.join(dir, `cdktf.out.${path.dirname(main)}`);
  const r = await run(process.execPath, [main], dir, childEnv({ CDKTF_OUTDIR: outdir }));
  if (r.status !== 0) throw new Error(`the consumer app failed to synthesize:\n${describeRun(r)}`);
  const stack = JSON.parse(fs.readFileSync(path.join(outdir, "stacks", CONSUMER_STACK, "cdk.tf.json"), "utf8"));
  const repos = Object.values<{ name: string }>(stack.resource?.aws_ecr_repository ?? {});
  // the event rule the app makes, with its pattern, from the installed library
  const rules = Object.values<{ event_pattern: string }>(stack.resource?.aws_cloudwatch_event_rule ?? {});
  if (rules.length !== 1 || JSON.parse(rules[0].event_pattern)["detail-type"]?.[0] !== "ECR Image Scan") throw new Error(`the consumer app's stack lacks its image-scan rule: ${JSON.stringify(rules)}`);
  return repos.map((r) => r.name).sort();
}

/**
 * Every installed copy of each peer: the folders `npm ls --all` lists, plus the one the
 * installed library itself resolves at run time (real paths).
 */
export async function peerCopies(dir: string): Promise<Record<Peer, string[]>> {
  const ls = await npm(["ls", ...PEERS, "--all", "--parseable"], dir);
  const listed = ls.stdout.split("\n").filter((l) => l.includes("node_modules"));
  const script = `
    const fs = require("fs"), path = require("path");
    const lib = path.dirname(fs.realpathSync(require.resolve("${PACKAGE_NAME}/package.json")));
    const out = {};
    for (const p of ${JSON.stringify(PEERS)}) {
      const main = fs.realpathSync(require.resolve(p, { paths: [lib] }));
      out[p] = main.slice(0, main.lastIndexOf("node_modules/" + p) + ("node_modules/" + p).length);
    }
    process.stdout.write(JSON.stringify(out));`;
  const resolved = await run(process.execPath, ["-e", script], dir);
  if (resolved.status !== 0) throw new Error(`could not resolve the peers from the installed library:\n${describeRun(resolved)}`);
  const fromLibrary = JSON.parse(resolved.stdout) as Record<Peer, string>;
  const copies = {} as Record<Peer, string[]>;
  for (const p of PEERS) {
    const all = [...listed.filter((l) => l.endsWith(`node_modules/${p}`)), fromLibrary[p]].map((l) => fs.realpathSync(l));
    copies[p] = [...new Set(all)].sort();
  }
  return copies;
}

/** The folder a single copy of each peer must be in: the consumer's own node_modules. */
export function consumerPeerFolders(dir: string): Record<Peer, string[]> {
  return Object.fromEntries(PEERS.map((p) => [p, [fs.realpathSync(path.join(dir, "node_modules", p))]])) as Record<Peer, string[]>;
}

/** The installed version of each peer. */
export function installedPeerVersions(dir: string): PeerVersions {
  const version = (p: Peer) => JSON.parse(fs.readFileSync(path.join(dir, "node_modules", p, "package.json"), "utf8")).version as string;
  return Object.fromEntries(PEERS.map((p) => [p, version(p)])) as PeerVersions;
}
