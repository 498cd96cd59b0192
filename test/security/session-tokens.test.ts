import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DescribeKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../src/util/index.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev, type DevDeployment } from '../e2e/harness.ts';

const SESSION_TOKEN = 'FwoGZXIvYXdzEDoaDEXAMPLESESSIONTOKEN';
const INVALID_TOKEN = 'The security token included in the request is invalid.';

interface Signed {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  service: string;
  sessionToken?: string;
  /** Headers sent but left out of the signature. */
  unsigned?: Record<string, string>;
}

describe('temporary credentials and unsigned operation names', () => {
  let dev: DevDeployment;

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
  });
  after(async () => {
    await dev.stop();
  });

  /** A request signed by the administrator's access key with @smithy/signature-v4, as the AWS SDK signs. */
  async function send({ method, path, query = {}, headers = {}, body, service, sessionToken, unsigned = {} }: Signed): Promise<{ status: number; json: Record<string, unknown> }> {
    const url = new URL(path, dev.endpoint());
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const signer = new SignatureV4({
      service,
      region: 'us-east-1',
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, ...(sessionToken !== undefined ? { sessionToken } : {}) },
      sha256: NodeSha256,
    });
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers: { host: url.host, ...headers },
      ...(body !== undefined ? { body } : {}),
    });
    const { host: _host, ...sent } = { ...signed.headers, ...unsigned };
    const response = await fetch(url, { method, headers: sent, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  const kmsCall = (operation: string, body: object, options: Partial<Signed> = {}) =>
    send({
      method: 'POST',
      path: '/',
      service: 'kms',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
      ...options,
    });

  it('refuses the AWS SDK signing with temporary credentials on the KMS API', async () => {
    const client = new KMSClient({
      region: 'us-east-1',
      endpoint: dev.endpoint(),
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, sessionToken: SESSION_TOKEN },
      maxAttempts: 1,
    });
    await assert.rejects(client.send(new ListKeysCommand({})), { name: 'UnrecognizedClientException', message: INVALID_TOKEN });
    await assert.rejects(client.send(new CreateKeyCommand({})), { name: 'UnrecognizedClientException', message: INVALID_TOKEN });
    // The same access key without a token is served.
    assert.ok((await dev.client().send(new ListKeysCommand({}))).Keys);
  });

  it('refuses a session token carried in the query string of a KMS request', async () => {
    const answer = await kmsCall('ListKeys', {}, { query: { 'X-Amz-Security-Token': SESSION_TOKEN } });
    assert.deepEqual([answer.status, answer.json.__type, answer.json.message], [400, 'UnrecognizedClientException', INVALID_TOKEN]);
  });

  it('refuses temporary credentials on the management API /mgmt/v1', async () => {
    const units = (sessionToken?: string) => send({ method: 'GET', path: '/mgmt/v1/units', service: 'concord-mgmt', ...(sessionToken !== undefined ? { sessionToken } : {}) });
    assert.equal((await units()).status, 200);
    const answer = await units(SESSION_TOKEN);
    assert.deepEqual([answer.status, answer.json.error, answer.json.message], [401, 'UnrecognizedClientException', INVALID_TOKEN]);
  });

  it('refuses a request whose X-Amz-Target is not signed, so a signed request cannot be replayed as another operation', async () => {
    const kms = dev.client();
    const KeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // Signed as if for DescribeKey without naming the operation, then sent as ScheduleKeyDeletion with the same body.
    const answer = await send({
      method: 'POST',
      path: '/',
      service: 'kms',
      body: JSON.stringify({ KeyId }),
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      unsigned: { 'x-amz-target': 'TrentService.ScheduleKeyDeletion' },
    });
    assert.deepEqual([answer.status, answer.json.__type, answer.json.message], [400, 'InvalidSignatureException', "'X-Amz-Target' must be a signed header."]);
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState, 'Enabled');
  });
});
