/**
 * Problems of the environments file, one line each: where (file, line and column when known,
 * environment, field path), the value and the rule it breaks.
 */
import type { z } from "zod";
import { looksLikeSecret } from "../modules/shared/secret-names";
import { HiddenValue } from "../modules/shared/validation";

/** A problem of one field: its dotted path (`[i]` for items), its value and the rule. */
export interface SchemaProblem {
  readonly path: string;
  readonly value: unknown;
  readonly rule: string;
}

/** Where a field is in the file: 1-based line and column. */
export interface FieldPosition {
  readonly line: number;
  readonly column: number;
}

/** Finds the position of a field of an environment (or of the file, `env` undefined) by its path. */
export type FieldLocator = (env: string | undefined, path: string) => FieldPosition | undefined;

/** The JSON type name of a value, as a problem line names it. */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

const TYPE_RULES: Readonly<Record<string, string>> = {
  string: "must be a string",
  boolean: "must be true or false",
  array: "must be an array",
  object: "must be an object",
  record: "must be an object",
  number: "must be a number",
};

/**
 * The rule text of an issue whose schema gives none of its own: zod's default messages are
 * replaced by the file's house style (`must be true or false, not string`).
 */
function defaultRule(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      if (issue.expected === "int") return typeof issue.input === "number" ? "must be a whole number" : `must be a whole number, not ${typeName(issue.input)}`;
      return `${TYPE_RULES[issue.expected] ?? `must be ${issue.expected}`}, not ${typeName(issue.input)}`;
    case "invalid_value":
      return issue.input === undefined ? "is required" : `must be one of ${issue.values.map(String).join(", ")}`;
    case "invalid_union": {
      const options = (issue as { options?: readonly unknown[] }).options;
      return options === undefined ? undefined : `must be one of ${options.map(String).join(", ")}`;
    }
    case "too_small":
      return issue.origin === "array" ? `must have at least ${issue.minimum} item(s)` : undefined;
    case "too_big":
      return issue.origin === "array" ? `must have at most ${issue.maximum} item(s)` : undefined;
    case "invalid_key":
      return `is not a valid key: ${issue.issues.map((i) => i.message).join("; ")}`;
    default:
      return undefined;
  }
}

/** `a.b[0].c` from zod's path segments. */
export function dottedPath(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((out, s) => (typeof s === "number" ? `${out}[${s}]` : out ? `${out}.${String(s)}` : String(s)), "");
}

/** The value at `segments` of `root`, own properties only (undefined when absent). */
export function valueAt(root: unknown, segments: readonly PropertyKey[]): unknown {
  let v = root;
  for (const s of segments) {
    if (typeof v !== "object" || v === null || !Object.hasOwn(v, s)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[s];
  }
  return v;
}

/** Checks `value` against `schema`: one problem per bad field, in the order of the schema's fields. */
export function schemaProblems(schema: z.ZodType, value: unknown): SchemaProblem[] {
  const result = schema.safeParse(value, { error: defaultRule });
  if (result.success) return [];
  return result.error.issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((k) => ({ path: dottedPath([...issue.path, k]), value: valueAt(value, [...issue.path, k]), rule: issue.message }));
    }
    const at = valueAt(value, issue.path);
    if (issue.code === "invalid_key") return [{ path: dottedPath(issue.path), value: issue.path[issue.path.length - 1], rule: issue.message }];
    // A discriminator that is missing: zod reports the union, the file's reader the field.
    if (issue.code === "invalid_union" && at === undefined) return [{ path: dottedPath(issue.path), value: undefined, rule: "is required" }];
    return [{ path: dottedPath(issue.path), value: at, rule: issue.message }];
  });
}

/** A value as a problem line shows it: strings quoted, everything else as JSON; a hidden one as why it is hidden. */
export function show(value: unknown): string {
  if (value instanceof HiddenValue) return `(value not shown: ${value.why})`;
  return typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
}

/** The value of an environment variable whose name looks like a secret is never printed. */
function shownValue(p: SchemaProblem): string {
  const variable = /(?:^|\.)environmentVariables\.([^.]+)(?:\.value)?$/.exec(p.path)?.[1];
  if (variable !== undefined && looksLikeSecret(variable)) return "(value not shown: the name looks like a secret)";
  return show(p.value);
}

/**
 * One problem line: `<file>[:<line>:<column>]: [environment "<env>": ]<path> <value> <rule>`.
 */
export function problemLine(file: string, env: string | undefined, p: SchemaProblem, locate?: FieldLocator): string {
  const position = locate?.(env, p.path);
  const at = position === undefined ? file : `${file}:${position.line}:${position.column}`;
  const where = env === undefined ? `${at}: ` : `${at}: environment "${env}": `;
  const subject = [p.path, p.value === undefined ? "" : shownValue(p)].filter(Boolean).join(" ");
  return `${where}${subject} ${p.rule}`;
}
