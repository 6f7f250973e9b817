import * as fs from "fs";
import * as path from "path";
import { parseJsonWithComments } from "../../config/json-with-comments";

/**
 * The environments file docs/modules.md shows for multi-arch images: the first jsonc block
 * after "#### Multi-arch images", parsed as the app parses config/environments.json.
 */
export function docsMultiArchExample(): any {
  const text = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "modules.md"), "utf8");
  const from = text.indexOf("#### Multi-arch images");
  const block = from < 0 ? null : /```jsonc\n([\s\S]*?)```/.exec(text.slice(from));
  if (!block) throw new Error("docs/modules.md has no multi-arch environments example");
  return parseJsonWithComments(block[1]);
}
