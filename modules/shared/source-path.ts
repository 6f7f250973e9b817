/**
 * What is wrong with a path that must name something inside a build's source (a Dockerfile, a
 * build context), worded to end a `must be a path relative to the source root, …` rule;
 * undefined when nothing is. Such a path is not empty, not absolute, has no `..` segment (the
 * build sees only its source) and does not start with `-` (docker would read it as an option).
 * No dependencies, so the config loader can use it without loading cdktf.
 */
export function sourcePathProblem(value: string): string | undefined {
  if (typeof value !== "string" || value.length === 0) return "not empty";
  if (/^([/\\]|[A-Za-z]:)/.test(value)) return "not absolute";
  if (value.split(/[/\\]/).includes("..")) return 'without ".." segments (the build sees only its source)';
  if (value.startsWith("-")) return 'not starting with "-" (docker would read it as an option)';
  return undefined;
}
