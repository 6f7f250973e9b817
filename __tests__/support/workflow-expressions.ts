/**
 * GitHub Actions expressions (`${{ … }}`), as far as the project's workflow uses them: literals,
 * context paths (`needs.stacks.outputs.plan0`), index access (`fromJSON(x)[matrix.stack]`), `!`,
 * `==` / `!=` / `<` / `>` (strings compared case-insensitively, other mixes as numbers), `&&` and
 * `||` (returning an operand, as GitHub does), and the functions always(), success(), failure(),
 * cancelled(), fromJSON(), toJSON(), format(), contains(), startsWith(), endsWith(), hashFiles().
 * Anything else throws, so a workflow the harness cannot read fails loudly.
 */
import * as fs from "fs";
import * as path from "path";

/** What the status functions and hashFiles() see. */
export interface ExpressionScope {
  readonly contexts: Readonly<Record<string, unknown>>;
  /** always() / success() / failure() / cancelled() of the job or step being decided. */
  readonly status?: { readonly success: boolean; readonly failure: boolean; readonly cancelled: boolean };
  /** The folder hashFiles() looks in (GITHUB_WORKSPACE). */
  readonly workspace?: string;
}

type Token = { kind: "num" | "str" | "id" | "op"; value: string };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated string in expression: ${text}`);
        if (text[i] === "'" && text[i + 1] === "'") (s += "'"), (i += 2);
        else if (text[i] === "'") break;
        else s += text[i++];
      }
      i++;
      out.push({ kind: "str", value: s });
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9.]+/.exec(text.slice(i))![0];
      out.push({ kind: "num", value: m });
      i += m.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i))![0];
      out.push({ kind: "id", value: m });
      i += m.length;
    } else {
      const two = text.slice(i, i + 2);
      if (["==", "!=", "&&", "||", "<=", ">="].includes(two)) (out.push({ kind: "op", value: two }), (i += 2));
      else if ("!<>()[].,".includes(c)) (out.push({ kind: "op", value: c }), i++);
      else throw new Error(`unexpected ${JSON.stringify(c)} in expression: ${text}`);
    }
  }
  return out;
}

/** GitHub's truthiness: false, 0, "", null are false. */
export function truthy(v: unknown): boolean {
  return !(v === false || v === 0 || v === "" || v === null || v === undefined || Number.isNaN(v));
}

function toNumber(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return v;
  if (typeof v === "string") return v.trim() === "" ? 0 : Number(v);
  return NaN;
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === "string" && typeof b === "string") {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x === y ? 0 : x < y ? -1 : 1;
  }
  const x = toNumber(a);
  const y = toNumber(b);
  return x === y ? 0 : x < y ? -1 : x > y ? 1 : NaN;
}

/** A value as it is interpolated into a string. */
export function asText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v, null, 2);
  return String(v);
}

function property(v: unknown, key: unknown): unknown {
  if (v === null || v === undefined || typeof v !== "object") return null;
  const k = String(key);
  const found = Object.entries(v as object).find(([name]) => name.toLowerCase() === k.toLowerCase());
  return found === undefined ? null : found[1];
}

function hashFiles(workspace: string | undefined, patterns: string[]): string {
  if (!workspace) throw new Error("hashFiles() needs a workspace");
  const glob = patterns.find((p) => /[*?[]/.test(p));
  if (glob !== undefined) throw new Error(`hashFiles(${glob}): the workflow harness knows literal paths only`);
  const found = patterns.filter((p) => fs.existsSync(path.join(workspace, p)) && fs.statSync(path.join(workspace, p)).isFile());
  return found.length ? `hash-of-${found.join(",")}` : "";
}

/** Evaluates one expression (without `${{ }}`). */
export function evaluate(text: string, scope: ExpressionScope): unknown {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const eat = (op: string) => {
    if (peek()?.value !== op || peek()?.kind === "str") throw new Error(`expected ${op} at token ${pos} in expression: ${text}`);
    pos++;
  };
  const orExpr = (): unknown => {
    let v = andExpr();
    while (peek()?.kind === "op" && peek().value === "||") {
      pos++;
      const r = andExpr();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const andExpr = (): unknown => {
    let v = cmpExpr();
    while (peek()?.kind === "op" && peek().value === "&&") {
      pos++;
      const r = cmpExpr();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const cmpExpr = (): unknown => {
    const left = unary();
    const op = peek();
    if (op?.kind === "op" && ["==", "!=", "<", ">", "<=", ">="].includes(op.value)) {
      pos++;
      const c = compare(left, unary());
      return { "==": c === 0, "!=": c !== 0, "<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0 }[op.value];
    }
    return left;
  };
  const unary = (): unknown => {
    if (peek()?.kind === "op" && peek().value === "!") {
      pos++;
      return !truthy(unary());
    }
    return postfix();
  };
  const postfix = (): unknown => {
    let v = primary();
    for (;;) {
      const t = peek();
      if (t?.kind === "op" && t.value === ".") {
        pos++;
        v = property(v, tokens[pos++].value);
      } else if (t?.kind === "op" && t.value === "[") {
        pos++;
        const key = orExpr();
        eat("]");
        v = property(v, key);
      } else return v;
    }
  };
  const primary = (): unknown => {
    const t = tokens[pos++];
    if (t === undefined) throw new Error(`unexpected end of expression: ${text}`);
    if (t.kind === "str") return t.value;
    if (t.kind === "num") return Number(t.value);
    if (t.kind === "op" && t.value === "(") {
      const v = orExpr();
      eat(")");
      return v;
    }
    if (t.kind !== "id") throw new Error(`unexpected ${t.value} in expression: ${text}`);
    if (t.value === "true") return true;
    if (t.value === "false") return false;
    if (t.value === "null") return null;
    if (peek()?.kind === "op" && peek().value === "(") {
      pos++;
      const args: unknown[] = [];
      while (!(peek()?.kind === "op" && peek().value === ")")) {
        args.push(orExpr());
        if (peek()?.kind === "op" && peek().value === ",") pos++;
      }
      eat(")");
      return call(t.value, args);
    }
    return property(scope.contexts, t.value);
  };
  const call = (name: string, args: unknown[]): unknown => {
    const status = scope.status ?? { success: true, failure: false, cancelled: false };
    switch (name.toLowerCase()) {
      case "always":
        return true;
      case "success":
        return status.success;
      case "failure":
        return status.failure;
      case "cancelled":
        return status.cancelled;
      case "fromjson":
        return JSON.parse(asText(args[0]));
      case "tojson":
        return JSON.stringify(args[0] ?? null, null, 2);
      case "format":
        return asText(args[0]).replace(/\{(\d+)\}/g, (_, i) => asText(args[1 + Number(i)]));
      case "contains":
        return Array.isArray(args[0]) ? args[0].some((x) => compare(x, args[1]) === 0) : asText(args[0]).toLowerCase().includes(asText(args[1]).toLowerCase());
      case "startswith":
        return asText(args[0]).toLowerCase().startsWith(asText(args[1]).toLowerCase());
      case "endswith":
        return asText(args[0]).toLowerCase().endsWith(asText(args[1]).toLowerCase());
      case "hashfiles":
        return hashFiles(scope.workspace, args.map(asText));
      default:
        throw new Error(`function ${name}() is not known to the workflow harness: add it`);
    }
  };
  const v = orExpr();
  if (pos !== tokens.length) throw new Error(`unexpected ${tokens[pos].value} in expression: ${text}`);
  return v;
}

/** A string with its `${{ … }}` parts evaluated; a string that is one whole expression keeps the value's type. */
export function interpolate(text: unknown, scope: ExpressionScope): unknown {
  if (typeof text !== "string") return text;
  const whole = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/.exec(text);
  if (whole && !whole[1].includes("}}")) return evaluate(whole[1], scope);
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e) => asText(evaluate(e, scope)));
}

/** An `if:` condition: GitHub adds `success() &&` unless it names a status function. */
export function condition(text: unknown, scope: ExpressionScope): boolean {
  if (text === undefined || text === null) return truthy(evaluate("success()", scope));
  const raw = String(text).trim().replace(/^\$\{\{([\s\S]*)\}\}$/, "$1");
  const withStatus = /\b(always|success|failure|cancelled)\s*\(/.test(raw) ? raw : `success() && (${raw})`;
  return truthy(evaluate(withStatus, scope));
}
