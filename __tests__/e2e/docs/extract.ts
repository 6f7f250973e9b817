import * as fs from "fs";
import * as path from "path";

/** A command as a document shows it: a fenced shell block, or the first cell of a table row. */
export interface DocCommand {
  /** The file, relative to the project root. */
  readonly file: string;
  /** The command text: a block's lines (continuations joined, comments dropped), or a table cell's code. */
  readonly text: string;
  /** A fenced block, or a table cell. */
  readonly kind: "block" | "cell";
}

/** The documents whose commands the tests run: the README and everything in docs/. */
export function documents(root: string): string[] {
  const docs = fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).sort();
  return ["README.md", ...docs.map((f) => `docs/${f}`)];
}

/** Drops a trailing ` # comment` (outside quotes) and trailing blanks. */
function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** Every command of one document, in order. */
export function commandsOf(file: string, markdown: string): DocCommand[] {
  const out: DocCommand[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(sh|bash|shell)\s*$/.exec(lines[i]);
    if (fence) {
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) body.push(lines[i]);
      const joined = body.join("\n").replace(/\\\n\s*/g, "");
      const text = joined.split("\n").map(withoutComment).filter((l) => l.trim() !== "").join("\n");
      out.push({ file, text, kind: "block" });
      continue;
    }
    // A table row whose first cell is one code span that starts like a command.
    const cell = /^\|\s*`([^`]+)`\s*\|/.exec(lines[i]);
    if (cell && /^([A-Z_]+=\S+\s+)*(npm |npx |node |terraform |bash |scripts\/\S+\.sh)/.test(cell[1])) out.push({ file, text: cell[1], kind: "cell" });
  }
  return out;
}

/** Every command of every document. */
export function allCommands(root: string): DocCommand[] {
  return documents(root).flatMap((f) => commandsOf(f, fs.readFileSync(path.join(root, f), "utf8")));
}
