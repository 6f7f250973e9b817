import * as fs from "fs";
import * as path from "path";
import { tempDir } from "../../support/app";
import {
  consumerPeerFolders,
  CONSUMER_REPOSITORIES,
  installConsumer,
  installedPeerVersions,
  peerCopies,
  PeerVersions,
  synthesizedRepositories,
  typeCheck,
} from "../../support/consumer-app";
import { cloneRepository, mustSucceed, npm, PACKAGE_NAME, Peer, PEERS, removeDir, settleLater } from "../../support/library";
import { progress } from "../../support/example-app";
import { hardLinkCopy, sharedTarball } from "../../support/library-cache";

/**
 * The library installed the three ways another team can install it — the packed tarball, a
 * path with --install-links, a git URL — into a small strict consumer app that type-checks
 * (node16 and node10 resolution) and synthesizes. The tarball is the one the run packs once from
 * the working tree (see sharedTarball; npm pack runs `prepare` there), installed with the lowest
 * and the highest versions the peer ranges allow. The path and the git URL are clean clones of
 * the committed HEAD, without node_modules or lib/, where npm runs `prepare` (by path, prepare
 * first installs only the build tools itself (TypeScript, @types/node, the peers); by git URL, npm installs the clone's devDependencies
 * before it): that lib/ gets built there is what those two cases prove beyond the tarball's.
 *
 * The installs start from beforeAll and run in the background, at most INSTALLS_AT_ONCE at a
 * time, while the tests check the consumers already installed; each test awaits its own. They
 * share this machine's npm cache (--prefer-offline), like the `npm ci` before them. The two
 * tarball installs start from an empty folder; the path and the git URL install into a consumer
 * whose node_modules starts as a hard-linked copy of the tarball consumer with the same (highest)
 * peers, so npm replaces only the library (prepared and packed from the clone, as a consumer's
 * npm does) instead of unpacking the same peers a third and a fourth time.
 */
jest.setTimeout(10 * 60_000);

/**
 * Installs that run at once. The tarball with the highest peers goes first (the path and the git
 * URL install start from its node_modules), beside the one with the lowest peers; then the two
 * from clean clones, which take longest (the git URL's writes ~1 GB of devDependencies, the
 * path's ~400 MB of build tools, mostly on npm's one JavaScript thread), side by side.
 */
const INSTALLS_AT_ONCE = 2;

const TAG = "library/install";

type Mode = "tarball, lowest peers" | "tarball, highest peers" | "path with --install-links" | "git URL";

let work: string | undefined;
let consumers: Partial<Record<Mode, Promise<string>>> = {};
const removals: Promise<void>[] = [];
let ranges: Record<string, string> = {};
/** The packages prepare installed in the clean clone of the path install (top level of its node_modules). */
let pathBuildTools: string[] = [];
let lowest: PeerVersions;
let highest: PeerVersions;

/** Removes a folder in the background, while the next install runs; afterAll waits for it. */
function discard(dir: string): void {
  removals.push(fs.promises.rm(dir, { recursive: true, force: true }));
}

/** The lowest and highest published versions in each peer range of the committed package.json. */
async function peerVersionBounds(declared: Record<string, string>, cwd: string): Promise<{ lowest: PeerVersions; highest: PeerVersions }> {
  const compare = (a: string, b: string) => {
    const [x, y] = [a, b].map((v) => v.split(/[.-]/).slice(0, 3).map(Number));
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  };
  const bounds = await Promise.all(
    PEERS.map(async (p) => {
      const range = declared[p];
      if (!range) throw new Error(`package.json has no peerDependencies["${p}"]`);
      const r = mustSucceed(await npm(["view", `${p}@${range}`, "version", "--json"], cwd));
      const found = JSON.parse(r.stdout.trim() || "[]") as string | string[];
      const versions = (Array.isArray(found) ? found : [found]).sort(compare);
      if (versions.length === 0) throw new Error(`no published version of ${p} satisfies ${range}`);
      return [p, versions[0], versions[versions.length - 1]] as const;
    }),
  );
  const pick = (i: 1 | 2) => Object.fromEntries(bounds.map((b) => [b[0], b[i]])) as Record<Peer, string>;
  return { lowest: pick(1), highest: pick(2) };
}

beforeAll(async () => {
  work = tempDir("cdm-install");
  const dir = work;
  // One clone of HEAD, cloned again for the path and the git URL: both install the same commit.
  const head = await cloneRepository(path.join(dir, "head"));
  ranges = JSON.parse(fs.readFileSync(path.join(head, "package.json"), "utf8")).peerDependencies ?? {};
  ({ lowest, highest } = await peerVersionBounds(ranges, dir));

  const clone = (name: string) => cloneRepository(path.join(dir, name), head);
  const consumer = async (name: string, spec: string[], peers: PeerVersions) => {
    const begun = Date.now();
    const seeded = fs.existsSync(path.join(dir, name, "node_modules")) ? " (into a hard-linked copy of consumer-highest's node_modules)" : "";
    progress(TAG, `${name}: npm install ${spec.join(" ")}${seeded}`);
    const installed = await installConsumer(path.join(dir, name), spec, peers);
    progress(TAG, `${name}: installed in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    return installed;
  };
  const slot = pool(INSTALLS_AT_ONCE);
  const tarball = settleLater(sharedTarball().then((t) => t.tarball));
  const highestInstalled = slot(async () => consumer("consumer-highest", [await tarball], highest));
  // The path and git URL consumers start from hard-linked copies of its node_modules, taken
  // before its check removes it.
  const seeds = settleLater(
    highestInstalled.then(async (from) => {
      for (const name of ["consumer-path", "consumer-git"]) {
        fs.mkdirSync(path.join(dir, name));
        await hardLinkCopy(path.join(from, "node_modules"), path.join(dir, name, "node_modules"));
      }
      return from;
    }),
  );
  consumers = {
    "tarball, highest peers": seeds,
    "tarball, lowest peers": settleLater(slot(async () => consumer("consumer-lowest", [await tarball], lowest))),
    "path with --install-links": settleLater(
      slot(async () => {
        const source = await clone("clone-path");
        await seeds;
        const installed = await consumer("consumer-path", ["--install-links", source], highest);
        // What prepare installed in the clean clone to build lib/ (npm runs it in the clone itself).
        const tools = path.join(source, "node_modules");
        pathBuildTools = fs.existsSync(tools) ? fs.readdirSync(tools).flatMap((d) => (d.startsWith("@") ? fs.readdirSync(path.join(tools, d)).map((n) => `${d}/${n}`) : [d])) : [];
        discard(source); // the consumer has its own copy
        return installed;
      }),
    ),
    "git URL": settleLater(
      slot(async () => {
        const source = await clone("clone-git");
        await seeds;
        return consumer("consumer-git", [`git+file://${source}`], highest);
      }),
    ),
  };
});

/** A pool that runs the jobs given to it, at most `size` at a time, in the order given. */
function pool(size: number): <T>(job: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(job: () => Promise<T>) => {
    if (running >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await job();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

afterAll(async () => {
  // Let running installs and removals finish before the folder goes.
  await Promise.allSettled([...Object.values(consumers), ...removals]);
  removeDir(work);
});

/**
 * Awaits the install of `mode`, runs the checks every consumer passes and then `more`, and
 * removes the consumer.
 */
async function expectWorkingConsumer(mode: Mode, peers: PeerVersions, more: (dir: string) => void = () => undefined): Promise<void> {
  const pending = consumers[mode];
  if (!pending) throw new Error(`the ${mode} install did not start (see the beforeAll error)`);
  const dir = await pending;
  try {
    const begun = Date.now();
    await checkConsumer(dir, peers);
    more(dir);
    progress(TAG, `${path.basename(dir)}: checked in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
  } finally {
    discard(dir);
  }
}

/**
 * Where npm got the consumer's library from, as its lock file in node_modules records it: the
 * proof that npm replaced the seeded library (see beforeAll) with the one it installs.
 */
function installedFrom(dir: string): string {
  const lock = JSON.parse(fs.readFileSync(path.join(dir, "node_modules", ".package-lock.json"), "utf8"));
  return lock.packages?.[`node_modules/${PACKAGE_NAME}`]?.resolved ?? "(not in node_modules/.package-lock.json)";
}

/** The checks every installed consumer passes. */
async function checkConsumer(dir: string, peers: PeerVersions): Promise<void> {
  // exactly one copy of each peer, the consumer's, also as the library resolves it
  expect(installedPeerVersions(dir)).toEqual(peers);
  expect(await peerCopies(dir)).toEqual(consumerPeerFolders(dir));
  // the app type-checks against the installed declarations, both resolutions, and with TypeScript 7
  expect(await typeCheck(dir)).toEqual({ node16: "", node10: "", typescript7: "" });
  // and synthesizes a repository per entry point, as ESM and as CommonJS
  expect(await synthesizedRepositories(dir, path.join("out", "main.js"))).toEqual(CONSUMER_REPOSITORIES);
  expect(await synthesizedRepositories(dir, path.join("out-cjs", "main.js"))).toEqual(CONSUMER_REPOSITORIES);
}

describe("installing the library into a consumer app", () => {
  describe("from the packed tarball (npm pack of the working tree)", () => {
    test("with the lowest peer versions the ranges allow, it type-checks and synthesizes with one copy of each peer", async () => {
      // the floor of each declared range (^x.y.z) is published, and is what is tested
      const floors = Object.fromEntries(PEERS.map((p) => [p, ranges[p]?.replace(/^\^/, "")]));
      expect(lowest).toEqual(floors);
      await expectWorkingConsumer("tarball, lowest peers", lowest);
    });

    test("with the highest peer versions the ranges allow, it type-checks and synthesizes with one copy of each peer", async () => {
      await expectWorkingConsumer("tarball, highest peers", highest, (dir) => expect(installedFrom(dir)).toMatch(/^file:.*\.tgz$/));
    });
  });

  describe("by path with --install-links (npm packs the clone, running its prepare)", () => {
    test("prepare builds lib/ in the clean clone, and the app type-checks and synthesizes with one copy of each peer", async () => {
      await expectWorkingConsumer("path with --install-links", highest, (dir) => {
        // a copy, not a symlink into the clone (whose node_modules has its own cdktf)
        expect(fs.lstatSync(path.join(dir, "node_modules", PACKAGE_NAME)).isSymbolicLink()).toBe(false);
        expect(installedFrom(dir)).toMatch(/^file:.*clone-path$/);
      });
      // prepare installed only what the build needs, not the test and CLI tools of the devDependencies
      expect(pathBuildTools).toEqual(expect.arrayContaining(["typescript", "@types/node", "cdktf", "constructs", "@cdktf/provider-aws"]));
      expect(pathBuildTools.filter((p) => ["jest", "cdktf-cli", "@swc/core", "esbuild", "@microsoft/api-extractor", "@aws-sdk/client-ecr"].includes(p))).toEqual([]);
    });
  });

  describe("by git URL (git+file://; npm installs the clone's devDependencies and runs prepare)", () => {
    test("prepare builds lib/ despite npm's install-scripts notice, and the app type-checks and synthesizes with one copy of each peer", async () => {
      await expectWorkingConsumer("git URL", highest, (dir) => {
        expect(fs.existsSync(path.join(dir, "node_modules", PACKAGE_NAME, "lib", "index.js"))).toBe(true);
        expect(installedFrom(dir)).toMatch(/^git\+file:\/\/.*clone-git#[0-9a-f]{40}$/);
      });
    });
  });
});
