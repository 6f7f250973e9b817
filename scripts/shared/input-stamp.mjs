// A fingerprint of a build's input files by path, size and modification time, as make compares
// them: the build scripts (scripts/app/build.mjs, scripts/library/build-lib.mjs) keep their output
// when it was made from inputs with the same stamp.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";

/** The stamp of `files` (those that exist), as a hex string. */
export function inputStamp(files) {
  const lines = files
    .filter((f) => existsSync(f))
    .map((f) => {
      const s = statSync(f);
      return `${f}\0${s.size}\0${s.mtimeMs}`;
    });
  return createHash("sha256").update(lines.join("\n")).digest("hex");
}
