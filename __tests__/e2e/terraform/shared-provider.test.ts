import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { requireTerraform, terraformEnv } from "../../../scripts/terraform/env";
import { namesWithheldType } from "../../../scripts/terraform/schema-proxy";
import { providerBinary, shareProviderProblem, sharedProviderBlocker, startSharedProvider, terraformWithSharedProvider, trimSchemaProblem, wholeSchemaRetryLine } from "../../../scripts/terraform/shared-provider";
import { startLocalAws } from "../../../scripts/local-aws/server";
import { LOCAL_CREDENTIALS } from "../../../scripts/local-aws/clients";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { parseDestroyFlags, parsePlanFlags } from "../../../scripts/plan-review/plan";
import { tempDir } from "../../support/app";
import { messageOf } from "../../support/synth";

const run = promisify(execFile);

/** The arguments of a plan (the command a shared provider serves, with its show). */
const PLAN = ["plan", "-input=false", "-out=plan.tfplan"];

/** A stack folder: one aws provider that needs no credentials to plan, one repository to create. */
function writeStack(dir: string, providers: unknown[] = [{ region: "eu-central-1" }]): void {
  const offline = { access_key: "test", secret_key: "test", skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: "true", skip_region_validation: true };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "cdk.tf.json"),
    JSON.stringify({
      terraform: { required_providers: { aws: { source: "hashicorp/aws", version: "5.100.0" } } },
      provider: { aws: providers.map((p) => ({ ...offline, ...(p as object) })) },
      resource: { aws_ecr_repository: { r: { name: "shared-provider-test", image_tag_mutability: "IMMUTABLE" } } },
    }),
  );
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("SHARE_PROVIDER", () => {
  test.each([undefined, "0", "1"])("%s is accepted", (v) => expect(shareProviderProblem(v)).toBeUndefined());
  test.each(["", "true", "2", "yes"])("%j is refused with the value and the rule", (v) => {
    expect(shareProviderProblem(v)).toBe(
      `SHARE_PROVIDER ${JSON.stringify(v)} must be 0 (terraform starts the AWS provider for each command) or 1 (one provider process for the plan and show of a stack, another for its apply; the default)`,
    );
  });
});

test.each([
  ["SHARE_PROVIDER", "yes", shareProviderProblem],
  ["TRIM_SCHEMA", "no", trimSchemaProblem],
])("a bad %s stops plan, deploy and destroy before anything runs: one line", (variable, value, problem) => {
  const env = { [variable]: value };
  const message = problem(value);
  expect(message).toBeDefined();
  expect(messageOf(() => parsePlanFlags([], env))).toBe(message);
  expect(messageOf(() => parsePlanFlags(["--apply"], env))).toBe(message);
  expect(messageOf(() => parseDestroyFlags([], env))).toBe(message);
});

describe("when a stack does not get a shared provider process", () => {
  const dir = tempDir("shared-provider-blocker");

  test("before terraform init: no provider installed", () => {
    writeStack(path.join(dir, "a"));
    expect(providerBinary(path.join(dir, "a"))).toBeUndefined();
    expect(sharedProviderBlocker(path.join(dir, "a"), {}, PLAN)).toBe("no AWS provider installed by terraform init");
  });

  test("a plan and the apply of a saved plan get one; not a destroy plan or an apply that plans first (they configure the provider twice)", () => {
    const p = path.join(dir, "p");
    writeStack(p);
    const installed = path.join(p, ".terraform", "providers", "registry.terraform.io", "hashicorp", "aws", "5.100.0", `linux_${process.arch === "arm64" ? "arm64" : "amd64"}`);
    fs.mkdirSync(installed, { recursive: true });
    fs.writeFileSync(path.join(installed, "terraform-provider-aws_v5.100.0_x5"), "", { mode: 0o755 });
    expect(sharedProviderBlocker(p, {}, PLAN)).toBeUndefined();
    expect(sharedProviderBlocker(p, {}, ["apply", "-input=false", "x.tfplan"])).toBeUndefined();
    expect(sharedProviderBlocker(p, {}, ["plan", "-destroy", "-out=x"])).toBe("a destroy plan configures the provider twice (a refresh, then the destroy)");
    const twice = "an apply without a saved plan plans first and configures the provider twice (the plan, then the apply)";
    expect(sharedProviderBlocker(p, {}, ["apply", "-auto-approve", "-input=false"])).toBe(twice);
    expect(sharedProviderBlocker(p, {}, ["apply"])).toBe(twice);
    expect(sharedProviderBlocker(p, {}, ["apply", "-destroy", "x.tfplan"])).toBe(twice);
    expect(sharedProviderBlocker(p, {}, ["destroy", "-auto-approve"])).toBe("terraform destroy is neither a plan nor the apply of a saved plan (only those configure the provider once)");
    expect(sharedProviderBlocker(p, {}, ["import", "a.b", "id"])).toBe("terraform import is neither a plan nor the apply of a saved plan (only those configure the provider once)");
  });

  test("the caller's choices come first: SHARE_PROVIDER=0, their own TF_REATTACH_PROVIDERS, a provider log", () => {
    writeStack(path.join(dir, "b"));
    const d = path.join(dir, "b");
    expect(sharedProviderBlocker(d, { SHARE_PROVIDER: "0" }, PLAN)).toBe("SHARE_PROVIDER=0");
    expect(sharedProviderBlocker(d, { TF_REATTACH_PROVIDERS: "{}" }, PLAN)).toBe("TF_REATTACH_PROVIDERS is set");
    expect(sharedProviderBlocker(d, { TF_LOG: "debug" }, PLAN)).toBe("TF_LOG or TF_LOG_PROVIDER is set");
    expect(sharedProviderBlocker(d, { TF_LOG_PROVIDER: "trace" }, PLAN)).toBe("TF_LOG or TF_LOG_PROVIDER is set");
  });

  test("aliased aws providers would share one process and one configuration: refused", () => {
    writeStack(path.join(dir, "c"), [{ region: "eu-central-1" }, { alias: "use1", region: "us-east-1" }]);
    expect(sharedProviderBlocker(path.join(dir, "c"), {}, PLAN)).toBe("2 aws provider configurations (one process serves exactly one)");
  });

  test("no synthesized stack", () => {
    expect(sharedProviderBlocker(path.join(dir, "missing"), {}, PLAN)).toBe("no readable cdk.tf.json");
  });

  test("a provider that exits before it announces its address: one warning line with its last words, and terraform starts its own", async () => {
    const stack = path.join(dir, "broken");
    writeStack(stack);
    const platform = `linux_${process.arch === "arm64" ? "arm64" : "amd64"}`;
    const folder = path.join(stack, ".terraform", "providers", "registry.terraform.io", "hashicorp", "aws", "5.100.0", platform);
    fs.mkdirSync(folder, { recursive: true });
    const fake = path.join(folder, "terraform-provider-aws_v5.100.0_x5");
    fs.writeFileSync(fake, "#!/bin/sh\necho 'fatal: cannot serve' >&2\nexit 3\n", { mode: 0o755 });
    expect(providerBinary(stack)).toBe(fake);
    const lines: string[] = [];
    expect(await startSharedProvider(stack, {}, PLAN, (l) => lines.push(l), "broken-stack")).toBeUndefined();
    expect(lines).toEqual(["  broken-stack: warning: the shared AWS provider process did not start (fatal: cannot serve); terraform starts its own\n"]);
  });
});

describe("TRIM_SCHEMA", () => {
  test.each([undefined, "0", "1"])("%s is accepted", (v) => expect(trimSchemaProblem(v)).toBeUndefined());
  test("anything else is one line: the variable, the value, the rule", () => {
    expect(trimSchemaProblem("yes")).toBe(
      'TRIM_SCHEMA "yes" must be 0 (terraform reads the provider\'s whole schema) or 1 (only the schemas of the types the stack names; the default)',
    );
  });
});

describe("a shared provider process serves terraform plan and show", () => {
  const dir = tempDir("shared-provider");
  const stack = path.join(dir, "stack");
  const env: NodeJS.ProcessEnv = { ...terraformEnv(path.join(dir, "tfconfig")), CHECKPOINT_DISABLE: "1" };
  for (const v of ["TF_LOG", "TF_LOG_PROVIDER", "TF_REATTACH_PROVIDERS", "SHARE_PROVIDER", "TRIM_SCHEMA"]) delete env[v];

  beforeAll(async () => {
    requireTerraform(env);
    writeStack(stack);
    await run("terraform", ["init", "-input=false", "-no-color"], { cwd: stack, env });
  }, 120_000);

  test("terraform reattaches to it (no provider of its own), the plan is the usual one, and stop() ends it", async () => {
    expect(providerBinary(stack)).toMatch(/terraform-provider-aws_v5\.100\.0_x5$/);
    expect(sharedProviderBlocker(stack, env, PLAN)).toBeUndefined();
    const lines: string[] = [];
    const provider = await startSharedProvider(stack, env, PLAN, (l) => lines.push(l), "stack");
    expect(provider).toBeDefined();
    const reattach = JSON.parse(provider!.env.TF_REATTACH_PROVIDERS);
    const pid: number = reattach["registry.terraform.io/hashicorp/aws"].Pid;
    expect(alive(pid)).toBe(true);
    try {
      const logFile = path.join(dir, "core.log");
      const planEnv = { ...env, ...provider!.env, TF_LOG_CORE: "debug", TF_LOG_PATH: logFile };
      await run("terraform", ["plan", "-input=false", "-no-color", "-out=plan.tfplan"], { cwd: stack, env: planEnv });
      // Terraform's own log: the provider was the reattached one, not a process it started.
      expect(fs.readFileSync(logFile, "utf8")).toContain('Provider registry.terraform.io/hashicorp/aws is overridden as an "unmanaged provider"');
      const shown = JSON.parse((await run("terraform", ["show", "-json", "plan.tfplan"], { cwd: stack, env: { ...env, ...provider!.env }, maxBuffer: 64 << 20 })).stdout);
      expect(shown.resource_changes.map((c: any) => [c.address, c.change.actions])).toEqual([["aws_ecr_repository.r", ["create"]]]);
      expect(shown.resource_changes[0].change.after.image_tag_mutability).toBe("IMMUTABLE");
      // Still serving after both commands (terraform does not stop a reattached provider).
      expect(alive(pid)).toBe(true);
    } finally {
      await provider!.stop();
    }
    expect(alive(pid)).toBe(false);
    expect(lines).toEqual([]);
    // The plan file is an ordinary one: read without the shared process, terraform starts its own provider.
    const readAgain = await run("terraform", ["show", "-no-color", "plan.tfplan"], { cwd: stack, env });
    expect(readAgain.stdout).toContain("aws_ecr_repository.r will be created");
  }, 120_000);

  /** `terraform providers schema -json` through `provider`: the type names Terraform is given. */
  const typesSeen = async (cwd: string, provider: { env: object }): Promise<{ resources: string[]; dataSources: string[] }> => {
    const out = JSON.parse((await run("terraform", ["providers", "schema", "-json"], { cwd, env: { ...env, ...provider.env }, maxBuffer: 256 << 20 })).stdout);
    const aws = out.provider_schemas["registry.terraform.io/hashicorp/aws"];
    return { resources: Object.keys(aws.resource_schemas ?? {}), dataSources: Object.keys(aws.data_source_schemas ?? {}) };
  };
  /** The plan as JSON through `provider`, without the fields that differ from run to run. */
  const planThrough = async (cwd: string, provider: { env: object }, extra: string[] = []): Promise<Record<string, unknown>> => {
    const planEnv = { ...env, ...provider.env };
    await run("terraform", ["plan", "-input=false", "-no-color", "-out=plan.tfplan", ...extra], { cwd, env: planEnv });
    const shown = JSON.parse((await run("terraform", ["show", "-json", "plan.tfplan"], { cwd, env: planEnv, maxBuffer: 64 << 20 })).stdout);
    delete shown.timestamp;
    return shown;
  };

  test("through the schema proxy terraform is given only the stack's types, and plans exactly as with the whole schema", async () => {
    const trimmed = await startSharedProvider(stack, env, PLAN, () => undefined, "stack");
    let planTrimmed: Record<string, unknown>;
    try {
      expect(trimmed?.trimmed).toBe(true);
      // By name: aws_ecr_repository is a data source too.
      expect(await typesSeen(stack, trimmed!)).toEqual({ resources: ["aws_ecr_repository"], dataSources: ["aws_ecr_repository"] });
      planTrimmed = await planThrough(stack, trimmed!);
    } finally {
      await trimmed?.stop();
    }
    // Both ways to the whole schema give terraform every type; the plan through it (made once: both
    // ways start the same unproxied provider) is the trimmed one.
    for (const whole of [{ wholeSchema: true }, undefined]) {
      const provider = await startSharedProvider(stack, whole ? env : { ...env, TRIM_SCHEMA: "0" }, PLAN, () => undefined, "stack", whole);
      try {
        expect(provider?.trimmed).toBe(false);
        const seen = await typesSeen(stack, provider!);
        expect(seen.resources.length).toBeGreaterThan(1000);
        expect(seen.dataSources.length).toBeGreaterThan(400);
        if (whole) expect(await planThrough(stack, provider!)).toEqual(planTrimmed);
      } finally {
        await provider?.stop();
      }
    }
    expect((planTrimmed.resource_changes as { address: string }[]).map((c) => c.address)).toEqual(["aws_ecr_repository.r"]);
  }, 180_000);

  test("a state that holds a type the configuration no longer names: the trimmed plan fails loudly, the whole schema plans its removal", async () => {
    const orphan = path.join(dir, "orphan");
    // Nothing answers at its ECR endpoint: an apply that gets as far as the AWS call fails at once.
    writeStack(orphan, [{ region: "eu-central-1", max_retries: 1, endpoints: [{ ecr: "http://127.0.0.1:9" }] }]);
    await run("terraform", ["init", "-input=false", "-no-color"], { cwd: orphan, env });
    // A state (local backend) with one lifecycle policy, which the configuration does not have.
    fs.writeFileSync(
      path.join(orphan, "terraform.tfstate"),
      JSON.stringify({
        version: 4,
        terraform_version: "1.11.4",
        serial: 1,
        lineage: "3f0e5b7c-0d6a-4b8e-9d41-2f6c1a7b9e10",
        outputs: {},
        resources: [
          {
            mode: "managed",
            type: "aws_ecr_lifecycle_policy",
            name: "gone",
            provider: 'provider["registry.terraform.io/hashicorp/aws"]',
            instances: [{ schema_version: 0, attributes: { id: "shared-provider-test", policy: "{}", registry_id: "123456789012", repository: "shared-provider-test" } }],
          },
        ],
      }),
    );
    const trimmed = await startSharedProvider(orphan, env, PLAN, () => undefined, "orphan");
    try {
      expect(trimmed?.trimmed).toBe(true);
      const failed = await run("terraform", ["plan", "-input=false", "-no-color", "-refresh=false", "-out=plan.tfplan"], { cwd: orphan, env: { ...env, ...trimmed!.env } }).then(
        () => undefined,
        (e: { stderr: string }) => e.stderr,
      );
      expect(failed).toBeDefined();
      expect(namesWithheldType(failed!, new Set(["aws_ecr_lifecycle_policy"]))).toBe(true);
    } finally {
      await trimmed?.stop();
    }
    // terraformWithSharedProvider plans it again with the whole schema, in one line, and says so for
    // the apply; the whole schema plans the removal of what the configuration no longer names.
    const lines: string[] = [];
    const retried = await terraformWithSharedProvider(["plan", "-input=false", "-no-color", "-refresh=false", "-out=retried.tfplan"], orphan, env, (l) => lines.push(l), "orphan");
    expect(lines).toEqual([wholeSchemaRetryLine("orphan")]);
    expect(wholeSchemaRetryLine("orphan")).toBe("  orphan: its state holds a resource type the configuration no longer names; planning again with the provider's whole schema\n");
    expect(retried.wholeSchema).toBe(true);
    expect(retried.result.stdout).toContain("aws_ecr_lifecycle_policy.gone will be destroyed");
    expect(retried.result.stdout).toContain("aws_ecr_repository.r will be created");
    expect(retried.result.stdout).toContain("Plan: 1 to add, 0 to change, 1 to destroy.");
    // The apply of a plan made with the whole schema, through a trimmed one: terraform stops while
    // it reads the saved plan (before it applies anything), and the apply runs again with the whole
    // schema (here it then fails at the AWS call: nothing answers at the stack's ECR endpoint).
    const applyLines: string[] = [];
    await expect(
      terraformWithSharedProvider(["apply", "-input=false", "-no-color", "retried.tfplan"], orphan, env, (l) => applyLines.push(l), "orphan"),
    ).rejects.toThrow(/^terraform apply failed in .*orphan \(exit 1\):\n(?![\s\S]*missing schema)/);
    expect(applyLines).toEqual([wholeSchemaRetryLine("orphan", "apply")]);
    expect(wholeSchemaRetryLine("orphan", "apply")).toBe("  orphan: its state holds a resource type the configuration no longer names; applying again with the provider's whole schema\n");
  }, 180_000);

  test("terraformWithSharedProvider: a saved plan, then its apply, each through a provider process of its own; the repository is created", async () => {
    const aws = await startLocalAws();
    const applied = path.join(dir, "applied");
    try {
      writeStack(applied, [{ region: "eu-central-1", endpoints: [{ ecr: aws.endpoint }] }]);
      await run("terraform", ["init", "-input=false", "-no-color"], { cwd: applied, env });
      const logFile = path.join(dir, "apply-core.log");
      const lines: string[] = [];
      const planned = await terraformWithSharedProvider(["plan", "-input=false", "-no-color", "-out=deploy.tfplan"], applied, env, (l) => lines.push(l), "applied");
      expect(planned.wholeSchema).toBe(false);
      const logged = { ...env, TF_LOG_CORE: "debug", TF_LOG_PATH: logFile };
      const apply = await terraformWithSharedProvider(["apply", "-input=false", "-no-color", "deploy.tfplan"], applied, logged, (l) => lines.push(l), "applied");
      expect(apply.wholeSchema).toBe(false);
      expect(apply.result.stdout).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
      // The apply's provider was the reattached process (one configuration), not one terraform started.
      expect(fs.readFileSync(logFile, "utf8")).toContain('Provider registry.terraform.io/hashicorp/aws is overridden as an "unmanaged provider"');
      expect(lines).toEqual([]);
      const ecr = new ECRClient({ region: "eu-central-1", endpoint: aws.endpoint, credentials: LOCAL_CREDENTIALS });
      const found = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["shared-provider-test"] }));
      expect(found.repositories?.map((r) => r.imageTagMutability)).toEqual(["IMMUTABLE"]);
      // A failed command is Terraform's own error, as from terraformOk.
      await expect(terraformWithSharedProvider(["apply", "-input=false", "-no-color", "deploy.tfplan"], applied, env, () => undefined, "applied")).rejects.toThrow(
        /^terraform apply failed in .*applied \(exit 1\):\n[\s\S]*Saved plan is stale/,
      );
    } finally {
      await aws.stop();
    }
  }, 180_000);

  test("SHARE_PROVIDER=0: none is started", async () => {
    const lines: string[] = [];
    expect(await startSharedProvider(stack, { ...env, SHARE_PROVIDER: "0" }, PLAN, (l) => lines.push(l), "stack")).toBeUndefined();
    expect(lines).toEqual([]);
  });
});
