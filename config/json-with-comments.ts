/**
 * The parser of the environments file: JSON with comments (`//` to the end of the line and
 * `/* … *\/`), as VS Code's `jsonc`, but without trailing commas. Unlike `JSON.parse` it reports
 * where a problem is (line and column, with the offending line) and refuses a key given twice in
 * one object, which `JSON.parse` silently resolves to the last value (a second environment of
 * the same name would replace the first without a word).
 */

/** A syntax error at a character offset of the text. */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    /** The offset (0-based) of the offending character. */
    public readonly offset: number,
  ) {
    super(message);
    this.name = "JsonSyntaxError";
  }
}

/** Where an offset is: 1-based line and column, and the text of that line. */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
  readonly lineText: string;
}

/** The line and column (1-based) of `offset` in `text`. */
export function positionOf(text: string, offset: number): TextPosition {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const start = before.lastIndexOf("\n") + 1;
  const end = text.indexOf("\n", start);
  const lineText = text.slice(start, end === -1 ? text.length : end).replace(/\r$/, "");
  return { line, column: offset - start + 1, lineText };
}

/**
 * One problem line for a syntax error: `file:line:column: message`, then the offending line and
 * a caret under the column.
 */
export function describeSyntaxError(file: string, text: string, e: JsonSyntaxError): string {
  const { line, column, lineText } = positionOf(text, e.offset);
  const gutter = String(line);
  // Tabs keep their width in the caret line, so the caret sits under the character.
  const pad = lineText.slice(0, column - 1).replace(/[^\t]/g, " ");
  return [`${file}:${line}:${column}: ${e.message}`, `  ${gutter} | ${lineText}`, `  ${" ".repeat(gutter.length)} | ${pad}^`].join("\n");
}

const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/** Parses JSON with comments; throws a {@link JsonSyntaxError} at the first problem. */
export function parseJsonWithComments(text: string): unknown {
  let i = 0;
  const fail = (message: string, at = i): never => {
    throw new JsonSyntaxError(message, at);
  };
  const describe = (at: number): string => {
    if (at >= text.length) return "the end of the file";
    return text[at] === "'" ? `"'"` : `'${text[at]}'`;
  };

  const skip = (): void => {
    for (;;) {
      const c = text[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\ufeff") {
        i++;
      } else if (c === "/" && text[i + 1] === "/") {
        while (i < text.length && text[i] !== "\n") i++;
      } else if (c === "/" && text[i + 1] === "*") {
        const end = text.indexOf("*/", i + 2);
        if (end === -1) fail("a /* comment is not closed (*/)");
        i = end + 2;
      } else {
        return;
      }
    }
  };

  const parseString = (): string => {
    const start = i;
    i++; // the opening quote
    let out = "";
    for (;;) {
      const c = text[i];
      if (c === undefined || c === "\n") fail("a string is not closed (\")", start);
      if (c === '"') {
        i++;
        return out;
      }
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "u") {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("\\u must be followed by 4 hexadecimal digits");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && ESCAPES[e] !== undefined) {
          out += ESCAPES[e];
          i += 2;
        } else {
          fail(`${JSON.stringify(`\\${e ?? ""}`)} is not a JSON escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`);
        }
      } else if (c < " ") {
        fail("a control character must be escaped inside a string");
      } else {
        out += c;
        i++;
      }
    }
  };

  const parseValue = (): unknown => {
    skip();
    const c = text[i];
    if (c === "{") return parseObject();
    if (c === "[") return parseArray();
    if (c === '"') return parseString();
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (number && (c === "-" || (c >= "0" && c <= "9"))) {
      i += number[0].length;
      return Number(number[0]);
    }
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    if (c === "'") return fail("strings must be in double quotes (\"), not single quotes");
    return fail(`expected a value (a string, number, object, array, true, false or null), found ${describe(i)}`);
  };

  const parseObject = (): Record<string, unknown> => {
    i++; // {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    skip();
    if (text[i] === "}") {
      i++;
      return out;
    }
    let comma = -1;
    for (;;) {
      skip();
      if (text[i] === "}" && comma >= 0) fail("a trailing comma is not allowed before }", comma);
      if (text[i] !== '"') fail(`expected a property name in double quotes, found ${describe(i)}`);
      const keyAt = i;
      const key = parseString();
      if (seen.has(key)) fail(`the key ${JSON.stringify(key)} appears twice in this object`, keyAt);
      seen.add(key);
      skip();
      if (text[i] !== ":") fail(`expected ":" after the property name ${JSON.stringify(key)}, found ${describe(i)}`);
      i++;
      Object.defineProperty(out, key, { value: parseValue(), enumerable: true, writable: true, configurable: true });
      skip();
      if (text[i] === ",") {
        comma = i++;
        continue;
      }
      if (text[i] === "}") {
        i++;
        return out;
      }
      fail(`expected "," or "}" after the value of ${JSON.stringify(key)}, found ${describe(i)}`);
    }
  };

  const parseArray = (): unknown[] => {
    i++; // [
    const out: unknown[] = [];
    skip();
    if (text[i] === "]") {
      i++;
      return out;
    }
    let comma = -1;
    for (;;) {
      skip();
      if (text[i] === "]" && comma >= 0) fail("a trailing comma is not allowed before ]", comma);
      out.push(parseValue());
      skip();
      if (text[i] === ",") {
        comma = i++;
        continue;
      }
      if (text[i] === "]") {
        i++;
        return out;
      }
      fail(`expected "," or "]" after an array item, found ${describe(i)}`);
    }
  };

  const value = parseValue();
  skip();
  if (i < text.length) fail(`expected the end of the file after the top-level value, found ${describe(i)}`);
  return value;
}
