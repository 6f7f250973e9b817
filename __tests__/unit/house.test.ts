import * as fs from "fs";
import * as path from "path";

// The picture of the house at the top of docs/development.md is held against the code: every
// arrow it draws is at least one import, and no import between its rooms runs where no arrow is
// drawn. The rooms are the Mermaid nodes; the paths a node's label names (`modules/`, `main.ts`,
// `scripts/local-aws/`) are its files, the longest matching path deciding.

const ROOT = path.resolve(__dirname, "..", "..");
const DOC = path.join(ROOT, "docs", "development.md");
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const SKIP = new Set(["node_modules", "dist", "lib", "cdktf.out", ".git", "__tests__", "bench", "examples", "docs"]);

/** A room of the picture: its Mermaid id, its title and the paths it holds. */
export interface Room {
  readonly id: string;
  readonly title: string;
  readonly paths: string[];
}

/** The rooms and arrows of the first Mermaid block of `markdown`. */
export function readPicture(markdown: string): { rooms: Room[]; arrows: [string, string][] } {
  const block = /```mermaid\n([\s\S]*?)```/.exec(markdown)?.[1];
  if (block === undefined) throw new Error("docs/development.md has no ```mermaid block");
  const rooms: Room[] = [];
  const arrows: [string, string][] = [];
  for (const line of block.split("\n").map((l) => l.trim())) {
    const node = /^(\w+)\["([^"]+)"\]$/.exec(line);
    if (node) {
      const paths = node[2].split(/[\s,<>]+/).filter((t) => /^[\w.-]+(\/[\w.-]+)*(\/|\.ts)$/.test(t));
      rooms.push({ id: node[1], title: node[2], paths });
      continue;
    }
    const arrow = /^(\w+)\s*-->(?:\|[^|]*\|)?\s*(\w+)$/.exec(line);
    if (arrow) arrows.push([arrow[1], arrow[2]]);
  }
  return { rooms, arrows };
}

/** The room holding `file` (relative, `/`-separated): the one with the longest matching path. */
export function roomOf(file: string, rooms: readonly Room[]): Room | undefined {
  let best: { room: Room; length: number } | undefined;
  for (const room of rooms) {
    for (const p of room.paths) {
      const hit = p.endsWith("/") ? file.startsWith(p) : file === p;
      if (hit && (best === undefined || p.length > best.length)) best = { room, length: p.length };
    }
  }
  return best?.room;
}

/** Every source file of the repository outside tests, docs, benchmarks, examples and build output. */
function sourceFiles(dir = ROOT): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith(".") || SKIP.has(e.name)) return [];
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return SOURCE.test(e.name) && !e.name.endsWith(".d.ts") ? [path.relative(ROOT, p).split(path.sep).join("/")] : [];
  });
}

/** The relative imports of a source text (`import … from`, `export … from`, `import()`, `require()`). */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]);
  return out;
}

/** The repository file an import of `spec` from `file` reaches (`.ts` and `index.ts` resolution). */
function resolveImport(file: string, spec: string): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`, base.replace(/\.js$/, ".ts")]) {
    if (fs.existsSync(path.join(ROOT, candidate)) && fs.statSync(path.join(ROOT, candidate)).isFile()) return candidate;
  }
  return base;
}

/** Every import between two different rooms, as `from -> to` with the files that make it. */
function crossings(rooms: readonly Room[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    const from = roomOf(file, rooms);
    if (from === undefined) continue;
    for (const spec of relativeImports(fs.readFileSync(path.join(ROOT, file), "utf8"))) {
      const target = resolveImport(file, spec);
      const to = roomOf(target, rooms);
      if (to === undefined || to.id === from.id) continue;
      const key = `${from.id} -> ${to.id}`;
      out.set(key, [...(out.get(key) ?? []), `${file} imports ${target}`]);
    }
  }
  return out;
}

describe("the picture of the house in docs/development.md", () => {
  const picture = readPicture(fs.readFileSync(DOC, "utf8"));
  const found = crossings(picture.rooms);

  test("draws the library, the reference app, the tools and the local AWS adapter, each naming its paths", () => {
    expect(picture.rooms.map((r) => r.id).sort()).toEqual(["adapter", "app", "library", "tools"]);
    for (const room of picture.rooms) expect(room.paths.length).toBeGreaterThan(0);
  });

  test("every source file outside tests, docs, benchmarks and examples is in a room", () => {
    expect(sourceFiles().filter((f) => roomOf(f, picture.rooms) === undefined)).toEqual([]);
  });

  test("every arrow drawn is at least one import", () => {
    const missing = picture.arrows.map(([a, b]) => `${a} -> ${b}`).filter((k) => !found.has(k));
    expect(missing).toEqual([]);
  });

  test("no import runs where no arrow is drawn", () => {
    const drawn = new Set(picture.arrows.map(([a, b]) => `${a} -> ${b}`));
    const undrawn = [...found].filter(([k]) => !drawn.has(k)).map(([k, files]) => `${k}: ${files.join("; ")}`);
    expect(undrawn).toEqual([]);
  });
});

/** Folders whose README.md must say what they do: every folder of code, but the tiers' mirrors of the sources. */
function codeFolders(dir = ROOT): string[] {
  const rel = path.relative(ROOT, dir).split(path.sep).join("/");
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  const mirror = /^__tests__\/(unit|integration|e2e)\/./.test(rel);
  const holdsCode = entries.some((e) => e.isFile() && /\.(ts|js|mjs|cjs|sh|go|yml)$/.test(e.name));
  const here = rel !== "" && holdsCode && !mirror ? [rel] : [];
  const skip = new Set(["node_modules", "dist", "lib", "cdktf.out", "results", "docs", "etc", ".github"]);
  return [...here, ...entries.filter((e) => e.isDirectory() && !e.name.startsWith(".") && !skip.has(e.name)).flatMap((e) => codeFolders(path.join(dir, e.name)))];
}

/** Past about 400 lines a file holds two jobs (the house's rule); a little slack, not a second budget. */
const MAX_LINES = 410;

describe("no file of the house is over about 400 lines", () => {
  test(`every source file and shell script of the library, the app, the tools and the adapter has at most ${MAX_LINES} lines`, () => {
    const picture = readPicture(fs.readFileSync(DOC, "utf8"));
    const scripts = sourceFiles().concat(shellScripts());
    const long = scripts
      .filter((f) => roomOf(f, picture.rooms) !== undefined)
      .map((f) => ({ f, n: fs.readFileSync(path.join(ROOT, f), "utf8").split("\n").length }))
      .filter(({ n }) => n > MAX_LINES)
      .map(({ f, n }) => `${f}: ${n} lines`);
    expect(long).toEqual([]);
  });
});

describe("the library's core imports nothing above it", () => {
  test("no file of modules/shared imports another folder of modules/ (the constructs build on it, not the other way)", () => {
    const up = sourceFiles()
      .filter((f) => f.startsWith("modules/shared/"))
      .flatMap((f) => [...fs.readFileSync(path.join(ROOT, f), "utf8").matchAll(/from "(\.\.\/[^"]+)"/g)].map((m) => `${f}: ${m[1]}`));
    expect(up).toEqual([]);
  });
});

describe("the library uses cdktf's public API only", () => {
  test("no file of modules/ imports a private path of cdktf (cdktf/lib/…)", () => {
    const deep = sourceFiles()
      .filter((f) => f.startsWith("modules/"))
      .flatMap((f) => [...fs.readFileSync(path.join(ROOT, f), "utf8").matchAll(/from "(cdktf\/lib\/[^"]+)"/g)].map((m) => `${f}: ${m[1]}`));
    expect(deep).toEqual([]);
  });
});

/** The shell scripts of the repository outside tests, docs, benchmarks and examples. */
function shellScripts(dir = ROOT): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith(".") || SKIP.has(e.name)) return [];
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return shellScripts(p);
    return e.name.endsWith(".sh") ? [path.relative(ROOT, p).split(path.sep).join("/")] : [];
  });
}

describe("every folder of code says what it does", () => {
  test.each(codeFolders())("%s/README.md: at most two lines", (folder) => {
    const file = path.join(ROOT, folder, "README.md");
    expect(fs.existsSync(file) ? "present" : `${folder}/README.md is missing`).toBe("present");
    const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(2);
  });
});

describe("reading the picture and the imports", () => {
  const rooms: Room[] = [
    { id: "tools", title: "", paths: ["scripts/"] },
    { id: "adapter", title: "", paths: ["scripts/local-aws/"] },
    { id: "app", title: "", paths: ["main.ts", "stacks/"] },
  ];

  test("the longest matching path decides the room", () => {
    expect(roomOf("scripts/local-aws/server.ts", rooms)?.id).toBe("adapter");
    expect(roomOf("scripts/plan-review/plan.ts", rooms)?.id).toBe("tools");
    expect(roomOf("main.ts", rooms)?.id).toBe("app");
    expect(roomOf("main.tsx", rooms)).toBeUndefined();
  });

  test("finds static, re-export, dynamic and require imports, and only relative ones", () => {
    const text = [
      'import { a } from "../config/environments";',
      'export { b } from "./topology";',
      'const c = await import("../scripts/local-aws/server");',
      'const d = require("./app/build.mjs");',
      'import "./side-effect";',
      'import { Construct } from "constructs";',
    ].join("\n");
    expect(relativeImports(text)).toEqual(["../config/environments", "./topology", "../scripts/local-aws/server", "./app/build.mjs", "./side-effect"]);
  });

  test("reads nodes with their paths and arrows with or without labels", () => {
    const md = '```mermaid\nflowchart TD\n  app["Reference app: main.ts, stacks/"]\n  tools["Tools: scripts/"]\n  tools --> app\n  tools -->|imports| app\n```\n';
    const { rooms: read, arrows } = readPicture(md);
    expect(read).toEqual([
      { id: "app", title: "Reference app: main.ts, stacks/", paths: ["main.ts", "stacks/"] },
      { id: "tools", title: "Tools: scripts/", paths: ["scripts/"] },
    ]);
    expect(arrows).toEqual([["tools", "app"], ["tools", "app"]]);
  });
});
