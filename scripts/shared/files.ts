import * as fs from "fs";

/** A temporary name beside `file` that no other process or call uses. */
const partName = (file: string): string => `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;

/**
 * Writes `data` to `file` whole or not at all: into a temporary file beside it, then a rename, so
 * that another process reading `file` meanwhile (a test run, `npm start` beside `npm run plan`)
 * sees the old content or the new, never a truncated one. The temporary file is removed if
 * anything fails. With `unlessSame`, a file that already holds `data` is left alone (not even
 * its modification time changes).
 * @returns whether the file was written
 */
export function writeFileAtomic(file: string, data: string, options: { readonly unlessSame?: boolean } = {}): boolean {
  if (options.unlessSame) {
    try {
      if (fs.readFileSync(file, "utf8") === data) return false;
    } catch {
      // missing or unreadable: write it
    }
  }
  const part = partName(file);
  try {
    fs.writeFileSync(part, data);
    fs.renameSync(part, file);
  } finally {
    fs.rmSync(part, { force: true });
  }
  return true;
}

/** Copies `from` to `to` whole or not at all (a temporary copy beside `to`, then a rename). */
export function copyFileAtomic(from: string, to: string): void {
  const part = partName(to);
  try {
    fs.copyFileSync(from, part);
    fs.renameSync(part, to);
  } finally {
    fs.rmSync(part, { force: true });
  }
}
