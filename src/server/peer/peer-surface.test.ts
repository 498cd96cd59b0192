import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { MasterKeyUnavailableError, SoftwareCryptoUnit } from '../../cryptounits/index.ts';
import { KeyService } from '../../kms/index.ts';
import { Outbox } from '../../outbox/index.ts';
import { MultiRegionKeys, RegionIdentity } from '../../regions/index.ts';
import { SqliteStore, StoreUnavailableError } from '../../store/index.ts';
import { buildRegionServer } from '../region-server.ts';
import { ACCOUNT, ADMIN_KEY, inject, REGION } from '../test-region-server.ts';
import { peerError } from './peer-surface.ts';

/** Asserts a short unsigned answer in the peer format, {error: {code, message}}. */
function assertPeerError(response: LightMyRequestResponse, status: number, code: string, message?: string): void {
  assert.equal(response.statusCode, status, response.body);
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(response.headers['x-concord-signature'], undefined);
  assert.equal(response.headers['x-amzn-errortype'], undefined);
  const body = response.json<{ error: { code: string; message: string } }>();
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  if (message !== undefined) assert.equal(body.error.message, message);
}

describe('the peer surface', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-peer-surface-'));
  const store = new SqliteStore(join(dir, 'keys.db'));
  const peer = RegionIdentity.openOrInit(join(dir, 'peer-identity.json'));
  const outbox = new Outbox(store, pino({ level: 'silent' }));
  const multiRegion = new MultiRegionKeys({
    region: REGION,
    store,
    identity: RegionIdentity.openOrInit(join(dir, 'identity.json')),
    peers: { 'eu-west-1': { url: 'http://127.0.0.1:1', publicKey: peer.publicKey } },
    outbox,
    logger: pino({ level: 'silent' }),
  });
  const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
  const service = new KeyService({
    region: REGION,
    account: ACCOUNT,
    store,
    unit,
    importedMaterialBinder: multiRegion.importedMaterialBinder,
    moreOperations: multiRegion.operations,
  });
  service.events.subscribe(multiRegion.subscriber);
  const app = buildRegionServer({ service, accessKeys: [ADMIN_KEY], logger: pino({ level: 'silent' }), peerApi: multiRegion.peerApi });
  after(async () => {
    await app.close();
    await outbox.close();
    await store.close();
  });
  const json = { 'content-type': 'application/json' };

  it('answers a request no peer signed 401, short and unsigned', async () => {
    assertPeerError(
      await inject(app, { url: '/peer/v1/hello', body: '{}', headers: json }),
      401,
      'PeerAuthentication',
      'The request is not signed by a peer region.',
    );
  });

  it('answers a body over 1 MiB MalformedPeerRequest, 400, before authenticating anyone', async () => {
    assertPeerError(
      await inject(app, { url: '/peer/v1/sync', body: Buffer.alloc(1024 * 1024 + 1, 0x20), headers: json }),
      400,
      'MalformedPeerRequest',
      'The request body is too large.',
    );
  });

  it('answers a body Fastify cannot read MalformedPeerRequest, 400', async () => {
    const response = await app.inject({ method: 'POST', url: '/peer/v1/sync', payload: '{}', headers: { ...json, 'content-length': '10' } });
    assertPeerError(response, 400, 'MalformedPeerRequest', 'The request could not be read.');
  });

  it('answers an unknown route under /peer/v1 404 in its format', async () => {
    assertPeerError(await inject(app, { method: 'GET', url: '/peer/v1/hello' }), 404, 'RouteNotFound', 'No route for GET /peer/v1/hello');
    assertPeerError(await inject(app, { url: '/peer/v1/sync/more', body: '{}', headers: json }), 404, 'RouteNotFound', 'No route for POST /peer/v1/sync/more');
  });

  it('tells an unavailable store and a missing master key by their status, unsigned, and anything else as PeerInternal', () => {
    const answers = [new StoreUnavailableError(new Error('connect ECONNREFUSED')), new MasterKeyUnavailableError('recover it'), new Error('a bug')].map(
      peerError,
    );
    assert.deepEqual(
      answers.map(({ status, headers, body }) => [status, headers, JSON.parse(body) as unknown]),
      [
        [503, {}, { error: { code: 'StoreUnavailable', message: 'The key store is unavailable; try again.' } }],
        [409, {}, { error: { code: 'MasterKeyUnavailable', message: 'recover it' } }],
        [500, {}, { error: { code: 'PeerInternal', message: 'the peer region failed to handle the request' } }],
      ],
    );
  });
});
