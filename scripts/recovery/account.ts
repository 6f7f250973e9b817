/** SDK client settings for the account and region a stack's provider or backend works in. */
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { clientConfig } from "../shared/aws-clients";

export type ClientSettings = ReturnType<typeof clientConfig>;

const assumed = new Map<string, Promise<ClientSettings["credentials"]>>();

/**
 * Client settings: the local endpoint `endpoint` (placeholder credentials) or the default credential
 * chain, then `roleArn` assumed when given (once per endpoint and role).
 */
export async function awsConfig(opts: { region: string; endpoint?: string; roleArn?: string; session: string }): Promise<ClientSettings> {
  const base = clientConfig({ region: opts.region, endpoint: opts.endpoint });
  if (!opts.roleArn) return base;
  const key = `${opts.endpoint ?? "aws"} ${opts.roleArn}`;
  if (!assumed.has(key)) {
    assumed.set(
      key,
      new STSClient(base).send(new AssumeRoleCommand({ RoleArn: opts.roleArn, RoleSessionName: opts.session })).then((r) => ({
        accessKeyId: r.Credentials!.AccessKeyId!,
        secretAccessKey: r.Credentials!.SecretAccessKey!,
        sessionToken: r.Credentials!.SessionToken!,
      })),
    );
  }
  return { ...base, credentials: await assumed.get(key) };
}
