import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";

const run = promisify(execFile);

/**
 * The module of the control sample {@link validateStacks} validates beside the stacks: one ECR
 * repository whose tag mutability is not a value the provider accepts, so its one error proves
 * that the child modules are validated against the provider schema, literal values included.
 */
export const INVALID_CONTROL = "control-invalid-tag-mutability";

const CONTROL_MODULE = {
  terraform: { required_providers: { aws: { source: "hashicorp/aws", version: "5.100.0" } } },
  provider: { aws: [{ region: "eu-central-1" }] },
  resource: { aws_ecr_repository: { control: { name: "control/invalid", image_tag_mutability: "SOMETIMES" } } },
};

/** The error diagnostics `terraform validate` reported for each module (its summary and detail). */
export type ValidationErrors = Record<string, string[]>;

/**
 * `terraform init -backend=false` and one `terraform validate` for all `stacks` (name → folder of
 * a synthesized `cdk.tf.json`) at once: a root module in `rootDir` calls each stack as a child
 * module, so the AWS provider loads its schema once instead of once per stack, and Terraform
 * checks every block of every stack as it does in the stack's own folder (the only difference is
 * a warning per stack that its backend block is ignored, which is why only errors are returned).
 * {@link INVALID_CONTROL} is validated with them and must have exactly its one error.
 */
export async function validateStacks(stacks: Record<string, string>, rootDir: string, env: NodeJS.ProcessEnv): Promise<ValidationErrors> {
  fs.mkdirSync(path.join(rootDir, INVALID_CONTROL), { recursive: true });
  fs.writeFileSync(path.join(rootDir, INVALID_CONTROL, "main.tf.json"), JSON.stringify(CONTROL_MODULE, null, 2));
  const sources: Record<string, string> = { [INVALID_CONTROL]: path.join(rootDir, INVALID_CONTROL) };
  for (const [name, dir] of Object.entries(stacks)) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name) || name === INVALID_CONTROL) throw new Error(`"${name}" cannot name a Terraform module`);
    sources[name] = dir;
  }
  // A local module source starts with ./ or ../ (anything else is a registry address).
  const local = (dir: string) => {
    const relative = path.relative(rootDir, dir).split(path.sep).join("/");
    return relative.startsWith("../") ? relative : `./${relative}`;
  };
  const modules = Object.fromEntries(Object.entries(sources).map(([name, dir]) => [name, { source: local(dir) }]));
  fs.writeFileSync(path.join(rootDir, "main.tf.json"), JSON.stringify({ module: modules }, null, 2));
  await run("terraform", ["init", "-backend=false", "-input=false", "-no-color"], { cwd: rootDir, env });
  // validate exits 1 when it finds errors; its JSON report is what counts.
  const { stdout } = await run("terraform", ["validate", "-json", "-no-color"], { cwd: rootDir, env }).catch((e: { stdout?: string; stderr?: string }) => {
    if (!e.stdout) throw e;
    return { stdout: e.stdout };
  });
  const report = JSON.parse(stdout) as { diagnostics: { severity: string; summary: string; detail?: string; range?: { filename: string } }[] };
  const errors: ValidationErrors = Object.fromEntries(Object.keys(sources).map((name) => [name, []]));
  for (const d of report.diagnostics.filter((x) => x.severity === "error")) {
    const file = d.range ? path.resolve(rootDir, d.range.filename) : "";
    const owner = Object.keys(sources).find((name) => file.startsWith(`${path.resolve(sources[name])}${path.sep}`)) ?? "(root module)";
    (errors[owner] ??= []).push(`${d.summary}${d.detail ? `: ${d.detail}` : ""}`);
  }
  return errors;
}

/** What {@link validateStacks} must return for `stacks`: no error in any stack, the control's one. */
export function expectedValidation(stacks: string[]): ValidationErrors {
  return { [INVALID_CONTROL]: [expect.stringContaining('expected image_tag_mutability to be one of ["MUTABLE" "IMMUTABLE"], got SOMETIMES')], ...Object.fromEntries(stacks.map((s) => [s, []])) };
}
