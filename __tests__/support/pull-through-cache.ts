import * as fs from "fs";
import * as path from "path";
import { parseConfigText } from "../../config/config-text";

/**
 * The environments file docs/environments.md shows for the pull-through cache: the first jsonc
 * block after "**Pull-through cache**", parsed as the app parses config/environments.json.
 */
export function docsPullThroughExample(): any {
  const text = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "environments.md"), "utf8");
  const from = text.indexOf("**Pull-through cache**");
  const block = from < 0 ? null : /```jsonc\n([\s\S]*?)```/.exec(text.slice(from));
  if (!block) throw new Error("docs/environments.md has no pull-through cache example");
  const parsed = parseConfigText("docs/environments.md", block[1] as string);
  if ("problem" in parsed) throw new Error(parsed.problem);
  return parsed.value;
}
