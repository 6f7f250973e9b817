import * as fs from "fs";
import * as path from "path";
import { parseConfigText } from "../../config/config-text";

/**
 * The environments file docs/modules.md shows for multi-arch images: the first jsonc block
 * after "#### Multi-arch images", parsed as the app parses config/environments.json.
 */
export function docsMultiArchExample(): any {
  const text = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "modules.md"), "utf8");
  const from = text.indexOf("#### Multi-arch images");
  const block = from < 0 ? null : /```jsonc\n([\s\S]*?)```/.exec(text.slice(from));
  if (!block) throw new Error("docs/modules.md has no multi-arch environments example");
  const parsed = parseConfigText("docs/modules.md", block[1] as string);
  if ("problem" in parsed) throw new Error(parsed.problem);
  return parsed.value;
}
