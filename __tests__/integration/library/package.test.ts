import * as fs from "fs";
import { builtinModules } from "module";
import * as path from "path";
import { ROOT, tempDir } from "../../support/app";
import { requireTool } from "../../support/containers";
import { childEnv, describeRun, listFiles, mustSucceed, PEERS, removeDir, run } from "../../support/library";
import { sharedTarball } from "../../support/library-cache";

/**
 * The packed tarball of the working tree, as the registry would get it: what is in it, what it
 * needs at run time, and the linters of published packages (publint, Are The Types Wrong).
 * (lib/ of the working tree is left alone: see packWorkingTree. The tarball is packed once per
 * run and shared with the other suites that install it: see sharedTarball.)
 */
jest.setTimeout(180_000);

/** Folders and files of the app, the tools, the tests, CI and build output: never in the package. */
const NOT_SHIPPED = ["__tests__/", "bench/", ".github/", ".ci/", "scripts/", "docker/", "config/", "stacks/", "examples/", "dist/", "main.ts"];

interface PackageJson {
  files: string[];
  exports: Record<string, string | { types?: string; default?: string }>;
  typesVersions?: Record<string, Record<string, string[]>>;
  peerDependencies: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  bundleDependencies?: string[];
  bundledDependencies?: string[];
}

let work: string | undefined;
let tarball: string;
/** The unpacked tarball. */
let pkgDir: string;
let files: string[];
let pkg: PackageJson;

/** The package a bare specifier belongs to: `@scope/name/deep/path` → `@scope/name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || builtinModules.includes(packageOf(specifier));
}

/** Every package that lib/**\/*.js loads with a literal `require("x")` of a bare specifier. */
function requiredPackages(): string[] {
  const found = new Set<string>();
  for (const file of files.filter((f) => f.startsWith("lib/") && f.endsWith(".js"))) {
    const code = fs.readFileSync(path.join(pkgDir, file), "utf8");
    for (const m of code.matchAll(/\brequire\(\s*["']([^"'.][^"']*)["']\s*\)/g)) found.add(isBuiltin(m[1]) ? m[1] : packageOf(m[1]));
  }
  return [...found].sort();
}

/** A tool installed by `npm ci` (a devDependency), by its bin name. */
function devTool(bin: string, pkgName: string): string {
  const p = path.join(ROOT, "node_modules", ".bin", bin);
  if (!fs.existsSync(p)) throw new Error(`${bin} is missing: run \`npm ci\` (${pkgName} is a devDependency)`);
  return p;
}

beforeAll(async () => {
  requireTool("tar", "apt-get install -y tar");
  requireTool("git", "apt-get install -y git");
  work = tempDir("cdm-package");
  // npm pack runs `prepare`, which builds lib/ from the current modules/.
  ({ tarball } = await sharedTarball());
  const unpacked = path.join(work, "unpacked");
  fs.mkdirSync(unpacked);
  mustSucceed(await run("tar", ["-xzf", tarball, "-C", unpacked], work));
  pkgDir = path.join(unpacked, "package");
  files = listFiles(pkgDir);
  pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
});

afterAll(() => removeDir(work));

describe("the packed tarball", () => {
  describe("contents", () => {
    test("it holds the built library: lib/index.js, lib/index.d.ts and declaration maps", () => {
      expect(files).toEqual(expect.arrayContaining(["lib/index.js", "lib/index.d.ts", "lib/index.d.ts.map"]));
    });

    test("it holds the buildspec assets that `files` lists, README.md, LICENSE and package.json", () => {
      const assets = pkg.files.filter((f) => f.startsWith("buildspecs/"));
      expect(assets.length).toBeGreaterThan(0);
      expect(files).toEqual(expect.arrayContaining([...assets, "README.md", "LICENSE", "package.json"]));
    });

    test("nothing of the app, the tools, the tests, CI or the build output is in it", () => {
      const shipped = files.filter((f) => NOT_SHIPPED.some((p) => (p.endsWith("/") ? f.startsWith(p) : f === p)));
      expect(shipped).toEqual([]);
    });

    test("every file is compiled output, a TypeScript source of it, a listed asset or npm's standard files", () => {
      const assets = pkg.files.filter((f) => !f.endsWith("/"));
      const allowed = (f: string) =>
        /^lib\/.+\.(js|js\.map|d\.ts|d\.ts\.map)$/.test(f) ||
        (/^modules\/.+\.ts$/.test(f) && !/\.(test|spec)\.ts$/.test(f)) ||
        assets.includes(f) ||
        ["README.md", "LICENSE", "package.json"].includes(f);
      expect(files.filter((f) => !allowed(f))).toEqual([]);
    });

    test("every source map and declaration map points at sources that are in the package", () => {
      const missing = files
        .filter((f) => f.endsWith(".map"))
        .flatMap((f) => {
          const map = JSON.parse(fs.readFileSync(path.join(pkgDir, f), "utf8")) as { sourceRoot?: string; sources: string[] };
          return map.sources
            .map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(f), map.sourceRoot ?? "", s)))
            .filter((s) => !files.includes(s))
            .map((s) => `${f} -> ${s}`);
        });
      expect(missing).toEqual([]);
    });
  });

  describe("entry points", () => {
    test("every module folder is an entry in `exports` and `typesVersions`, with files that exist", () => {
      const modules = fs
        .readdirSync(path.join(pkgDir, "modules"), { withFileTypes: true })
        .filter((e) => e.isDirectory() && fs.existsSync(path.join(pkgDir, "modules", e.name, "index.ts")))
        .map((e) => e.name);
      expect(modules.length).toBeGreaterThan(0);
      const problems: string[] = [];
      for (const name of ["", ...modules]) {
        const key = name === "" ? "." : `./${name}`;
        const entry = pkg.exports[key];
        if (typeof entry !== "object" || !entry.types || !entry.default) {
          problems.push(`exports["${key}"] needs "types" and "default"`);
          continue;
        }
        for (const target of [entry.types, entry.default]) {
          if (!files.includes(path.posix.normalize(target))) problems.push(`exports["${key}"] -> ${target} is not in the package`);
        }
        if (name === "") continue;
        const typesVersion = pkg.typesVersions?.["*"]?.[name];
        if (!typesVersion?.every((t) => files.includes(path.posix.normalize(t)))) {
          problems.push(`typesVersions["*"]["${name}"] (node10 resolution) is missing or names a file that is not in the package`);
        }
      }
      expect(problems).toEqual([]);
    });

    test("everything a subpath entry exports is exported by the root entry too (the API report covers the root)", async () => {
      // GIVEN the unpacked package, with this repository's peers on NODE_PATH
      const script = `
        const pkg = require("./package.json");
        const root = require("./" + pkg.exports["."].default);
        const missing = {};
        for (const [key, entry] of Object.entries(pkg.exports)) {
          if (key === "." || typeof entry !== "object") continue;
          const sub = require("./" + entry.default);
          const notInRoot = Object.keys(sub).filter((name) => root[name] !== sub[name]);
          if (notInRoot.length > 0) missing[key] = notInRoot;
        }
        process.stdout.write(JSON.stringify(missing));`;
      // WHEN every entry is loaded
      const r = await run(process.execPath, ["-e", script], pkgDir, childEnv({ NODE_PATH: path.join(ROOT, "node_modules") }));
      // THEN no subpath has a value the root lacks
      if (r.status !== 0) throw new Error(describeRun(r));
      expect(JSON.parse(r.stdout)).toEqual({});
    });
  });

  describe("dependencies", () => {
    test("at run time lib/ requires only Node builtins and the peer dependencies, and uses every peer", () => {
      const required = requiredPackages();
      const peers = Object.keys(pkg.peerDependencies).sort();
      expect(peers).toEqual([...PEERS].sort());
      expect(required.filter((r) => !isBuiltin(r) && !peers.includes(r))).toEqual([]);
      expect(peers.filter((p) => !required.includes(p))).toEqual([]);
    });

    test("its package.json carries no scripts (they name files the tarball does not ship), and packing leaves the source's package.json as it was", () => {
      expect((pkg as { scripts?: unknown }).scripts).toBeUndefined();
      const source = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
      expect(Object.keys(source.scripts)).toEqual(expect.arrayContaining(["prepare", "prepack", "postpack", "test"]));
      expect({ ...pkg, scripts: source.scripts }).toEqual(source);
    });

    test("package.json declares no dependencies beyond what lib/ requires (peers are never dependencies)", () => {
      const required = requiredPackages().filter((r) => !isBuiltin(r) && !(r in pkg.peerDependencies));
      const declared = [
        ...Object.keys(pkg.dependencies ?? {}),
        ...Object.keys(pkg.optionalDependencies ?? {}),
        ...(pkg.bundleDependencies ?? []),
        ...(pkg.bundledDependencies ?? []),
      ];
      expect(declared.filter((d) => !required.includes(d))).toEqual([]);
    });
  });

  describe("linters of published packages", () => {
    test("publint finds no errors and no warnings", async () => {
      const r = await run(devTool("publint", "publint"), ["run", "--strict", tarball], work ?? ROOT);
      if (r.status !== 0) throw new Error(`publint found problems in the tarball:\n${r.stdout}\n${r.stderr}`);
    });

    test("Are The Types Wrong finds no problems for node10, node16 (CJS and ESM importers) and bundlers", async () => {
      // The strict profile: a CommonJS package that old (node10, via typesVersions) and new
      // (node16 CJS and ESM, bundler) resolutions must all type correctly.
      const r = await run(devTool("attw", "@arethetypeswrong/cli"), [tarball, "--profile", "strict", "--format", "table-flipped", "--no-color", "--no-emoji"], work ?? ROOT);
      if (r.status !== 0) throw new Error(`Are The Types Wrong (attw) found problems in the tarball:\n${r.stdout}\n${r.stderr}`);
    });
  });
});
