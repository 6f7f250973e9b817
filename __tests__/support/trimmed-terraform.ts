import * as path from "path";
import { terraform, type TerraformResult } from "../../scripts/terraform/run";
import { startSharedProvider } from "../../scripts/terraform/shared-provider";

/**
 * A plain `terraform plan` in a synthesized, initialized stack folder, through a provider process
 * that serves only the stack's resource types (as the planner runs its plans), instead of one that
 * hands terraform the whole AWS schema: the same command and the same plan at about half the CPU.
 * For tests that check what terraform says (no changes, drift), not how it starts its provider;
 * a command that cannot share a provider (a destroy plan, an apply that plans first) runs as usual.
 */
export async function terraformTrimmed(args: string[], dir: string, env: NodeJS.ProcessEnv, input?: string): Promise<TerraformResult> {
  const provider = await startSharedProvider(dir, env, args, () => undefined, path.basename(dir));
  try {
    return await terraform(args, dir, provider ? { ...env, ...provider.env } : env, input === undefined ? {} : { input });
  } finally {
    await provider?.stop();
  }
}
