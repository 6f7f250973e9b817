import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { OUTPUT_MARKER, outputFolderProblem } from "../../config/output-folder";
import { requireBuiltApp, ROOT, tempDir } from "../support/app";

/**
 * CDKTF_OUTDIR is replaced as a whole by every synth, so the app refuses any folder that is not
 * its own output: one line, exit 1, nothing touched (`CDKTF_OUTDIR=.` once deleted
 * the project, .git included).
 */
function synth(outdir: string, extra: Record<string, string> = {}, cwd = ROOT) {
  const env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1", ...extra };
  for (const k of ["CONFIG_FILE", "ENVIRONMENTS", "AWS_ENDPOINT_URL", "ALLOW_LOCAL_ENDPOINT"]) delete env[k];
  if (cwd !== ROOT) env.CONFIG_FILE = path.join(ROOT, "config", "environments.json");
  return spawnSync(process.execPath, [requireBuiltApp()], { cwd, env, encoding: "utf8" });
}

/** Every entry under `dir`, with each file's content, to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

const refusal = (shown: string, rest: RegExp) =>
  new RegExp(`^error: CDKTF_OUTDIR ${JSON.stringify(shown).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} \\(.*\\) ${rest.source}( \\(.*\\))?: synth replaces its output folder as a whole`);

describe("the synth output folder", () => {
  test("CDKTF_OUTDIR=. is refused in one line, exit 1, and the project is untouched (through the app)", () => {
    const before = fs.readdirSync(ROOT).sort();
    const r = synth(".");
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(refusal(".", /is the project folder/));
    expect(lines[1]).toBe("synth failed: 1 problem(s); nothing was written to .");
    expect(fs.readdirSync(ROOT).sort()).toEqual(before);
  });

  // The rule itself, for every guarded place (the app prints exactly this line, as above).
  test.each([
    ["./", ROOT, /is the project folder/],
    ["..", ROOT, /holds the project folder/],
    ["/", ROOT, /is the file system root/],
    [ROOT, "/", /is the project folder/],
  ])("CDKTF_OUTDIR=%s (from %s) is refused", (outdir, cwd, why) => {
    expect(outputFolderProblem(outdir, ROOT, cwd)).toMatch(new RegExp(`${why.source}( \\(.*\\))?: synth replaces its output folder as a whole`));
  });

  test("the current folder is refused", () => {
    const cwd = tempDir("outdir-cwd");
    fs.writeFileSync(path.join(cwd, "keep.txt"), "mine");
    expect(outputFolderProblem(".", ROOT, cwd)).toMatch(/is the current folder/);
  });

  test("the home folder is refused", () => {
    const home = tempDir("outdir-home");
    fs.writeFileSync(path.join(home, ".profile"), "x");
    expect(outputFolderProblem(home, ROOT, ROOT, home)).toMatch(/is the home folder/);
  });

  test("a file is refused and stays the file it was", () => {
    const dir = tempDir("outdir-file");
    const file = path.join(dir, "out.txt");
    fs.writeFileSync(file, "not a folder");
    const r = synth(file);
    expect({ status: r.status, line: r.stderr.split("\n")[0] }).toEqual({ status: 1, line: expect.stringMatching(/is a file, not a folder/) });
    expect(fs.readFileSync(file, "utf8")).toBe("not a folder");
    expect(fs.readdirSync(dir)).toEqual(["out.txt"]);
  });

  test("a folder with files synth did not write is refused, and its files are untouched", () => {
    const dir = tempDir("outdir-other");
    fs.mkdirSync(path.join(dir, "src"));
    fs.writeFileSync(path.join(dir, "notes.md"), "keep me");
    fs.writeFileSync(path.join(dir, "src", "a.ts"), "export {}");
    const r = synth(dir);
    expect({ status: r.status, line: r.stderr.split("\n")[0] }).toEqual({
      status: 1,
      line: expect.stringMatching(new RegExp(`holds files synth did not write \\(notes\\.md, src\\) and no \\${OUTPUT_MARKER} marker`)),
    });
    expect(snapshot(dir)).toEqual({ "notes.md": "keep me", "src/a.ts": "export {}" });
    expect(fs.readdirSync(path.dirname(dir)).filter((n) => n.startsWith(`${path.basename(dir)}.`))).toEqual([]);
  });

  test("a missing folder, an empty folder (or one of empty folders) and a previous output (it carries the marker) are written", () => {
    const base = tempDir("outdir-ok");
    const missing = path.join(base, "missing");
    const empty = path.join(base, "empty");
    fs.mkdirSync(empty);
    // Folders without a file in them lose nothing: e.g. the cdktf.out/stacks a tool created early.
    const emptyTree = path.join(base, "empty-tree");
    fs.mkdirSync(path.join(emptyTree, "stacks", "old"), { recursive: true });
    for (const dir of [missing, empty, emptyTree]) {
      const r = synth(dir);
      expect({ dir, status: r.status, stderr: r.stderr }).toEqual({ dir, status: 0, stderr: "" });
      expect(fs.existsSync(path.join(dir, OUTPUT_MARKER))).toBe(true);
      expect(fs.existsSync(path.join(dir, "manifest.json"))).toBe(true);
    }
    // A second synth into its own output replaces it.
    const again = synth(missing);
    expect({ status: again.status, stderr: again.stderr }).toEqual({ status: 0, stderr: "" });
  });

  test("the checks use the real path: a symlink to the project folder is refused", () => {
    const link = path.join(tempDir("outdir-link"), "to-project");
    fs.symlinkSync(ROOT, link);
    expect(outputFolderProblem(link, ROOT)).toMatch(/is the project folder/);
    expect(fs.existsSync(path.join(ROOT, "package.json"))).toBe(true);
  });

});
