import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../src/util/index.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from './harness.ts';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface StsAnswer {
  status: number;
  text: string;
  /** The text of the first element of that name, e.g. field('Code'). */
  field(name: string): string | undefined;
}

/** An STS call as botocore sends it: form-encoded POST /, SigV4 for 'sts', through plain fetch. */
export async function stsCall(
  endpoint: string,
  params: Record<string, string>,
  credentials: Credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  region = 'us-east-1',
): Promise<StsAnswer> {
  const url = new URL(endpoint);
  const body = new URLSearchParams({ Version: '2011-06-15', ...params }).toString();
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: NodeSha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  const { host: _host, ...headers } = signed.headers;
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, text, field: (name) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1] };
}

/** AssumeRole's credentials, failing loudly when it is refused. */
export async function assumeRole(
  endpoint: string,
  params: Record<string, string>,
  credentials?: Credentials,
  region?: string,
): Promise<Required<Credentials> & { arn: string }> {
  const answer = await stsCall(endpoint, { Action: 'AssumeRole', RoleSessionName: 'test', ...params }, credentials, region);
  if (answer.status !== 200) throw new Error(`AssumeRole answered ${answer.status}: ${answer.text}`);
  return {
    accessKeyId: answer.field('AccessKeyId')!,
    secretAccessKey: answer.field('SecretAccessKey')!,
    sessionToken: answer.field('SessionToken')!,
    arn: answer.field('Arn')!,
  };
}
