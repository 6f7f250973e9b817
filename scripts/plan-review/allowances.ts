/**
 * The reviewed allowances file (`deploy-allowances.json` at the project root, or `ALLOWANCES_FILE`,
 * or `merge-reviews --allowances FILE`): the destructions and empty states a pull request allows,
 * reviewed like code. `merge-reviews` decides with it and records it in summary.json, which
 * `npm run deploy -- --plans` honours.
 *
 * ```json
 * { "allowDestroy": ["prod-eu-west-1:aws_ecr_repository.Repository_22E53BBD"], "allowEmptyState": [], "reason": "why" }
 * ```
 */
import * as fs from "fs";
import * as path from "path";
import { parseConfigText } from "../../config/config-text";
import { problemLine, type FieldLocator } from "../../config/problems";
import type { Allowances } from "./review";

/** The variable that names another allowances file. */
export const ALLOWANCES_FILE_VARIABLE = "ALLOWANCES_FILE";
/** The allowances file at the project root. */
export const DEFAULT_ALLOWANCES_FILE = "deploy-allowances.json";

/** The allowances a file holds, where it is and why. */
export interface AllowancesFile extends Allowances {
  /** The file as given (relative to the project root when it is the default). */
  readonly file: string;
  readonly reason: string;
}

const STACK = "[a-z][a-z0-9-]*-[a-z]{2}(-gov)?-[a-z]+-\\d";
/** `<stack>:<resource address>`. */
export const DESTROY_ENTRY = new RegExp(`^${STACK}:[\\w.[\\]"-]+$`);
/** `<environment>-<region>`. */
export const STACK_ENTRY = new RegExp(`^${STACK}$`);
const FIELDS = ["allowDestroy", "allowEmptyState", "reason"];

/** The problems of an allowances file's text, one line each (`file:line:col: field value rule`), and its allowances when there are none. */
export function parseAllowances(file: string, text: string): { allowances?: AllowancesFile; problems: string[] } {
  const parsed = parseConfigText(file, text);
  if ("problem" in parsed) return { problems: [parsed.problem] };
  const locate: FieldLocator = parsed.locate;
  const line = (p: string, value: unknown, rule: string) => problemLine(file, undefined, { path: p, value, rule }, locate);
  const v = parsed.value as Record<string, unknown>;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    return { problems: [line("the top-level value", undefined, 'must be an object: { "allowDestroy": ["<stack>:<address>"], "allowEmptyState": ["<stack>"], "reason": "why" }')] };
  }
  const problems: string[] = [];
  for (const k of Object.keys(v)) if (!FIELDS.includes(k)) problems.push(line(k, undefined, `is not a field of the allowances file (fields: ${FIELDS.join(", ")})`));
  const list = (field: "allowDestroy" | "allowEmptyState", pattern: RegExp, rule: string): string[] => {
    const items = v[field];
    if (items === undefined) return [];
    if (!Array.isArray(items)) {
      problems.push(line(field, items, `must be an array of ${field === "allowDestroy" ? '"<stack>:<address>"' : '"<stack>"'}`));
      return [];
    }
    const out: string[] = [];
    items.forEach((item, i) => {
      if (typeof item !== "string" || !pattern.test(item)) problems.push(line(`${field}[${i}]`, item, rule));
      else if (out.includes(item)) problems.push(line(`${field}[${i}]`, item, "is listed twice"));
      else out.push(item);
    });
    return out;
  };
  const allowDestroy = list("allowDestroy", DESTROY_ENTRY, "must be <stack>:<resource address>, e.g. prod-eu-west-1:aws_ecr_repository.Repository_22E53BBD");
  const allowEmptyState = list("allowEmptyState", STACK_ENTRY, "must be a stack name <environment>-<region>, e.g. prod-eu-west-1");
  const reason = v.reason;
  if (reason !== undefined && typeof reason !== "string") problems.push(line("reason", reason, "must be a string (why these are allowed)"));
  else if ((allowDestroy.length || allowEmptyState.length) && (typeof reason !== "string" || reason.trim() === "")) {
    problems.push(line("reason", reason ?? undefined, "must say why (a non-empty string) when anything is allowed"));
  }
  if (problems.length) return { problems };
  return { allowances: { file, allowDestroy, allowEmptyState, reason: typeof reason === "string" ? reason : "" }, problems: [] };
}

/**
 * The allowances file of a run: `flag` (merge-reviews --allowances), else ALLOWANCES_FILE, else
 * deploy-allowances.json in `root` when it exists. Undefined when there is none; throws one line
 * per problem (a named file that does not exist, a bad field).
 */
export function readAllowances(root: string, env: NodeJS.ProcessEnv, flag?: string): AllowancesFile | undefined {
  const fromEnv = env[ALLOWANCES_FILE_VARIABLE];
  const [given, source] = flag !== undefined ? [flag, "--allowances"] : fromEnv ? [fromEnv, ALLOWANCES_FILE_VARIABLE] : [undefined, undefined];
  const file = given ?? path.join(root, DEFAULT_ALLOWANCES_FILE);
  if (!fs.existsSync(file)) {
    if (given === undefined) return undefined;
    throw new Error(`${source} ${JSON.stringify(given)}: no such file (the reviewed allowances, e.g. ${DEFAULT_ALLOWANCES_FILE})`);
  }
  const shown = given ?? DEFAULT_ALLOWANCES_FILE;
  const { allowances, problems } = parseAllowances(shown, fs.readFileSync(file, "utf8"));
  if (problems.length) throw new Error(problems.join("\n"));
  return allowances;
}
