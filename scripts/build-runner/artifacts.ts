import * as fs from "fs";
import * as path from "path";

// Which files a buildspec's `artifacts/files` globs match (build-spec-ref, artifacts).

/** A glob of artifacts/files as a RegExp over `/`-separated relative paths: `**`, `*` and `?`. */
function globToRegExp(glob: string): RegExp {
  const segments = glob.replace(/^(\.\/)+/, "").split("/").filter((s) => s !== "" && s !== ".");
  const parts = segments.map((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === "**") return last ? ".*" : "(?:[^/]+/)*";
    const body = segment.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
    return last ? body : `${body}/`;
  });
  return new RegExp(`^${parts.join("")}$`);
}

const hasWildcard = (glob: string) => /[*?]/.test(glob);

/** Every file under `dir`, as `/`-separated paths relative to it; symlinked folders are not followed. */
function walkFiles(dir: string, prefix = ""): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix + entry.name;
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) return walkFiles(abs, `${rel}/`);
    if (entry.isSymbolicLink()) return fs.statSync(abs, { throwIfNoEntry: false })?.isFile() ? [rel] : [];
    return entry.isFile() ? [rel] : [];
  });
}

/** Every folder under `dir` (relative, `/`-separated), for a base-directory with wildcards. */
function walkDirs(dir: string, prefix = ""): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [prefix + e.name, ...walkDirs(path.join(dir, e.name), `${prefix}${e.name}/`)]);
}

/**
 * Finds the files of artifacts/files (build-spec-ref): relative to base-directory, else to the
 * source directory. A pattern without wildcards may name a folder, which means all its files.
 * A base-directory with wildcards (`'my-build*'`) matches every such folder.
 */
export function resolveArtifacts(srcDir: string, files: string[], baseDirectory?: string): { artifacts: string[]; missing: string[] } {
  let bases: string[];
  if (baseDirectory === undefined) bases = [srcDir];
  else if (hasWildcard(baseDirectory)) {
    const re = globToRegExp(baseDirectory);
    bases = walkDirs(srcDir).filter((d) => re.test(d)).map((d) => path.join(srcDir, d));
  } else bases = [path.resolve(srcDir, baseDirectory)];
  bases = bases.filter((b) => fs.statSync(b, { throwIfNoEntry: false })?.isDirectory());

  const found = new Set<string>();
  const missing: string[] = [];
  const filesByBase = bases.map((base) => ({ base, rels: walkFiles(base) }));
  for (const pattern of files) {
    const re = globToRegExp(pattern);
    const literal = hasWildcard(pattern) ? undefined : pattern.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
    let matched = false;
    for (const { base, rels } of filesByBase) {
      for (const rel of rels) {
        if (re.test(rel) || (literal !== undefined && rel.startsWith(`${literal}/`))) {
          found.add(path.join(base, rel));
          matched = true;
        }
      }
    }
    if (!matched) missing.push(pattern);
  }
  return { artifacts: [...found].sort(), missing };
}
