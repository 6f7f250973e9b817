import * as fs from "fs";
import * as path from "path";
import { parseConfigText } from "../../config/config-text";
import { ROOT } from "./app";

/** The jsonc block of docs/environments.md that holds the "ci" environment with triggers. */
export function docsExample(): any {
  const text = fs.readFileSync(path.join(ROOT, "docs", "environments.md"), "utf8");
  const block = [...text.matchAll(/```jsonc\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('"triggers"'));
  if (!block) throw new Error("docs/environments.md has no jsonc block with triggers");
  const parsed = parseConfigText("docs/environments.md", block);
  if ("problem" in parsed) throw new Error(parsed.problem);
  return parsed.value;
}
