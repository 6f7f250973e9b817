import { IConstruct } from "constructs";
import { DefaultTokenResolver, StringConcat, TerraformStack, Token, Tokenization } from "cdktf";

const RESOLVER = new DefaultTokenResolver(new StringConcat());

/**
 * `obj` with its tokens resolved in `scope` (a reference becomes its Terraform expression), through
 * cdktf's public Tokenization API.
 */
export function resolveIn<T>(scope: IConstruct, obj: T): T {
  return Tokenization.resolve(obj, { scope, resolver: RESOLVER });
}

/**
 * A value an error message must not print (a secret, or where a secret lives): messages show
 * `(value not shown: <why>)` in its place.
 */
export class HiddenValue {
  constructor(public readonly why: string) {}
}

/**
 * Renders a literal value for an error message: strings quoted, everything else as JSON; a
 * {@link HiddenValue} as `(value not shown: <why>)`.
 */
export function show(value: unknown): string {
  if (value instanceof HiddenValue) return `(value not shown: ${value.why})`;
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "undefined";
  return JSON.stringify(value) ?? String(value);
}

/**
 * A value for a message: a literal as it is, a token as the Terraform expression it becomes
 * (`${aws_ecr_repository.Repo_1234.arn}`), never as `${TfToken[...]}`.
 */
export function readable(scope: IConstruct, value: string): string {
  if (!isToken(value)) return value;
  const resolved = resolveIn(TerraformStack.of(scope), value);
  return typeof resolved === "string" ? resolved : JSON.stringify(resolved);
}

/** True when `value` is (or contains) an unresolved CDKTF token, so it cannot be checked at synth. */
export function isToken(value: unknown): boolean {
  return Token.isUnresolved(value);
}

/**
 * Collects every problem with a construct's props and throws once, with one line per problem.
 *
 * Each line reads `<Construct> '<id>': <prop> <value> <rule>`, e.g.
 * `EcrRepo 'app': repositoryName "My_Repo" must be lowercase (ECR naming rules)`.
 */
/** Where a construct's prop checks record their problems (one line each, thrown together). */
export interface IPropProblems {
  /** Records that `prop` with `value` breaks `rule`. */
  add(prop: string, value: unknown, rule: string): void;
  /** Records the problem unless `ok`. */
  check(ok: boolean, prop: string, value: unknown, rule: string): void;
}

export class PropProblems implements IPropProblems {
  private readonly lines: string[] = [];

  constructor(
    private readonly constructName: string,
    private readonly id: string,
  ) {}

  /**
   * Records a problem unless `ok` is true. Unresolved tokens are never checked.
   */
  public check(ok: boolean, prop: string, value: unknown, rule: string): void {
    if (ok || isToken(value)) return;
    this.add(prop, value, rule);
  }

  /** Records a problem unconditionally. */
  public add(prop: string, value: unknown, rule: string): void {
    this.lines.push(`${this.constructName} '${this.id}': ${prop} ${show(value)} ${rule}`);
    const recorded = RECORDED.get(this) ?? [];
    recorded.push({ construct: this.constructName, id: this.id, prop, value, rule });
    RECORDED.set(this, recorded);
  }

  /** The problems recorded so far, one line each. */
  public get messages(): readonly string[] {
    return this.lines;
  }

  /** Throws a {@link PropValidationError} carrying every recorded problem, if there is any. */
  public throwIfAny(): void {
    if (this.lines.length === 0) return;
    const error = new PropValidationError(this.lines);
    DETAILS.set(error, RECORDED.get(this) ?? []);
    throw error;
  }
}

/** An error thrown by a construct whose literal props break a rule. One line per problem. */
export class PropValidationError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "PropValidationError";
  }
}

/** One problem of a construct's props as data: the construct, the prop, its value and the rule. */
export interface PropProblemDetail {
  /** The construct's class, e.g. `EcrRepo`. */
  readonly construct: string;
  /** The construct's id, e.g. `Repository`. */
  readonly id: string;
  /** The prop's path, e.g. `source.location`. */
  readonly prop: string;
  readonly value: unknown;
  readonly rule: string;
}

// Kept beside the classes rather than in them, so the package's public API stays as it is.
const RECORDED = new WeakMap<PropProblems, PropProblemDetail[]>();
const DETAILS = new WeakMap<PropValidationError, readonly (PropProblemDetail | undefined)[]>();

/**
 * The problems of a {@link PropValidationError} as data, one entry per line of `problems`
 * (undefined for a line that was not recorded by {@link PropProblems}).
 */
export function propProblemDetails(error: PropValidationError): readonly (PropProblemDetail | undefined)[] {
  const details = DETAILS.get(error);
  return error.problems.map((_, i) => details?.[i]);
}

/**
 * The problems `problems` recorded, as data (a construct's pure prop check returns these; its
 * constructor throws them). Internal: not exported from the package.
 */
export function recordedProblems(problems: PropProblems): readonly PropProblemDetail[] {
  return RECORDED.get(problems) ?? [];
}

/** Throws a {@link PropValidationError} of `details`, if there is any (the constructor's side of a pure prop check). */
export function throwPropProblems(details: readonly PropProblemDetail[]): void {
  if (details.length === 0) return;
  const error = new PropValidationError(details.map((d) => `${d.construct} '${d.id}': ${d.prop} ${show(d.value)} ${d.rule}`));
  DETAILS.set(error, details);
  throw error;
}

/** One {@link PropValidationError} holding the problems (lines and data) of several. */
export function combinedPropValidationError(errors: readonly PropValidationError[]): PropValidationError {
  const combined = new PropValidationError(errors.flatMap((e) => e.problems));
  DETAILS.set(combined, errors.flatMap(propProblemDetails));
  return combined;
}

/** Checks an integer prop against an inclusive range; tokens and undefined pass. */
export function checkIntRange(
  problems: IPropProblems,
  prop: string,
  value: number | undefined,
  min: number,
  max: number,
  unit = "",
): void {
  if (value === undefined) return;
  const suffix = unit ? ` ${unit}` : "";
  problems.check(
    Number.isInteger(value) && value >= min && value <= max,
    prop,
    value,
    `must be a whole number from ${min} to ${max}${suffix}`,
  );
}

/** AWS account IDs are exactly 12 digits. */
export const ACCOUNT_ID_PATTERN = /^\d{12}$/;

/** AWS Organization IDs: `o-` and 10 to 32 lowercase letters or digits. */
export const ORGANIZATION_ID_PATTERN = /^o-[a-z0-9]{10,32}$/;

/** A loose ARN shape check: `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export const ARN_PATTERN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/;

/**
 * Escapes Terraform template sequences (`${`, `%{`) in a literal string, so text such as a
 * buildspec's shell `${VAR}` reaches AWS unchanged instead of being read as interpolation.
 * Strings holding CDKTF tokens are returned as they are (their `${…}` are meant).
 */
export function literal(value: string): string {
  if (isToken(value)) return value;
  return value.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}
