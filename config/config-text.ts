/**
 * Reads the text of the environments file: JSON with comments (`//` and `/* *\/`, no trailing
 * commas), parsed by jsonc-parser. A syntax error, a key given twice or a value nested too deep is
 * one line naming the file, line and column; the fields of a parsed file can be located by path.
 */
import { Node, ParseError, createScanner, parseTree, printParseErrorCode } from "jsonc-parser";

/** The scanner's token kinds this file reads (jsonc-parser's `SyntaxKind`, a const enum that isolated modules cannot read). */
const TOKEN = { openBrace: 1, closeBrace: 2, openBracket: 3, closeBracket: 4, comma: 5, colon: 6, string: 10, eof: 17 } as const;
import type { FieldLocator, FieldPosition } from "./problems";

/**
 * How deep objects and arrays may nest. The deepest field of a valid file
 * (`environments.<env>.build.<project>.triggers.push[0].events[0]`) is nine levels down; far
 * deeper input is refused before parsing, so it never exhausts the stack.
 */
export const MAX_NESTING = 20;

/** A parsed environments file, or the one line that says why it is not one. */
export type ConfigText = { readonly value: unknown; readonly locate: FieldLocator } | { readonly problem: string };

/** The 1-based line and column of `offset` in `text`, and the text of that line. */
function positionOf(text: string, offset: number): FieldPosition & { readonly lineText: string } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const start = before.lastIndexOf("\n") + 1;
  const end = text.indexOf("\n", start);
  const lineText = text.slice(start, end === -1 ? text.length : end).replace(/\r$/, "");
  return { line, column: offset - start + 1, lineText };
}

/** `file:line:column: message`, then the offending line and a caret under the column. */
function syntaxLine(file: string, text: string, offset: number, message: string): string {
  const { line, column, lineText } = positionOf(text, offset);
  const gutter = String(line);
  // Tabs keep their width in the caret line, so the caret sits under the character.
  const pad = lineText.slice(0, column - 1).replace(/[^\t]/g, " ");
  return [`${file}:${line}:${column}: ${message}`, `  ${gutter} | ${lineText}`, `  ${" ".repeat(gutter.length)} | ${pad}^`].join("\n");
}

/** What is at `offset`, for a message: `'x'`, `"'"` or `the end of the file`. */
function found(text: string, offset: number, length = 1): string {
  if (offset >= text.length) return "the end of the file";
  const shown = text.slice(offset, offset + Math.max(1, Math.min(length, 20)));
  return shown.includes("'") ? JSON.stringify(shown) : `'${shown}'`;
}

/** The offset of the last character before `offset` that is not white space (comments aside). */
function previousSignificant(text: string, offset: number): number {
  let i = offset - 1;
  while (i >= 0 && /\s/.test(text[i] as string)) i--;
  return i;
}

/** The message of jsonc-parser's first error, in the file's words, and where it points. */
function describeError(text: string, errors: readonly ParseError[], root: Node | undefined): { offset: number; message: string } {
  const e = errors[0] as ParseError;
  const at = found(text, e.offset, e.length);
  const closing = text[e.offset];
  if (["PropertyNameExpected", "ValueExpected"].includes(printParseErrorCode(e.error)) && (closing === "}" || closing === "]")) {
    const comma = previousSignificant(text, e.offset);
    if (text[comma] === ",") return { offset: comma, message: `a trailing comma is not allowed before ${closing}` };
  }
  const code = printParseErrorCode(e.error);
  const messages: Partial<Record<typeof code, string>> = {
    InvalidSymbol:
      text[e.offset] === "'"
        ? `strings must be in double quotes ("), not single quotes`
        : root !== undefined && e.offset >= root.offset + root.length
          ? `expected the end of the file after the top-level value, found ${at}`
          : errors[1] !== undefined && printParseErrorCode(errors[1].error) === "PropertyNameExpected"
            ? `expected a property name in double quotes, found ${at}`
            : `${at} is not JSON: names and strings are in double quotes, other values are numbers, objects, arrays, true, false or null`,
    InvalidNumberFormat: `${at} is not a JSON number`,
    PropertyNameExpected: `expected a property name in double quotes, found ${at}`,
    ValueExpected: `expected a value (a string, number, object, array, true, false or null), found ${at}`,
    ColonExpected: `expected ":" after the property name, found ${at}`,
    CommaExpected: `expected "," between two values, found ${at}`,
    CloseBraceExpected: `expected "," or "}", found ${at}`,
    CloseBracketExpected: `expected "," or "]", found ${at}`,
    EndOfFileExpected: `expected the end of the file after the top-level value, found ${at}`,
    InvalidCommentToken: "a comment is not allowed here",
    UnexpectedEndOfComment: "a /* comment is not closed (*/)",
    UnexpectedEndOfString: 'a string is not closed (") on its line',
    UnexpectedEndOfNumber: `${at} is not a JSON number`,
    InvalidUnicode: "\\u must be followed by 4 hexadecimal digits",
    InvalidEscapeCharacter: `${at} is not a JSON escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`,
    InvalidCharacter: "a control character must be escaped inside a string",
  };
  return { offset: e.offset, message: messages[code] ?? `syntax error, found ${at}` };
}

/** A path for a message: `environment "x": a.b[0]` below an environment, else the dotted path. */
function describePath(segments: readonly (string | number)[]): string {
  const dotted = (s: readonly (string | number)[]) => s.reduce<string>((o, k) => (typeof k === "number" ? `${o}[${k}]` : o ? `${o}.${k}` : k), "");
  if (segments[0] === "environments" && typeof segments[1] === "string") {
    return segments.length > 2 ? `environment ${JSON.stringify(segments[1])}: ${dotted(segments.slice(2))}` : `environment ${JSON.stringify(segments[1])}`;
  }
  return segments.length === 0 ? "the top-level value" : dotted(segments);
}

/**
 * Finds the first object or array nested deeper than {@link MAX_NESTING}, with a scanner (no
 * recursion): its offset and the path of the field that holds it.
 */
function tooDeep(text: string): { offset: number; path: (string | number)[] } | undefined {
  const scanner = createScanner(text, true);
  const frames: { key: string | number | undefined; array: boolean }[] = [];
  let lastString: string | undefined;
  for (let kind = scanner.scan(); kind !== TOKEN.eof; kind = scanner.scan()) {
    const top = frames[frames.length - 1];
    if (kind === TOKEN.openBrace || kind === TOKEN.openBracket) {
      if (frames.length >= MAX_NESTING) return { offset: scanner.getTokenOffset(), path: frames.map((f) => f.key ?? "?") };
      frames.push({ key: undefined, array: kind === TOKEN.openBracket });
      if (kind === TOKEN.openBracket) (frames[frames.length - 1] as { key: number }).key = 0;
    } else if (kind === TOKEN.closeBrace || kind === TOKEN.closeBracket) {
      frames.pop();
    } else if (kind === TOKEN.string) {
      lastString = scanner.getTokenValue();
    } else if (kind === TOKEN.colon && top !== undefined && !top.array) {
      top.key = lastString;
    } else if (kind === TOKEN.comma && top !== undefined && top.array) {
      top.key = (top.key as number) + 1;
    }
  }
  return undefined;
}

/** The first key given twice in one object, at its second occurrence. */
function duplicateKey(node: Node): Node | undefined {
  if (node.type === "object") {
    const seen = new Set<string>();
    for (const property of node.children ?? []) {
      const key = property.children?.[0];
      if (key === undefined) continue;
      if (seen.has(key.value)) return key;
      seen.add(key.value);
    }
  }
  for (const child of node.children ?? []) {
    const duplicate = duplicateKey(child);
    if (duplicate !== undefined) return duplicate;
  }
  return undefined;
}

/** The value of a node; keys are defined as own properties, so `__proto__` stays a plain key. */
function valueOf(node: Node): unknown {
  if (node.type === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, value] of (node.children ?? []).map((p) => p.children ?? [])) {
      if (key === undefined || value === undefined) continue;
      Object.defineProperty(out, key.value as string, { value: valueOf(value), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (node.type === "array") return (node.children ?? []).map(valueOf);
  return node.value;
}

/** The item or property of `node` that `rest` starts with (the longest key, as keys may hold dots). */
function childAt(node: Node, rest: string): { node: Node; offset: number; rest: string } | undefined {
  if (node.type === "array") {
    const m = /^\[(\d+)\]\.?/.exec(rest);
    const item = m ? node.children?.[Number(m[1])] : undefined;
    return item && m ? { node: item, offset: item.offset, rest: rest.slice(m[0].length) } : undefined;
  }
  let best: { node: Node; offset: number; rest: string; length: number } | undefined;
  for (const [key, value] of node.type === "object" ? (node.children ?? []).map((p) => p.children ?? []) : []) {
    const k = key?.value as string | undefined;
    if (key === undefined || k === undefined || value === undefined) continue;
    if (!(rest === k || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`)) || (best !== undefined && best.length >= k.length)) continue;
    best = { node: value, offset: key.offset, rest: rest.slice(k.length).replace(/^\./, ""), length: k.length };
  }
  return best;
}

/** Locates fields by path: the key of the field (an item itself), or of its nearest present holder. */
function locator(text: string, root: Node): FieldLocator {
  return (env, path) => {
    let node = root;
    let offset = root.offset;
    for (const step of env === undefined ? [] : ["environments", env]) {
      const next = childAt(node, step);
      if (next === undefined || next.rest !== "") return undefined;
      ({ node, offset } = next);
    }
    for (let rest = path, next = childAt(node, rest); rest !== "" && next !== undefined; next = childAt(node, rest)) {
      ({ node, offset, rest } = next);
    }
    const { line, column } = positionOf(text, offset);
    return { line, column };
  };
}

/** Parses the text of an environments file named `file`. */
export function parseConfigText(file: string, text: string): ConfigText {
  const deep = tooDeep(text);
  if (deep !== undefined) {
    const { line, column } = positionOf(text, deep.offset);
    return { problem: `${file}:${line}:${column}: ${describePath(deep.path)} is nested more than ${MAX_NESTING} levels deep (objects and arrays); a config value nests far less` };
  }
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: false });
  const first = errors[0];
  if (first !== undefined || root === undefined) {
    const { offset, message } = first === undefined ? { offset: 0, message: "the file is empty" } : describeError(text, errors, root);
    return { problem: syntaxLine(file, text, offset, message) };
  }
  const duplicate = duplicateKey(root);
  if (duplicate !== undefined) return { problem: syntaxLine(file, text, duplicate.offset, `the key ${JSON.stringify(duplicate.value)} appears twice in this object`) };
  return { value: valueOf(root), locate: locator(text, root) };
}
