import { Testing, TerraformStack } from "cdktf";
import { resolve } from "cdktf/lib/_tokens";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";

/** A parsed synthesized stack (Terraform JSON). */
export interface Synthesized {
  resource: Record<string, Record<string, any>>;
  data: Record<string, Record<string, any>>;
  output?: Record<string, any>;
  provider?: Record<string, any>;
  terraform?: Record<string, any>;
}

/** A fresh app and stack (with an AWS provider) to build constructs in. */
export function newStack(): TerraformStack {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-central-1" });
  return stack;
}

/** Synthesizes `stack` (running validations) and parses the JSON. */
export function synthJson(stack: TerraformStack, runValidations = true): Synthesized {
  return JSON.parse(Testing.synth(stack, runValidations));
}

/** Synthesizes what `build` creates in a fresh stack; returns the JSON string for the jest matchers. */
export function synthScope(build: (scope: Construct) => void): string {
  return Testing.synthScope(build);
}

/** All resources of one Terraform type, as a list. */
export function resources(json: Synthesized, type: string): any[] {
  return Object.values(json.resource?.[type] ?? {});
}

/** The only resource of a type; fails when there are none or several. */
export function only(json: Synthesized, type: string): any {
  const all = resources(json, type);
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0];
}

/** All `aws_iam_policy_document` data sources, keyed by logical ID (`<Path_Parts>_<HASH>`). */
export function policyDocuments(json: Synthesized): Record<string, any> {
  return json.data?.aws_iam_policy_document ?? {};
}

/** The statements of the policy document whose construct path ends with `suffix` (e.g. `Role/PolicyDocument`). */
export function statementsOf(json: Synthesized, suffix: string): any[] {
  const docs = policyDocuments(json);
  const wanted = new RegExp(`(^|_)${suffix.replace(/\//g, "_")}_[0-9A-F]{8}$`);
  const key = Object.keys(docs).find((k) => wanted.test(k));
  if (!key) throw new Error(`no policy document ending with ${suffix}; have ${Object.keys(docs).join(", ")}`);
  return docs[key].statement;
}

/** The statement with `sid` in the document ending with `suffix`. */
export function statement(json: Synthesized, suffix: string, sid: string): any {
  const found = statementsOf(json, suffix).find((s) => s.sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${suffix}`);
  return found;
}

/** Resolves a token (e.g. an attribute) to the Terraform expression it synthesizes to. */
export function ref(scope: Construct, value: unknown): any {
  return resolve(scope, value);
}

/** The message of the error `fn` throws; fails the test when it does not throw. */
export function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error, but nothing was thrown");
}
