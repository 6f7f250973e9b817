import * as fs from "fs";
import * as path from "path";

/** The folder that holds the project's bundled buildspecs, found from this file upwards. */
function bundledBuildSpecDir(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, "buildspecs");
    if (fs.existsSync(path.join(candidate, "docker-push-ecr.yml"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`buildspecs/ folder not found above ${__dirname}`);
    dir = parent;
  }
}

/**
 * `@include <path>` on a line of its own in a bundled buildspec: replaced at load by the text of
 * that file (relative to `buildspecs/`), each line indented like the directive. Inside a YAML
 * block scalar (a quoted heredoc in a command), this embeds a script in the buildspec, so the
 * build's source needs no copy of it.
 */
const INCLUDE_DIRECTIVE = /^([ \t]*)@include[ \t]+(\S+)[ \t]*$/gm;

/** `text` with every {@link INCLUDE_DIRECTIVE} replaced by the file it names, found in `dir`. */
function expandIncludes(text: string, dir: string, origin: string): string {
  return text.replace(INCLUDE_DIRECTIVE, (_line, indent: string, target: string) => {
    const file = path.join(dir, target);
    let included: string;
    try {
      included = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new Error(`BuildSpec.bundled: ${origin} includes ${JSON.stringify(target)}, which cannot be read (${(e as Error).message})`);
    }
    return included
      .replace(/\n$/, "")
      .split("\n")
      .map((line) => (line === "" ? "" : indent + line))
      .join("\n");
  });
}

/**
 * Where a CodeBuild project's buildspec comes from: inline YAML (embedded in the project, so the
 * source needs no buildspec file) or a file path inside the source.
 */
export class BuildSpec {
  /**
   * A buildspec bundled with this module collection in `buildspecs/`, inlined at synth with its
   * `@include <path>` lines replaced by the files they name (so `docker-push-ecr.yml` and
   * `docker-dind.yml` carry `scripts/ecr-image.sh` in themselves).
   */
  public static bundled(fileName: string): BuildSpec {
    const dir = bundledBuildSpecDir();
    const file = BuildSpec.fromFile(path.join(dir, fileName));
    return new BuildSpec(expandIncludes(file.inlineContent as string, dir, fileName), undefined, file.origin);
  }

  /** A buildspec file on the synthesizing machine, read at synth and inlined. */
  public static fromFile(filePath: string): BuildSpec {
    let content: string;
    try {
      content = fs.readFileSync(filePath, "utf8");
    } catch (e) {
      throw new Error(`BuildSpec.fromFile: cannot read buildspec ${JSON.stringify(filePath)} (${(e as Error).message})`);
    }
    return new BuildSpec(content, undefined, filePath);
  }

  /** Buildspec YAML given as a string. */
  public static fromInline(yaml: string): BuildSpec {
    return new BuildSpec(yaml, undefined, "inline");
  }

  /** A buildspec file that CodeBuild reads from the source, e.g. `ci/buildspec.yml`. */
  public static fromSourceFilename(fileName: string): BuildSpec {
    return new BuildSpec(undefined, fileName, fileName);
  }

  private constructor(
    /** The YAML when the buildspec is inline. */
    public readonly inlineContent: string | undefined,
    /** The path inside the source when the buildspec is read by CodeBuild. */
    public readonly sourcePath: string | undefined,
    /** Where the buildspec came from, for error messages. */
    public readonly origin: string,
  ) {}

  /** The value of the project's `source.buildspec` field. */
  public get value(): string {
    return (this.inlineContent ?? this.sourcePath) as string;
  }

  /** Problems with an inline buildspec: it must declare `version: 0.2` and a `phases` map. */
  public problems(): string[] {
    if (this.inlineContent === undefined) return [];
    const out: string[] = [];
    if (!/^version:\s*["']?0\.2["']?\s*(#.*)?$/m.test(this.inlineContent)) out.push("must declare version: 0.2");
    if (!/^phases:\s*$/m.test(this.inlineContent)) out.push("must have a phases: section");
    return out;
  }
}
