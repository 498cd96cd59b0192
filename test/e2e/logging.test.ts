import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, ReEncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ACCESS_KEY_ID, rawRequest, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';

const CANARY = Buffer.from('CANARY-PLAINTEXT-must-never-reach-the-log-5d1e');

describe('the JSON log', () => {
  let dev: DevDeployment;
  let kms: KMSClient;
  const requestIds: string[] = [];
  const secretsSeen: Buffer[] = [CANARY];
  let lines: Record<string, unknown>[] = [];
  let text = '';
  /** Sends through the SDK, remembering the request ID of the answer, success or error. */
  const send = async <T extends { $metadata: { requestId?: string } }>(sent: Promise<T>): Promise<T> => {
    try {
      const output = await sent;
      requestIds.push(output.$metadata.requestId!);
      return output;
    } catch (error) {
      requestIds.push((error as { $metadata: { requestId: string } }).$metadata.requestId);
      throw error;
    }
  };

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'], extraArgs: ['--log-level', 'trace'] });
    kms = dev.client();
    const KeyId = (await send(kms.send(new CreateKeyCommand({})))).KeyMetadata!.KeyId!;
    const OtherKey = (await send(kms.send(new CreateKeyCommand({})))).KeyMetadata!.KeyId!;
    const { CiphertextBlob } = await send(kms.send(new EncryptCommand({ KeyId, Plaintext: CANARY, EncryptionContext: { log: 'test' } })));
    await send(kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { log: 'test' } })));
    await send(kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { log: 'wrong' } }))).catch(() => undefined);
    await send(kms.send(new ReEncryptCommand({ CiphertextBlob, SourceEncryptionContext: { log: 'test' }, DestinationKeyId: OtherKey })));
    const dataKey = await send(kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' })));
    secretsSeen.push(Buffer.from(dataKey.Plaintext!));
    await send(kms.send(new EncryptCommand({ KeyId: 'alias/absent', Plaintext: CANARY }))).catch(() => undefined);
    for (const request of [
      { operation: 'Encrypt', body: JSON.stringify({ KeyId, Plaintext: Buffer.from(CANARY.toString().repeat(100)).toString('base64') }) },
      { operation: 'Encrypt', body: JSON.stringify({ KeyId, Plaintext: `${CANARY.toString()}!` }) },
      {
        operation: 'Encrypt',
        body: JSON.stringify({ KeyId, Plaintext: CANARY.toString('base64') }),
        credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: 'wrong-secret-wrong-secret' },
      },
      { operation: 'Encrypt', body: JSON.stringify({ KeyId, Plaintext: CANARY.toString('base64') }), sentBody: '{}' },
    ]) {
      const response = await rawRequest(dev.endpoint(), request);
      assert.ok(response.status >= 400 && response.status < 500, response.text);
      requestIds.push(response.headers.get('x-amzn-RequestId')!);
    }
    await dev.stop();
    text = dev.output();
    lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  });
  after(async () => {
    await dev.stop();
  });

  it('writes one JSON request line per request, each carrying its request ID and operation', () => {
    const requests = lines.filter((line) => line.msg === 'request');
    assert.ok(requests.length >= requestIds.length, `${requests.length} request lines for ${requestIds.length} requests`);
    for (const line of requests) {
      assert.match(String(line.reqId), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(typeof line.status, 'number');
    }
    const logged = new Set(requests.map((line) => line.reqId));
    for (const id of requestIds) assert.ok(logged.has(id), `request ${id} is not in the log`);
    assert.ok(requests.some((line) => line.operation === 'Encrypt' && line.status === 200));
    assert.ok(requests.some((line) => line.operation === 'Decrypt' && line.status === 400));
  });

  it('tells on each request line the error code, the key the request names and the caller, never what it encrypts', () => {
    const requests = lines.filter((line) => line.msg === 'request');
    const admin = 'arn:aws:iam::111122223333:user/admin';
    const encrypted = requests.find((line) => line.operation === 'Encrypt' && line.status === 200);
    assert.match(String(encrypted?.keyId), /^arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36}$/);
    assert.equal(encrypted?.principal, admin);
    assert.equal(encrypted.error, undefined);
    const refused = requests.find((line) => line.operation === 'Decrypt' && line.status === 400);
    assert.equal(refused?.error, 'InvalidCiphertextException');
    assert.equal(refused.principal, admin);
    const absent = requests.find((line) => line.keyId === 'alias/absent');
    assert.equal(absent?.error, 'NotFoundException');
    assert.equal(absent.operation, 'Encrypt');
    const created = requests.filter((line) => line.operation === 'CreateKey');
    assert.ok(created.every((line) => typeof line.keyId === 'string'));
    const unsigned = requests.find((line) => line.error === 'IncompleteSignatureException' || line.error === 'InvalidSignatureException');
    assert.ok(unsigned, 'the request with a wrong secret is logged with its error');
    assert.equal(unsigned.principal, undefined);
  });

  it('never contains plaintext, raw or encoded', () => {
    for (const secret of secretsSeen) {
      for (const form of [secret.toString('utf8'), secret.toString('base64'), secret.toString('base64').slice(0, 24), secret.toString('hex')]) {
        assert.equal(text.includes(form), false, `the log contains ${form}`);
      }
    }
    assert.equal(text.includes('CANARY-PLAINTEXT'), false);
  });

  it('never contains the secret access key or the Authorization header', () => {
    assert.equal(text.includes(SECRET_ACCESS_KEY), false);
    assert.equal(/AWS4-HMAC-SHA256|Signature=|authorization/i.test(text), false);
  });
});
