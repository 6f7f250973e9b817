import { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EnvironmentConfig, projectRoot } from "../../config/environments";
import { selectStacks } from "../stacks/list";
import { ALLOW_LOCAL_ENDPOINT, ALLOW_LOCAL_ENDPOINT_FLAG, allowLocalEndpointProblem, localEndpointRefusal, localEndpointUse } from "../../config/local-endpoint-guard";
import { awsConfig, type ClientSettings } from "./account";
import { deployedLocalEndpoint } from "../shared/endpoint-records";
import { runCli } from "../shared/cli";
import { ensureLockTable, ensureStateBucket, lockTableProblems, stateBucketProblems, type StateBucket } from "./state-bucket";

export const USAGE = `Usage: npm run bootstrap-state [-- options]

Creates, or brings up to the standard, the S3 bucket that holds the Terraform state of each
environment of ENVIRONMENTS (state.bucket, in state.region), and its DynamoDB lock table when
state.dynamodbTable is set: versioned (every state version kept, so an overwritten or corrupted
state can be restored: docs/recovery.md), encrypted (SSE-KMS with state.kmsKeyArn, else SSE-S3),
public access blocked, objects owned by the bucket owner (no ACLs), and a bucket policy that
denies every request made without TLS (other statements of an existing policy are kept; not for
local environments: the local AWS is plain http and enforces the policy). The lock
table is on-demand, encrypted, with point-in-time recovery. Idempotent: run it before the first
deploy of an environment, and again at any time. Nothing else is created or deleted.

  --check                  change nothing: report what differs from the standard (exit 1 if anything)
  --allow-local-endpoint   run for real environments against the endpoint AWS_ENDPOINT_URL(_<SERVICE>)
                           sets, on purpose; refused without it, before anything runs
  --help                   this text
Environment: ENVIRONMENTS (names or "all"; default every local environment), CONFIG_FILE,
AWS_ENDPOINT_URL (local environments: the local AWS; default the one npm start --keep-running
keeps), ALLOW_LOCAL_ENDPOINT.

Real environments use the default AWS credentials, or state.roleArn (assumed) when it is set:
the same principal the S3 backend uses.`;

export interface BootstrapFlags {
  readonly check: boolean;
  readonly allowLocalEndpoint: boolean;
}

/** Parses the flags; throws one line per problem. */
export function parseBootstrapFlags(argv: string[], env: NodeJS.ProcessEnv = {}): BootstrapFlags | "help" {
  const problems: string[] = [];
  const allowProblem = allowLocalEndpointProblem(env[ALLOW_LOCAL_ENDPOINT]);
  if (allowProblem) problems.push(allowProblem);
  let check = false;
  let allowLocalEndpoint = env[ALLOW_LOCAL_ENDPOINT] === "1";
  for (const a of argv) {
    if (a === "--help" || a === "-h") return "help";
    if (a === "--check") check = true;
    else if (a === ALLOW_LOCAL_ENDPOINT_FLAG) allowLocalEndpoint = true;
    else problems.push(`unknown flag ${JSON.stringify(a)} (known: --check, ${ALLOW_LOCAL_ENDPOINT_FLAG}, --help)`);
  }
  if (problems.length) throw new Error(problems.join("\n"));
  return { check, allowLocalEndpoint };
}

/** One state bucket and who reaches it; several environments may share it. */
interface Target extends StateBucket {
  readonly environments: string[];
  readonly lockTable?: string;
  readonly roleArn?: string;
  /** The local AWS endpoint, or the endpoint a real environment runs against on purpose. */
  readonly endpoint?: string;
}

/** The distinct state buckets of the environments (bucket, region and role), in config order. */
export function stateTargets(envs: readonly EnvironmentConfig[], endpointOf: (e: EnvironmentConfig) => string | undefined): Target[] {
  const byKey = new Map<string, Target & { environments: string[] }>();
  for (const e of envs) {
    const region = e.state.region ?? e.regions[0];
    const endpoint = endpointOf(e);
    const key = JSON.stringify([e.state.bucket, region, e.state.roleArn, endpoint]);
    const t = byKey.get(key);
    if (t) {
      t.environments.push(e.name);
      continue;
    }
    byKey.set(key, { bucket: e.state.bucket, region, tlsOnly: e.local !== true, kmsKeyArn: e.state.kmsKeyArn, lockTable: e.state.dynamodbTable, roleArn: e.state.roleArn, endpoint, environments: [e.name] });
  }
  return [...byKey.values()];
}

/** SDK client settings for a target: the endpoint's test credentials, or the caller's, or state.roleArn's. */
function targetConfig(t: Target): Promise<ClientSettings> {
  return awsConfig({ region: t.region, endpoint: t.endpoint, roleArn: t.roleArn, session: "bootstrap-state" });
}

export async function runBootstrap(flags: BootstrapFlags, env: NodeJS.ProcessEnv = process.env, log = (s: string) => process.stdout.write(s)): Promise<number> {
  const root = projectRoot();
  const envs = selectStacks({ env, cwd: root }).environments;
  const onLocalEndpoint = localEndpointUse(envs, env);
  if (onLocalEndpoint && !flags.allowLocalEndpoint) throw new Error(localEndpointRefusal(onLocalEndpoint, `pass ${ALLOW_LOCAL_ENDPOINT_FLAG}`));
  const local = envs.some((e) => e.local) ? deployedLocalEndpoint(env, "bootstrap-state", "bootstrapping", log, "start one with npm start -- --keep-running", "bootstrap") : undefined;
  // A real environment allowed onto the local endpoint runs where the variables point.
  const realEndpoint = onLocalEndpoint ? env.AWS_ENDPOINT_URL : undefined;
  const targets = stateTargets(envs, (e) => (e.local ? local : realEndpoint));
  let differs = 0;
  for (const t of targets) {
    const where = `s3://${t.bucket} (${t.region}; ${t.environments.length === 1 ? "environment" : "environments"} ${t.environments.join(", ")}${t.endpoint ? `; at ${t.endpoint}` : ""})`;
    log(`${flags.check ? "checking" : "bootstrapping"} ${where}\n`);
    const config = await targetConfig(t);
    const s3 = new S3Client(config);
    const ddb = t.lockTable ? new DynamoDBClient(config) : undefined;
    if (!flags.check) {
      const created = await ensureStateBucket(s3, t);
      log(`  bucket ${created ? "created" : "exists"}; versioning, ${t.kmsKeyArn ? "SSE-KMS" : "SSE-S3"} encryption, public access block, BucketOwnerEnforced${t.tlsOnly ? " and the TLS-only policy are" : " are (no TLS-only policy: the local AWS is plain http)"} set\n`);
      if (ddb && t.lockTable) log(`  lock table ${t.lockTable} ${(await ensureLockTable(ddb, t.lockTable)) ? "created" : "exists"}; point-in-time recovery on\n`);
    }
    const problems = [
      ...(await stateBucketProblems(s3, t)).map((p) => `bucket ${t.bucket}: ${p}`),
      ...(ddb && t.lockTable ? (await lockTableProblems(ddb, t.lockTable)).map((p) => `lock table ${t.lockTable}: ${p}`) : []),
    ];
    for (const p of problems) log(`  differs: ${p}\n`);
    if (!problems.length) log("  meets the standard\n");
    differs += problems.length;
  }
  if (differs) {
    log(`${differs} difference(s) from the standard${flags.check ? ": run npm run bootstrap-state (without --check) to fix them" : ""}\n`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  runCli<BootstrapFlags>({
    parse: () => parseBootstrapFlags(process.argv.slice(2), process.env),
    usage: USAGE,
    run: (flags) => runBootstrap(flags),
  });
}
