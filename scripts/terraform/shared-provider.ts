import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { WATCHDOG, killGroup, stopGroup } from "../shared/watchdog";
import { AWS_PROVIDER } from "./env";
import { terraform, terraformFailure, type TerraformProgress, type TerraformResult } from "./run";
import { SchemaProxy, namesWithheldType, startSchemaProxy, typesMentioned } from "./schema-proxy";

/**
 * One AWS provider process for the `terraform plan` and `terraform show -json` of one stack.
 *
 * Left to itself, Terraform starts the AWS provider four times to plan and review one stack
 * (three times in `plan`: to read the schema, to validate, to plan; once more in `show -json`),
 * and each start costs seconds of CPU: the provider builds its schema of ~1,500 resources and
 * validates all of them on every ValidateProviderConfig. The planner instead starts the provider
 * binary that `terraform init` installed in the stack's folder (the one whose checksum init
 * verified against the lock file) in its debug-server mode, and points both commands at it
 * through `TF_REATTACH_PROVIDERS`. BENCHMARKS.md ("Many stacks") has the measured gain.
 *
 * The process serves one stack only, and only the commands that configure the provider at most
 * once (plan configures it; show reads schemas; the apply of a saved plan configures it once, in
 * a process of its own): a second ConfigureProvider on the same process fails (`unable to add
 * custom RootCAs HTTPClient` with AWS_CA_BUNDLE set), so `apply -auto-approve` (a plan, then the
 * apply) and `plan -destroy` (a refresh walk, then the destroy walk: two configurations) start
 * their own as usual ({@link sharedProviderBlocker} refuses them). It is not used (Terraform
 * starts providers itself, as always) when:
 * - `SHARE_PROVIDER=0`;
 * - the caller set `TF_REATTACH_PROVIDERS` (their own provider wins);
 * - `TF_LOG` or `TF_LOG_PROVIDER` is set (the provider's log belongs in Terraform's log, which
 *   only a provider Terraform started writes to);
 * - the stack has more than one `aws` provider configuration (aliases would share one process,
 *   and with it one configuration);
 * - the installed binary is not found, or it does not announce itself within 30 s (a warning
 *   says so).
 *
 * Terraform reaches the process through a schema-trimming proxy (schema-proxy.ts): of the
 * provider's ~2,100 resource, data-source and ephemeral schemas it sees only the types the stack's
 * `cdk.tf.json` names, which cuts what each command decodes from ~10 MB to a few kB. Not with
 * `TRIM_SCHEMA=0` or `{ wholeSchema: true }` (the second try of a TerraformSession when the state holds a
 * type the configuration no longer names).
 */
export interface SharedProvider {
  /** To add to the environment of the terraform commands that use this process. */
  readonly env: { readonly TF_REATTACH_PROVIDERS: string };
  /** Whether Terraform sees only the schemas of the types the stack names (through the proxy). */
  readonly trimmed: boolean;
  /**
   * Whether a failed command's error output shows it needed a schema the proxy withheld (it names
   * a type the provider has and the stack does not): then it runs again with the whole schema.
   */
  needsWholeSchema(stderr: string): boolean;
  /** Stops the process (SIGTERM, then SIGKILL after 3 s) and waits for it. */
  stop(): Promise<void>;
}

/** The variable that turns the shared provider process off (`0`) or on (`1`, the default). */
export const SHARE_PROVIDER_VARIABLE = "SHARE_PROVIDER";

/** The variable that turns the schema trimming off (`0`) or on (`1`, the default). */
export const TRIM_SCHEMA_VARIABLE = "TRIM_SCHEMA";

/** The problem with a `TRIM_SCHEMA` value (what, the value, the rule), or undefined when it is fine or unset. */
export function trimSchemaProblem(value: string | undefined): string | undefined {
  if (value === undefined || value === "0" || value === "1") return undefined;
  return `${TRIM_SCHEMA_VARIABLE} ${JSON.stringify(value)} must be 0 (terraform reads the provider's whole schema) or 1 (only the schemas of the types the stack names; the default)`;
}

/** How long the provider may take to announce its address. */
const ANNOUNCE_TIMEOUT_MS = 30_000;

/** The problem with a `SHARE_PROVIDER` value (what, the value, the rule), or undefined when it is fine or unset. */
export function shareProviderProblem(value: string | undefined): string | undefined {
  if (value === undefined || value === "0" || value === "1") return undefined;
  return `${SHARE_PROVIDER_VARIABLE} ${JSON.stringify(value)} must be 0 (terraform starts the AWS provider for each command) or 1 (one provider process for the plan and show of a stack, another for its apply; the default)`;
}

/**
 * Why the stack in `dir` does not get a shared provider process for the terraform command
 * `plan` (its arguments: `["plan", ...]` with the `show -json` of its plan, or `["apply", ...,
 * planFile]`) under `env`, or undefined when it does. Reads the stack's `cdk.tf.json` and the provider `terraform init`
 * installed.
 */
export function sharedProviderBlocker(dir: string, env: NodeJS.ProcessEnv, plan: readonly string[]): string | undefined {
  if (plan[0] === "apply") {
    const last = plan[plan.length - 1];
    if (plan.length < 2 || last.startsWith("-") || plan.includes("-auto-approve") || plan.includes("-destroy")) {
      return "an apply without a saved plan plans first and configures the provider twice (the plan, then the apply)";
    }
  } else if (plan[0] !== "plan") {
    return `terraform ${plan[0] ?? "(no command)"} is neither a plan nor the apply of a saved plan (only those configure the provider once)`;
  }
  if (plan.includes("-destroy")) return "a destroy plan configures the provider twice (a refresh, then the destroy)";
  if (env[SHARE_PROVIDER_VARIABLE] === "0") return `${SHARE_PROVIDER_VARIABLE}=0`;
  if (env.TF_REATTACH_PROVIDERS) return "TF_REATTACH_PROVIDERS is set";
  if (env.TF_LOG || env.TF_LOG_PROVIDER) return "TF_LOG or TF_LOG_PROVIDER is set";
  let synthesized: { provider?: Record<string, unknown> };
  try {
    synthesized = JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8"));
  } catch {
    return "no readable cdk.tf.json";
  }
  const aws = synthesized.provider?.aws;
  const configurations = Array.isArray(aws) ? aws.length : aws === undefined ? 0 : 1;
  if (configurations !== 1) return `${configurations} aws provider configurations (one process serves exactly one)`;
  if (!providerBinary(dir)) return "no AWS provider installed by terraform init";
  return undefined;
}

/**
 * The AWS provider binary `terraform init` installed for the stack in `dir`
 * (`.terraform/providers/registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/`), or
 * undefined when there is not exactly one.
 */
export function providerBinary(dir: string): string | undefined {
  const base = path.resolve(dir, ".terraform", "providers", ...AWS_PROVIDER.source.split("/"));
  const platform = `${os.platform()}_${{ x64: "amd64", arm64: "arm64" }[os.arch() as string] ?? os.arch()}`;
  let versions: string[];
  try {
    versions = fs.readdirSync(base);
  } catch {
    return undefined;
  }
  const found = versions.flatMap((v) => {
    const folder = path.join(base, v, platform);
    try {
      return fs
        .readdirSync(folder)
        .filter((f) => f.startsWith("terraform-provider-aws"))
        .map((f) => path.join(folder, f));
    } catch {
      return [];
    }
  });
  return found.length === 1 ? found[0] : undefined;
}

const running = new Set<ChildProcess>();
// Whatever happens to this process, the providers it started go with it (on SIGKILL through the watchdog).
process.once("exit", () => running.forEach((c) => killGroup(c, "SIGKILL")));

/**
 * Starts one AWS provider process for the `plan` (its arguments) of the stack in `dir` and the
 * `show -json` of that plan, or for the `apply` of a saved plan (`["apply", ..., planFile]`), with
 * the environment terraform would give it (`env`), or returns
 * undefined when the stack does not get one (see {@link SharedProvider} and
 * {@link sharedProviderBlocker}); `log` receives one line when a start fails.
 */
export async function startSharedProvider(
  dir: string,
  env: NodeJS.ProcessEnv,
  plan: readonly string[],
  log: (line: string) => void,
  label: string,
  options: { readonly wholeSchema?: boolean } = {},
): Promise<SharedProvider | undefined> {
  if (sharedProviderBlocker(dir, env, plan)) return undefined;
  const binary = providerBinary(dir)!;
  // A folder of its own for its error log and its plugin socket (the provider makes the socket in
  // TMPDIR and leaves it when it is stopped): removed with it, so nothing is left in the caller's TMPDIR.
  const own = fs.mkdtempSync(path.join(os.tmpdir(), "shared-provider-"));
  const errors = path.join(own, "provider.log");
  const errorFd = fs.openSync(errors, "w");
  const child = spawn("sh", ["-c", WATCHDOG, "provider-watchdog", String(process.pid), binary, "-debug"], {
    cwd: dir,
    env: { ...env, TMPDIR: own },
    detached: true, // its own process group: stop() ends the watchdog and the provider together
    stdio: ["ignore", "pipe", errorFd],
  });
  fs.closeSync(errorFd);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let proxy: SchemaProxy | undefined;
  const stop = async (): Promise<void> => {
    await proxy?.close();
    await stopGroup(child, exited);
    running.delete(child);
    fs.rmSync(own, { recursive: true, force: true });
  };

  const reattach = await new Promise<string | undefined>((resolve) => {
    let out = "";
    const timer = setTimeout(() => resolve(undefined), ANNOUNCE_TIMEOUT_MS);
    child.stdout!.on("data", (d: Buffer) => {
      if (out.length > 64 * 1024) return; // announced or not, nothing more to read
      out += d.toString();
      const m = /TF_REATTACH_PROVIDERS='(\{.*\})'/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  let parsed: Record<string, { Pid?: number; Addr?: { Network?: string; String?: string } }> | undefined;
  try {
    parsed = reattach ? JSON.parse(reattach) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed?.[AWS_PROVIDER.source]?.Pid) {
    const tail = fs.existsSync(errors) ? fs.readFileSync(errors, "utf8").trim().split("\n").slice(-3).join(" | ") : "";
    await stop();
    log(`  ${label}: warning: the shared AWS provider process did not start (${tail || "no address announced"}); terraform starts its own\n`);
    return undefined;
  }
  const reattachConfig = parsed[AWS_PROVIDER.source];
  const trim = !options.wholeSchema && env[TRIM_SCHEMA_VARIABLE] !== "0" && reattachConfig.Addr?.Network === "unix" && !!reattachConfig.Addr.String;
  if (trim) {
    const keep = typesMentioned(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8"));
    try {
      proxy = await startSchemaProxy(reattachConfig.Addr!.String!, (name) => keep.has(name));
    } catch (e) {
      log(`  ${label}: warning: the schema proxy did not start (${(e as Error).message}); terraform reads the provider's whole schema\n`);
    }
  }
  const target = proxy ? { ...reattachConfig, Addr: { ...reattachConfig.Addr, String: proxy.socket } } : reattachConfig;
  const trimmedBy = proxy;
  return {
    env: { TF_REATTACH_PROVIDERS: JSON.stringify({ [AWS_PROVIDER.source]: target }) },
    trimmed: trimmedBy !== undefined,
    needsWholeSchema: (stderr) => trimmedBy !== undefined && namesWithheldType(stderr, trimmedBy.withheld),
    stop,
  };
}

/** The line printed when a stack's terraform `command` runs again with the provider's whole schema. */
export function wholeSchemaRetryLine(label: string, command = "plan"): string {
  const doing = ({ plan: "planning", apply: "applying" } as Record<string, string>)[command] ?? `running terraform ${command}`;
  return `  ${label}: its state holds a resource type the configuration no longer names; ${doing} again with the provider's whole schema\n`;
}

/**
 * `terraform <args>` of the stack in `dir` with a shared provider process when the stack gets one
 * (see {@link sharedProviderBlocker}), else as usual; throws Terraform's own error when it fails
 * (as terraformOk does). When a trimmed schema lacks a type the state or a saved plan holds
 * ({@link SharedProvider.needsWholeSchema}: Terraform stops while it reads them, before it plans
 * or applies anything), the command runs once more with the whole schema, after {@link wholeSchemaRetryLine}.
 * Returns the result and whether the whole schema was used (for the apply of that plan).
 */
export async function terraformWithSharedProvider(
  args: string[],
  dir: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  label: string,
  options: { readonly wholeSchema?: boolean; readonly progress?: TerraformProgress } = {},
): Promise<{ result: TerraformResult; wholeSchema: boolean }> {
  const wholeSchema = options.wholeSchema ?? false;
  const provider = await startSharedProvider(dir, env, args, log, label, { wholeSchema });
  let r: TerraformResult;
  try {
    r = await terraform(args, dir, provider ? { ...env, ...provider.env } : env, { progress: options.progress });
  } finally {
    await provider?.stop();
  }
  if (r.code !== 0 && provider?.needsWholeSchema(r.stderr)) {
    log(wholeSchemaRetryLine(label, args[0]));
    return terraformWithSharedProvider(args, dir, env, log, label, { ...options, wholeSchema: true });
  }
  if (r.code !== 0 && !(r.code === 2 && args.includes("-detailed-exitcode"))) throw terraformFailure(args, dir, r);
  return { result: r, wholeSchema };
}
