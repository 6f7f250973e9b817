import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { requireTerraform, terraformEnv } from "../../../scripts/terraform/env";
import { ROOT, tempDir } from "../../support/app";
import {
  cleanEnv,
  cloneInstalledExample,
  CommandResult,
  InstalledExample,
  LIBRARY_NAME,
  plainText,
  progress,
  stackDir,
  stackJson,
  synthExample,
} from "../../support/example-app";
import { copyInstalledExample } from "../../support/library-cache";
import { only, resources, statement, statementsOf } from "../../support/synth";
import { expectedValidation, validateStacks } from "../../support/validate-example";

/**
 * examples/platform-app as another team uses the library: the library packed with `npm pack`,
 * the example copied to a fresh folder and installed from the tarball, type-checked with its own
 * strict tsconfig, synthesized by the cdktf CLI and validated by Terraform. The type check is the
 * example's own build (`tsc -p .`), which the app command of its cdktf.json runs before every synth.
 */
jest.setTimeout(300_000);

const TAG = "examples/platform-app";
const TOOLS = "111111111111";
const WORKLOAD = "222222222222";
const REPOSITORY_ARN = `arn:aws:ecr:eu-central-1:${TOOLS}:repository/platform/app`;
const TASK_ROLE_ARN = `arn:aws:iam::${WORKLOAD}:role/app-task`;
const PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

let workDir: string;
let example: InstalledExample;
// Independent and mostly tsc: started together once the example is installed, awaited by the
// tests that check them.
let synth: Promise<CommandResult>;
let mutableSynth: Promise<CommandResult>;

/** The example's environment for its real accounts: no local endpoint, the default account IDs. */
function appEnv(): NodeJS.ProcessEnv {
  const env = cleanEnv();
  for (const k of ["LOCAL_AWS_ENDPOINT", "TOOLS_ACCOUNT_ID", "WORKLOAD_ACCOUNT_ID", "AWS_REGION_OVERRIDE"]) delete env[k];
  return env;
}

/** The end of a command's output, for failure messages. */
function tail(r: CommandResult, lines = 30): string {
  return plainText(`${r.stdout}\n${r.stderr}`).trim().split("\n").slice(-lines).join("\n");
}

/** Edits a copy of the example so that its repository has MUTABLE tags, as a consumer could. */
function makeRepositoryMutable(appDir: string): void {
  const file = path.join(appDir, "stacks", "tools-stack.ts");
  const original = fs.readFileSync(file, "utf8");
  const withImport = original.replace(/^(\s*)ImportedRole,$/m, "$1ImportedRole,\n$1TagMutability,");
  const edited = withImport.replace(
    `new EcrRepo(this, "AppRepo", { repositoryName: APP_REPOSITORY })`,
    `new EcrRepo(this, "AppRepo", { repositoryName: APP_REPOSITORY, tagMutability: TagMutability.MUTABLE })`,
  );
  if (withImport === original || edited === withImport) throw new Error(`${file} no longer has the lines this test edits; update makeRepositoryMutable`);
  fs.writeFileSync(file, edited);
}

/** The resource of a synthesized stack with the given construct path. */
function byPath(json: any, type: string, constructPath: string): any {
  const found = resources(json, type).find((r) => r["//"]?.metadata?.path === constructPath);
  if (!found) throw new Error(`no ${type} at ${constructPath}`);
  return found;
}

/** How many resources of each type a stack declares. */
function resourceCounts(json: any): Record<string, number> {
  return Object.fromEntries(Object.entries(json.resource ?? {}).map(([type, all]) => [type, Object.keys(all as object).length]));
}

beforeAll(async () => {
  workDir = tempDir("platform-app-example");
  requireTerraform(terraformEnv(path.join(workDir, "terraform"), cleanEnv()));
  // Packed and installed once per run, shared with the e2e suite; this copy is the test's own.
  progress(TAG, "the example installed from the packed library (npm pack, npm install; once per run)");
  example = await copyInstalledExample(path.join(workDir, "app"));
  const mutableDir = path.join(workDir, "app-mutable");
  cloneInstalledExample(example, mutableDir);
  makeRepositoryMutable(mutableDir);
  progress(TAG, "synthesizing (cdktf synth: the build with tsc, then the app) the example and its MUTABLE copy");
  synth = synthExample(example.appDir, appEnv());
  mutableSynth = synthExample(mutableDir, appEnv());
}, 600_000);

afterAll(async () => {
  // Let whatever still runs in the folder end before it goes (a test may have failed early).
  await Promise.all([synth, mutableSynth].filter((p) => p !== undefined));
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe("the example, installed from the packed tarball", () => {
  test("gets the library as a packed copy that uses the app's own cdktf, constructs and AWS provider", () => {
    const installed = path.join(example.appDir, "node_modules", LIBRARY_NAME);
    expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
    expect(fs.existsSync(path.join(installed, "lib", "index.js"))).toBe(true);
    expect(fs.existsSync(path.join(installed, "lib", "index.d.ts"))).toBe(true);
    for (const peer of ["cdktf", "constructs", "@cdktf/provider-aws"]) {
      expect({ peer, nested: fs.existsSync(path.join(installed, "node_modules", peer)) }).toEqual({ peer, nested: false });
      expect({ peer, installed: fs.existsSync(path.join(example.appDir, "node_modules", peer, "package.json")) }).toEqual({ peer, installed: true });
    }
  });

  test("type-checks with its own strict tsconfig (exactOptionalPropertyTypes, skipLibCheck false)", async () => {
    const tsconfig = JSON.parse(fs.readFileSync(path.join(example.appDir, "tsconfig.json"), "utf8"));
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false });
    // GIVEN the synth's app command builds with tsc -p . first (and stops when it fails)
    const pkg = JSON.parse(fs.readFileSync(path.join(example.appDir, "package.json"), "utf8"));
    const cdktfJson = JSON.parse(fs.readFileSync(path.join(example.appDir, "cdktf.json"), "utf8"));
    expect({ app: cdktfJson.app, build: pkg.scripts.build }).toEqual({ app: "npm run -s build && node dist/main.js", build: "tsc -p ." });
    // THEN that build reported no error and wrote the app
    const r = await synth;
    expect({ code: r.code, tscErrors: plainText(r.stdout + r.stderr).split("\n").filter((l) => /error TS\d+/.test(l)) }).toEqual({ code: 0, tscErrors: [] });
    expect(fs.existsSync(path.join(example.appDir, "dist", "main.js"))).toBe(true);
  });

  test("its tsconfig is valid on TypeScript 7 too (npm's current typescript: no node10 resolution, no esModuleInterop false), which type-checks the app the same", () => {
    const native = path.join(ROOT, "node_modules", "typescript-native", "bin", "tsc");
    const r = spawnSync(process.execPath, [native, "-p", ".", "--noEmit", "--pretty", "false"], { cwd: example.appDir, encoding: "utf8" });
    expect({ code: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ code: 0, out: "" });
  });

  test("cdktf synth writes the tools and the workload stack", async () => {
    const r = await synth;
    expect({ code: r.code, output: r.code === 0 ? "" : tail(r) }).toEqual({ code: 0, output: "" });
    expect(fs.readdirSync(path.join(example.appDir, "cdktf.out", "stacks")).sort()).toEqual(["tools", "workload"]);
  });

  test.each([
    ["tools", TOOLS],
    ["workload", WORKLOAD],
  ])("the %s provider assumes platform-deploy in %s and allows only that account", async (stack, account) => {
    await synth;
    expect(stackJson(example.appDir, stack).provider.aws).toEqual([
      {
        region: "eu-central-1",
        allowed_account_ids: [account],
        assume_role: [{ role_arn: `arn:aws:iam::${account}:role/platform-deploy`, session_name: "platform-app" }],
        default_tags: [{ tags: { App: "platform-app", ManagedBy: "cdktf" } }],
      },
    ]);
  });

  test("terraform init -backend=false and terraform validate pass for both stacks", async () => {
    await synth;
    const env = terraformEnv(path.join(workDir, "terraform"), cleanEnv());
    // both stacks in one validate (see validateStacks)
    const stacks = { tools: stackDir(example.appDir, "tools"), workload: stackDir(example.appDir, "workload") };
    expect(await validateStacks(stacks, path.join(workDir, "validate"), env)).toEqual(expectedValidation(["tools", "workload"]));
  });
});

describe("the synthesized tools stack", () => {
  let tools: any;
  beforeAll(async () => {
    await synth;
    tools = stackJson(example.appDir, "tools");
  });

  test("creates the repository, the SSM parameter, both projects and the dind role; the builder role and base-images are imported, not created", () => {
    expect(resourceCounts(tools)).toEqual({
      aws_cloudwatch_log_group: 2,
      aws_codebuild_project: 2,
      aws_ecr_lifecycle_policy: 1,
      aws_ecr_repository: 1,
      aws_ecr_repository_policy: 1,
      aws_iam_role: 1,
      aws_iam_role_policy: 2,
      aws_ssm_parameter: 1,
    });
    expect(only(tools, "aws_ecr_repository")).toMatchObject({ name: "platform/app", image_tag_mutability: "IMMUTABLE" });
    expect(only(tools, "aws_ssm_parameter")).toMatchObject({ name: "/platform/app/build-config", type: "String" });
    expect(byPath(tools, "aws_codebuild_project", "tools/Build/Resource")).toMatchObject({
      name: "platform-app-build",
      service_role: `arn:aws:iam::${TOOLS}:role/platform-builder`,
    });
    expect(byPath(tools, "aws_codebuild_project", "tools/DindBuild/Resource")).toMatchObject({
      name: "platform-app-dind",
      service_role: "${aws_iam_role.DindBuild_Role_FB72DCA5.arn}",
    });
  });

  test("the repository policy names the workload's task role ARN, not the account root", () => {
    expect(statementsOf(tools, "AppRepo/PullPolicyDocument")).toEqual([
      { sid: "CrossAccountEcrPull", effect: "Allow", actions: PULL_ACTIONS, principals: [{ type: "AWS", identifiers: [TASK_ROLE_ARN] }] },
    ]);
    expect(only(tools, "aws_ecr_repository_policy").policy).not.toContain(":root");
  });

  test("the builder role's inline policy is attached to the existing role platform-builder", () => {
    expect(byPath(tools, "aws_iam_role_policy", "tools/BuilderRole/Policy").role).toBe("platform-builder");
    expect(statement(tools, "BuilderRole/PolicyDocument", "EcrPull").resources).toEqual([
      expect.stringMatching(new RegExp(`^arn:.+:ecr:eu-central-1:${TOOLS}:repository/platform/base-images$`)),
      // the repository of the same stack by its literal ARN: its account, region and name are known at synth
      `arn:aws:ecr:eu-central-1:${TOOLS}:repository/platform/app`,
    ]);
  });

  test("the SSM parameter's ARN in the builder's policy goes through a Terraform local with one slash after parameter", () => {
    const ssm = statement(tools, "BuilderRole/PolicyDocument", "SsmParameters");
    expect(ssm).toMatchObject({ actions: ["ssm:GetParameters"], resources: [expect.stringMatching(/^\$\{local\.\w+\}$/)] });
    const local = /^\$\{local\.(\w+)\}$/.exec(ssm.resources[0])![1] as string;
    expect(tools.locals[local]).toContain(`:parameter/\${trimprefix(aws_ssm_parameter.BuildConfig.name, "/")}`);
    expect(JSON.stringify(tools)).not.toContain("parameter//");
  });
});

describe("the synthesized workload stack", () => {
  let workload: any;
  beforeAll(async () => {
    await synth;
    workload = stackJson(example.appDir, "workload");
  });

  test("creates the task role and an inline policy that pulls from the literal repository ARN, and reads no state of tools", () => {
    expect(resourceCounts(workload)).toEqual({ aws_iam_role: 1, aws_iam_role_policy: 1 });
    expect(only(workload, "aws_iam_role").name).toBe("app-task");
    expect(only(workload, "aws_iam_role_policy").role).toBe("${aws_iam_role.TaskRole.name}");
    expect(statement(workload, "TaskRoleGrants/PolicyDocument", "EcrPull")).toEqual({
      sid: "EcrPull",
      effect: "Allow",
      actions: PULL_ACTIONS,
      resources: [REPOSITORY_ARN],
    });
    expect(Object.keys(workload.data ?? {})).not.toContain("terraform_remote_state");
  });
});

describe("the policy pack in the consumer", () => {
  test("a copy whose repository is MUTABLE fails synth with CKV_AWS_51", async () => {
    const r = await mutableSynth;
    expect(r.code).not.toBe(0);
    expect(plainText(r.stdout + r.stderr)).toContain("CKV_AWS_51 violated at tools/AppRepo/Resource");
  });
});
