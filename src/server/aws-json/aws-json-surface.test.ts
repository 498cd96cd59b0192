import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { MasterKeyUnavailableError, SoftwareCryptoUnit } from '../../cryptounits/index.ts';
import { KeyService } from '../../kms/index.ts';
import { StoreUnavailableError } from '../../store/index.ts';
import { NodeSha256 } from '../../util/index.ts';
import { buildRegionServer } from '../region-server.ts';
import { ACCOUNT, ADMIN_KEY, inject, kmsCall, PRINCIPALS, REGION, testRegionServer } from '../test-region-server.ts';
import { toKmsError } from './aws-json-surface.ts';

/** Asserts an answer in AWS's error format: {__type, message}, X-Amzn-ErrorType, the exact AWS JSON content type. */
function assertAwsError(response: LightMyRequestResponse, type: string, status: number, message?: string | RegExp): void {
  assert.equal(response.statusCode, status, response.body);
  assert.equal(response.headers['content-type'], 'application/x-amz-json-1.1');
  assert.equal(response.headers['x-amzn-errortype'], type);
  assert.match(String(response.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
  const body = response.json<{ __type: string; message: string }>();
  assert.deepEqual(Object.keys(body), ['__type', 'message']);
  assert.equal(body.__type, type);
  if (typeof message === 'string') assert.equal(body.message, message);
  else if (message) assert.match(body.message, message);
}

describe('the AWS JSON surface', () => {
  const { app, store, dir } = testRegionServer('aws-json-surface');
  after(async () => {
    await app.close();
    await store.close();
  });

  it('answers a signed call in AWS JSON 1.1, its content type exact', async () => {
    const created = await kmsCall(app, 'CreateKey', {});
    assert.equal(created.statusCode, 200, created.body);
    assert.equal(created.headers['content-type'], 'application/x-amz-json-1.1');
    const KeyId = created.json<{ KeyMetadata: { KeyId: string } }>().KeyMetadata.KeyId;
    const encrypted = await kmsCall(app, 'Encrypt', { KeyId, Plaintext: Buffer.from('hello').toString('base64') });
    assert.equal(encrypted.statusCode, 200, encrypted.body);
    const { CiphertextBlob } = encrypted.json<{ CiphertextBlob: string }>();
    assert.equal(Buffer.from((await kmsCall(app, 'Decrypt', { CiphertextBlob })).json<{ Plaintext: string }>().Plaintext, 'base64').toString(), 'hello');
  });

  it('answers text beyond ASCII in its exact UTF-8, beside base64 blobs', async () => {
    const Description = 'clé für 鍵 🔑 "quoted" \\ and \u2028';
    const created = await kmsCall(app, 'CreateKey', { Description });
    assert.equal(created.statusCode, 200, created.body);
    assert.equal(Number(created.headers['content-length']), Buffer.byteLength(created.body));
    const { KeyMetadata } = created.json<{ KeyMetadata: { KeyId: string; Description: string } }>();
    assert.equal(KeyMetadata.Description, Description);
    const encrypted = await kmsCall(app, 'Encrypt', { KeyId: KeyMetadata.KeyId, Plaintext: 'AAEC', EncryptionContext: { é: '鍵' } });
    const answer = encrypted.json<{ CiphertextBlob: string; KeyId: string; EncryptionAlgorithm: string }>();
    assert.deepEqual(Object.keys(answer), ['CiphertextBlob', 'KeyId', 'EncryptionAlgorithm']);
    assert.match(answer.CiphertextBlob, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.equal(encrypted.body, JSON.stringify(answer));
  });

  it('refuses an unsigned or forged call in its format before reading the body', async () => {
    assertAwsError(
      await inject(app, { url: '/', body: '{not json', headers: { 'x-amz-target': 'TrentService.ListKeys' } }),
      'MissingAuthenticationTokenException',
      403,
    );
    const forged = await kmsCall(app, 'ListKeys', {}, { ...ADMIN_KEY, secretAccessKey: 'not-the-secret' });
    assertAwsError(forged, 'InvalidSignatureException', 400);
  });

  it('checks inputs against the botocore model', async () => {
    assertAwsError(
      await kmsCall(app, 'Encrypt', { Plaintext: 'AA==' }),
      'ValidationException',
      400,
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    );
    assertAwsError(await kmsCall(app, 'ListKeys', { Limit: 'ten' }), 'SerializationException', 400);
  });

  it('answers an unknown operation UnknownOperationException', async () => {
    assertAwsError(
      await kmsCall(app, 'MakeCoffee', {}),
      'UnknownOperationException',
      400,
      'The operation TrentService.MakeCoffee is not known to this service.',
    );
  });

  it('answers a malformed body SerializationException', async () => {
    const signed = { url: '/', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' }, service: 'kms' };
    assertAwsError(await inject(app, { ...signed, body: '{"Limit": ' }), 'SerializationException', 400, 'The request body is not valid JSON.');
    const truncated = await app.inject({ method: 'POST', url: '/', payload: '{}', headers: { ...signed.headers, 'content-length': '10' } });
    assertAwsError(truncated, 'SerializationException', 400, 'The request could not be read.');
  });

  it('answers a body over 1 MiB RequestEntityTooLargeException, 413', async () => {
    const response = await kmsCall(app, 'Encrypt', { KeyId: 'alias/none', Plaintext: Buffer.alloc(800 * 1024).toString('base64') });
    assertAwsError(response, 'RequestEntityTooLargeException', 413, 'The request body is too large.');
  });

  it('answers a key wrapped under a master key the region does not hold KeyUnavailableException, 500', async () => {
    const created = await kmsCall(app, 'CreateKey', {});
    const KeyId = created.json<{ KeyMetadata: { KeyId: string } }>().KeyMetadata.KeyId;
    // A second node of the region sharing the store, with a crypto unit holding another master key.
    const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'another-crypto-unit.json'));
    const other = buildRegionServer({
      service: new KeyService({ region: REGION, account: ACCOUNT, store, unit, principals: PRINCIPALS }),
      accessKeys: [ADMIN_KEY],
      logger: pino({ level: 'silent' }),
    });
    try {
      const response = await kmsCall(other, 'Encrypt', { KeyId, Plaintext: 'AA==' });
      assertAwsError(response, 'KeyUnavailableException', 500, new MasterKeyUnavailableError().message);
    } finally {
      await other.close();
    }
  });

  it('tells each infrastructure error as the AWS exception AWS would answer', () => {
    const unavailable = toKmsError(new StoreUnavailableError(new Error('connect ECONNREFUSED')));
    assert.deepEqual(
      [unavailable?.code, unavailable?.status, unavailable?.message],
      ['DependencyTimeoutException', 503, 'The key store is unavailable; try again.'],
    );
    const noMasterKey = toKmsError(new MasterKeyUnavailableError('load one'));
    assert.deepEqual([noMasterKey?.code, noMasterKey?.status, noMasterKey?.message], ['KeyUnavailableException', 500, 'load one']);
    assert.equal(toKmsError(new Error('a bug')), undefined);
  });
});

describe('requests signed for another region of the deployment', () => {
  const PEER = 'us-west-2';
  const received: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
  // Stands for the peer region: records what reaches it and answers as a region would.
  const peer = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(400, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-RequestId': 'the-peer-request-id',
        'x-amzn-ErrorType': 'NotFoundException',
      });
      response.end('{"__type":"NotFoundException","message":"from the peer"}');
    });
  });
  const closedPort = createServer();
  let region: ReturnType<typeof testRegionServer>;
  let down: FastifyInstance;
  before(async () => {
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => closedPort.listen(0, '127.0.0.1', resolve));
    const unreachable = `http://127.0.0.1:${(closedPort.address() as AddressInfo).port}`;
    await new Promise((resolve) => closedPort.close(resolve));
    region = testRegionServer('aws-json-forwarding', () => ({ peers: { [PEER]: { url: `http://127.0.0.1:${(peer.address() as AddressInfo).port}` } } }));
    down = buildRegionServer({ service: region.service, accessKeys: [ADMIN_KEY], logger: pino({ level: 'silent' }), peers: { [PEER]: { url: unreachable } } });
  });
  after(async () => {
    await region.app.close();
    await down.close();
    await region.store.close();
    await new Promise((resolve) => peer.close(resolve));
  });

  /** A Describe call signed for `signingRegion`, as an SDK configured for that region signs it. */
  const signedFor = async (signingRegion: string, body = '{"KeyId":"alias/x"}') => {
    const signer = new SignatureV4({ service: 'kms', region: signingRegion, credentials: ADMIN_KEY, sha256: NodeSha256 });
    const headers = { host: 'localhost', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' };
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: 'localhost', path: '/', query: {}, headers, body });
    return { method: 'POST' as const, url: '/', headers: signed.headers, payload: body };
  };

  it('forwards the request unchanged to the peer and relays its answer: status, request ID, error type, body', async () => {
    const request = await signedFor(PEER);
    const answer = await region.app.inject(request);
    assert.equal(answer.statusCode, 400);
    assert.equal(answer.headers['x-amzn-requestid'], 'the-peer-request-id');
    assert.equal(answer.headers['x-amzn-errortype'], 'NotFoundException');
    assert.equal(answer.headers['content-type'], 'application/x-amz-json-1.1');
    assert.equal(answer.body, '{"__type":"NotFoundException","message":"from the peer"}');
    const forwarded = received.at(-1)!;
    assert.equal(forwarded.method, 'POST');
    assert.equal(forwarded.url, '/');
    assert.equal(forwarded.body.toString(), request.payload);
    for (const name of ['host', 'authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-target', 'content-type']) {
      assert.equal(forwarded.headers[name], (request.headers as Record<string, string>)[name], name);
    }
    assert.equal(forwarded.headers['x-concord-forwarded-from'], REGION);
  });

  it('answers DependencyTimeoutException (503) in AWS format when the peer cannot be reached', async () => {
    const answer = await down.inject(await signedFor(PEER));
    assertAwsError(
      answer,
      'DependencyTimeoutException',
      503,
      new RegExp(`^The request is signed for ${PEER}, which could not be reached at http://127\\.0\\.0\\.1:\\d+ \\(.*\\); try again\\.$`),
    );
  });

  it('serves a request signed for its own region itself, and refuses any other region naming those that exist', async () => {
    const before = received.length;
    assert.equal((await region.app.inject(await signedFor(REGION))).statusCode, 400);
    assert.equal(received.length, before);
    const answer = await region.app.inject(await signedFor('eu-north-1'));
    assertAwsError(
      answer,
      'InvalidSignatureException',
      400,
      `Credential should be scoped to a valid region, not 'eu-north-1'. This deployment's regions: ${REGION} (this endpoint), ${PEER} (http://127.0.0.1:${(peer.address() as AddressInfo).port}).`,
    );
    assert.equal(received.length, before);
  });
});
