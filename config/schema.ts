/**
 * A small declarative schema for the environments file: each field's type and rule, so that
 * every bad field yields exactly one line naming where it is, its value and the rule it breaks.
 */

/** One field's expected shape. */
export type Spec =
  | { readonly kind: "string"; readonly test?: (v: string) => boolean; readonly rule?: string }
  | { readonly kind: "int"; readonly min: number; readonly max: number; readonly oneOf?: readonly number[] }
  | { readonly kind: "bool" }
  | { readonly kind: "enum"; readonly values: readonly string[] }
  | { readonly kind: "array"; readonly items: Spec; readonly minItems?: number; readonly maxItems?: number; readonly unique?: string }
  | { readonly kind: "map"; readonly values: Spec; readonly keyTest?: (k: string) => boolean; readonly keyRule?: string }
  | { readonly kind: "object"; readonly fields: Readonly<Record<string, Field>> };

/** A field of an object: its spec and whether it must be present. */
export interface Field {
  readonly spec: Spec;
  readonly required?: boolean;
}

/** Shorthands for building specs. */
export const s = {
  str: (test?: (v: string) => boolean, rule?: string): Spec => ({ kind: "string", test, rule }),
  pattern: (re: RegExp, rule: string): Spec => ({ kind: "string", test: (v) => re.test(v), rule }),
  int: (min: number, max: number, oneOf?: readonly number[]): Spec => ({ kind: "int", min, max, oneOf }),
  bool: (): Spec => ({ kind: "bool" }),
  oneOf: (values: readonly string[]): Spec => ({ kind: "enum", values }),
  array: (items: Spec, opts: { minItems?: number; maxItems?: number; unique?: string } = {}): Spec => ({ kind: "array", items, ...opts }),
  map: (values: Spec, keyTest?: (k: string) => boolean, keyRule?: string): Spec => ({ kind: "map", values, keyTest, keyRule }),
  obj: (fields: Record<string, Field | Spec>): Spec => ({
    kind: "object",
    fields: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, "spec" in f ? f : { spec: f }])),
  }),
  req: (spec: Spec): Field => ({ spec, required: true }),
};

/** A problem: the dotted path of the field, its value and the rule. */
export interface SchemaProblem {
  readonly path: string;
  readonly value: unknown;
  readonly rule: string;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** Checks `value` against `spec`, appending one problem per bad field to `out`. */
export function check(spec: Spec, value: unknown, path: string, out: SchemaProblem[]): void {
  const bad = (rule: string): void => {
    out.push({ path, value, rule });
  };
  switch (spec.kind) {
    case "string":
      if (typeof value !== "string") return bad(`must be a string, not ${typeName(value)}`);
      if (spec.test && !spec.test(value)) bad(spec.rule ?? "is not valid");
      return;
    case "int":
      if (typeof value !== "number") return bad(`must be a whole number, not ${typeName(value)}`);
      if (!Number.isInteger(value)) return bad("must be a whole number");
      if (spec.oneOf && !spec.oneOf.includes(value)) return bad(`must be one of ${spec.oneOf.join(", ")}`);
      if (value < spec.min || value > spec.max) bad(`must be from ${spec.min} to ${spec.max}`);
      return;
    case "bool":
      if (typeof value !== "boolean") bad(`must be true or false, not ${typeName(value)}`);
      return;
    case "enum":
      if (typeof value !== "string" || !spec.values.includes(value)) bad(`must be one of ${spec.values.join(", ")}`);
      return;
    case "array": {
      if (!Array.isArray(value)) return bad(`must be an array, not ${typeName(value)}`);
      if (spec.minItems !== undefined && value.length < spec.minItems) bad(`must have at least ${spec.minItems} item(s)`);
      if (spec.maxItems !== undefined && value.length > spec.maxItems) bad(`must have at most ${spec.maxItems} item(s)`);
      const seen = new Set<unknown>();
      value.forEach((item, i) => {
        check(spec.items, item, `${path}[${i}]`, out);
        if (spec.unique && seen.has(item)) out.push({ path: `${path}[${i}]`, value: item, rule: `is a duplicate ${spec.unique}` });
        seen.add(item);
      });
      return;
    }
    case "map":
      if (typeof value !== "object" || value === null || Array.isArray(value)) return bad(`must be an object, not ${typeName(value)}`);
      for (const [k, v] of Object.entries(value)) {
        if (spec.keyTest && !spec.keyTest(k)) out.push({ path: `${path}.${k}`, value: k, rule: `is not a valid key: ${spec.keyRule ?? "bad key"}` });
        check(spec.values, v, `${path}.${k}`, out);
      }
      return;
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return bad(`must be an object, not ${typeName(value)}`);
      const obj = value as Record<string, unknown>;
      for (const [k, v] of Object.entries(obj)) {
        const field = spec.fields[k];
        if (!field) {
          out.push({ path: path ? `${path}.${k}` : k, value: v, rule: `is an unknown key (known: ${Object.keys(spec.fields).join(", ")})` });
          continue;
        }
        check(field.spec, v, path ? `${path}.${k}` : k, out);
      }
      for (const [k, f] of Object.entries(spec.fields)) {
        if (f.required && !(k in obj)) out.push({ path: path ? `${path}.${k}` : k, value: undefined, rule: "is required" });
      }
      return;
    }
  }
}
