import * as fs from "fs";
import * as path from "path";

const BUILDSPECS = path.join(__dirname, "..", "..", "buildspecs");

/** The steps both image buildspecs embed, as the file holds them. */
export const ECR_IMAGE_SH = fs.readFileSync(path.join(BUILDSPECS, "scripts", "ecr-image.sh"), "utf8");

/** The directive line of the image buildspecs, in their install phase's first command. */
export const INCLUDE_LINE = "        @include scripts/ecr-image.sh\n";

/** The line that ends the heredoc the script is written with. */
export const HEREDOC_END = "END_OF_ECR_IMAGE_SH";

/** A file of `buildspecs/` as it stands in the repository. */
export function buildspecFile(fileName: string): string {
  return fs.readFileSync(path.join(BUILDSPECS, fileName), "utf8");
}

/**
 * What a construct should inline for a bundled image buildspec, worked out here without
 * BuildSpec.bundled: the file with its include line replaced by the script, indented like it.
 */
export function expectedInlined(fileName: string): string {
  const text = buildspecFile(fileName);
  if (text.split(INCLUDE_LINE).length !== 2) throw new Error(`${fileName} must hold the line ${JSON.stringify(INCLUDE_LINE)} once`);
  const indented = ECR_IMAGE_SH.split("\n")
    .slice(0, -1)
    .map((line) => (line === "" ? "\n" : `        ${line}\n`))
    .join("");
  return text.replace(INCLUDE_LINE, () => indented);
}

/** A literal string as Terraform writes it into the JSON (`${` and `%{` escaped), and back. */
export const terraformEscaped = (s: string) => s.split("${").join("$${").split("%{").join("%%{");
export const terraformUnescaped = (s: string) => s.split("$${").join("${").split("%%{").join("%{");
