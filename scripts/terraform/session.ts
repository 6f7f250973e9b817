/**
 * One object through which the tools run terraform on their stacks. It owns the speed-ups that
 * nothing outside it needs to know about: the AWS provider process shared by a stack's plan and
 * the `show -json` of that plan (and another for the apply of the saved plan), the proxy that shows
 * Terraform only the schemas of the types the stack names, and the single retry with the
 * provider's whole schema when a state or a saved plan holds a type the configuration no longer
 * names (remembered per stack, so the apply of such a plan gets the whole schema at once).
 */
import { SHARE_PROVIDER_VARIABLE, TRIM_SCHEMA_VARIABLE, shareProviderProblem, startSharedProvider, terraformWithSharedProvider, trimSchemaProblem, wholeSchemaRetryLine } from "./shared-provider";
import { terraform, terraformOk, type TerraformProgress, type TerraformResult } from "./run";

/** A stack as terraform sees it: a name for the progress lines, its folder, its environment. */
export interface TerraformStack {
  readonly name: string;
  /** The synthesized folder terraform runs in. */
  readonly dir: string;
  /** The environment terraform runs with. */
  readonly tfEnv: NodeJS.ProcessEnv;
}

/** What a plan produced: terraform's own result (exit 2: changes) and the plan as JSON text (`show -json`). */
export interface PlanResult {
  readonly plan: TerraformResult;
  readonly json: string;
}

/** Runs terraform for the stacks of one command. */
export class TerraformSession {
  /** Problems with the variables that tune the session (SHARE_PROVIDER, TRIM_SCHEMA), one line each. */
  static variableProblems(env: NodeJS.ProcessEnv): string[] {
    return [shareProviderProblem(env[SHARE_PROVIDER_VARIABLE]), trimSchemaProblem(env[TRIM_SCHEMA_VARIABLE])].filter((p): p is string => p !== undefined);
  }

  /** The stacks whose plan needed the provider's whole schema: their apply gets it too. */
  private readonly wholeSchema = new Set<string>();

  /** @param log receives the progress lines (each command's start, heartbeat and end), warnings and retries */
  constructor(private readonly log: (line: string) => void) {}

  private progress(stack: TerraformStack): TerraformProgress {
    return { label: stack.name, log: this.log };
  }

  /** `terraform init` of the stack (again, `-reconfigure`, when its backend changed since). */
  init(stack: TerraformStack): Promise<TerraformResult> {
    return terraformOk(["init", "-input=false", "-no-color", "-reconfigure"], stack.dir, stack.tfEnv, { progress: this.progress(stack) });
  }

  /**
   * `terraform plan` with `args` (`-out=<file>` among them) and the `show -json` of that plan;
   * throws with Terraform's error when the plan fails.
   */
  async plan(stack: TerraformStack, args: readonly string[], planFile: string): Promise<PlanResult> {
    const planArgs = ["plan", ...args, "-input=false", "-no-color", "-detailed-exitcode", `-out=${planFile}`];
    const attempt = async (wholeSchema: boolean): Promise<PlanResult | "missing-schema"> => {
      const provider = await startSharedProvider(stack.dir, stack.tfEnv, planArgs, this.log, stack.name, { wholeSchema });
      const env = provider ? { ...stack.tfEnv, ...provider.env } : stack.tfEnv;
      try {
        const plan = await terraform(planArgs, stack.dir, env, { progress: this.progress(stack) });
        if (plan.code === 1 && provider?.needsWholeSchema(plan.stderr)) return "missing-schema";
        if (plan.code === 1) throw new Error(`terraform plan failed:\n${plan.stderr.trim()}`);
        // The plan read every type of its state and configuration: show needs no other.
        const shown = await terraformOk(["show", "-json", planFile], stack.dir, env);
        return { plan, json: shown.stdout };
      } finally {
        await provider?.stop();
      }
    };
    const first = await attempt(this.wholeSchema.has(stack.name));
    if (first !== "missing-schema") return first;
    this.log(wholeSchemaRetryLine(stack.name));
    this.wholeSchema.add(stack.name);
    const second = await attempt(true);
    if (second === "missing-schema") throw new Error(`terraform plan of ${stack.name} lacked a schema with the provider's whole schema`);
    return second;
  }

  /** `terraform apply` of a saved plan; throws with Terraform's error when it fails. */
  async apply(stack: TerraformStack, planFile: string): Promise<TerraformResult> {
    const applied = await terraformWithSharedProvider(["apply", "-input=false", "-no-color", planFile], stack.dir, stack.tfEnv, this.log, stack.name, {
      progress: this.progress(stack),
      wholeSchema: this.wholeSchema.has(stack.name),
    });
    if (applied.wholeSchema) this.wholeSchema.add(stack.name);
    return applied.result;
  }

  /** Any other terraform command of the stack (no provider of the session's own); throws when it fails. */
  run(stack: TerraformStack, args: string[], options: { readonly progress?: boolean } = {}): Promise<TerraformResult> {
    return terraformOk(args, stack.dir, stack.tfEnv, options.progress ? { progress: this.progress(stack) } : {});
  }

  /** The stack's outputs (`terraform output -json`), by name. */
  async outputs(stack: TerraformStack): Promise<Record<string, { value: unknown; sensitive?: boolean }>> {
    return JSON.parse((await this.run(stack, ["output", "-json"])).stdout);
  }
}
