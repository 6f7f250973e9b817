import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * Where synth may write. The app replaces its output folder as a whole (a staging folder is moved
 * into place and the previous output deleted), so the folder must be one that holds nothing but
 * a previous synth output: a missing folder, an empty one (folders without files count as empty),
 * or one that carries the marker file the
 * app writes into every output. Anything else — the project, a folder of it, the home folder, `/`,
 * a file, a folder with other files — is refused before anything is written.
 */

/** The marker file the app writes into every synth output. */
export const OUTPUT_MARKER = ".cdktf-synth-output";

/** The marker's content: what wrote the folder. */
export function markerText(): string {
  return `${JSON.stringify({ writtenBy: "codebuild-docker-modules synth", note: "this folder is replaced as a whole by every synth" })}\n`;
}

/** True when nothing under `dir` is a file: only (empty) folders, which a synth loses nothing by replacing. */
function holdsNoFile(dir: string): boolean {
  return fs.readdirSync(dir, { withFileTypes: true }).every((e) => e.isDirectory() && holdsNoFile(path.join(dir, e.name)));
}

const contains = (ancestor: string, p: string) => p === ancestor || p.startsWith(ancestor.endsWith(path.sep) ? ancestor : ancestor + path.sep);

/**
 * The problem with `outdir` as the synth output folder, in one line, or undefined when synth may
 * replace it.
 * @param shown the folder as the user gave it (CDKTF_OUTDIR)
 * @param projectRoot the project folder (holds cdktf.json)
 */
export function outputFolderProblem(shown: string, projectRoot: string, cwd: string = process.cwd(), home: string = os.homedir()): string | undefined {
  const dir = path.resolve(cwd, shown);
  const what = `CDKTF_OUTDIR ${JSON.stringify(shown)} (${dir})`;
  const rule = "synth replaces its output folder as a whole, so it must be missing, empty, or a previous synth output (e.g. cdktf.out)";
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const target = real(dir);
  const guarded: ReadonlyArray<readonly [string, string]> = [
    [real(path.parse(dir).root), "the file system root"],
    [real(home), "the home folder"],
    [real(projectRoot), "the project folder"],
    [real(cwd), "the current folder"],
  ];
  for (const [p, name] of guarded) {
    if (target === p) return `${what} is ${name}: ${rule}`;
    if (contains(target, p)) return `${what} holds ${name} (${p}): ${rule}`;
  }
  if (!fs.existsSync(dir)) return undefined;
  if (!fs.statSync(dir).isDirectory()) return `${what} is a file, not a folder: ${rule}`;
  const entries = fs.readdirSync(dir);
  if (entries.includes(OUTPUT_MARKER) || holdsNoFile(dir)) return undefined;
  const shownEntries = entries.slice(0, 3).join(", ") + (entries.length > 3 ? `, … (${entries.length} entries)` : "");
  const hint = entries.includes("manifest.json") ? " (an output of a version before the marker: delete it once)" : "";
  return `${what} holds files synth did not write (${shownEntries}) and no ${OUTPUT_MARKER} marker${hint}: ${rule}`;
}
