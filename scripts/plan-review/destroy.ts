/** The destroy's own review: what goes, per stack, and whether the real environments were confirmed. */
import * as readline from "readline";
import type { EnvironmentConfig } from "../../config/environments";
import { stackMarkdown, type LocalEndpointPlan, type StackReview } from "./review";

/** The problem with `--confirm` names that are not real environments of the selection, or undefined. */
export function confirmProblem(confirm: readonly string[], envs: readonly EnvironmentConfig[]): string | undefined {
  const real = envs.filter((e) => !e.local).map((e) => e.name);
  const stray = confirm.filter((c) => !real.includes(c));
  if (!stray.length) return undefined;
  return (
    `--confirm names ${stray.map((c) => JSON.stringify(c)).join(", ")}, which ${stray.length > 1 ? "are" : "is"} not a real environment of this run ` +
    `(real environments selected: ${real.length ? real.join(", ") : "none"}; local ones need no confirmation)`
  );
}

/** The real environments of the selection that a destroy would change and nobody confirmed. */
export function unconfirmed(envs: readonly EnvironmentConfig[], confirm: readonly string[], reviews: readonly StackReview[], stackEnv: (stack: string) => string): string[] {
  const touched = new Set(reviews.filter((r) => r.changes.length > 0).map((r) => stackEnv(r.stack)));
  return envs.filter((e) => !e.local && touched.has(e.name) && !confirm.includes(e.name)).map((e) => e.name);
}

/** Markdown for a destroy review: what goes, per stack, and whether it may. */
export function destroySummaryMarkdown(reviews: StackReview[], refused: string[], localEndpoint?: LocalEndpointPlan): string {
  const lines = ["# Terraform destroy review", "", "| stack | destroy | risks |", "|---|---:|---|"];
  for (const r of reviews) {
    const risks = r.risks.length ? [...new Set(r.risks.map((k) => k.kind))].join(", ") : "none";
    lines.push(`| ${r.stack} | ${r.counts.destroy + r.counts.replace} | ${risks} |`);
  }
  lines.push("");
  if (refused.length) {
    lines.push(
      `:no_entry: **Not confirmed**: destroying the real environment${refused.length > 1 ? "s" : ""} ${refused.map((e) => `\`${e}\``).join(", ")} ` +
        `needs \`--confirm ${refused.join(",")}\` (or typing the names when asked on a terminal).`,
      "",
    );
  }
  lines.push(...reviews.map((r) => stackMarkdown(r, localEndpoint)));
  return lines.join("\n");
}

/** Asks on the terminal for the names of the environments to destroy; true when they match. */
export async function confirmOnTerminal(names: string[]): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return false;
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`Type ${names.join(",")} to destroy ${names.length > 1 ? "these environments" : "this environment"}: `, resolve));
    const typed = answer.split(/[\s,]+/).filter(Boolean).sort();
    return JSON.stringify(typed) === JSON.stringify([...names].sort());
  } finally {
    rl.close();
  }
}
