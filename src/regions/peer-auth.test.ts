import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openFromPeer, sealForPeer } from './material-transport.ts';
import { SqliteStore } from '../store/index.ts';
import { PEER_HEADERS, PeerAuthenticator, PeerAuthError, type PeerConfig } from './peer-auth.ts';
import { PeerNonces } from './peer-nonces.ts';
import { RegionIdentity } from './region-identity.ts';

const dir = mkdtempSync(join(tmpdir(), 'concord-peer-auth-'));
const east = RegionIdentity.openOrInit(join(dir, 'east.json'));
const west = RegionIdentity.openOrInit(join(dir, 'west.json'));
const stranger = RegionIdentity.openOrInit(join(dir, 'stranger.json'));
const peer = (identity: RegionIdentity) => ({ url: 'http://127.0.0.1:1', publicKey: identity.publicKey });

describe('peer authentication between regions', () => {
  let clock = Date.UTC(2030, 0, 1);
  // West's store is a file, as a region's is: what one authenticator saw, another on it (a second node, a restart) knows.
  const westStore = new SqliteStore(join(dir, 'west.db'));
  const authOf = (region: string, identity: RegionIdentity, peers: Record<string, PeerConfig>, store: SqliteStore) =>
    new PeerAuthenticator(region, identity, peers, new PeerNonces(store), () => Promise.resolve(clock));
  const eastAuth = authOf('us-east-1', east, { 'us-west-2': peer(west) }, new SqliteStore(join(dir, 'east.db')));
  const westAuth = authOf('us-west-2', west, { 'us-east-1': peer(east) }, westStore);
  const westAfterRestart = () => authOf('us-west-2', west, { 'us-east-1': peer(east) }, westStore);

  it('accepts a signed request once and refuses its replay, also on another node or after a restart', async () => {
    const body = JSON.stringify({ keyId: 'mrk-1' });
    const { headers } = await eastAuth.signRequest('us-west-2', 'sync', body);
    assert.equal((await westAuth.verifyRequest('sync', headers, Buffer.from(body))).from, 'us-east-1');
    await assert.rejects(westAuth.verifyRequest('sync', headers, Buffer.from(body)), /replayed/);
    await assert.rejects(westAfterRestart().verifyRequest('sync', headers, Buffer.from(body)), /replayed/);
  });

  it('forgets nonces only well after their requests are too old to be accepted anyway', async () => {
    const body = '{}';
    const { headers } = await eastAuth.signRequest('us-west-2', 'hello', body);
    await westAuth.verifyRequest('hello', headers, Buffer.from(body));
    clock += 4 * 60 * 1000;
    assert.equal(await westAuth.forgetStaleNonces(), 0);
    await assert.rejects(westAuth.verifyRequest('hello', headers, Buffer.from(body)), /replayed/);
    clock += 2 * 60 * 1000;
    await assert.rejects(westAuth.verifyRequest('hello', headers, Buffer.from(body)), /timestamp/);
    assert.equal(await westAuth.forgetStaleNonces(), 0);
    clock += 5 * 60 * 1000;
    assert.equal(await westAuth.forgetStaleNonces(), 2);
    await assert.rejects(westAuth.verifyRequest('hello', headers, Buffer.from(body)), /timestamp/);
  });

  it('refuses a changed body, another action, another target, a stale timestamp and an unknown signer', async () => {
    const body = JSON.stringify({ keyId: 'mrk-2' });
    const signed = async () => (await eastAuth.signRequest('us-west-2', 'sync', body)).headers;
    await assert.rejects(westAuth.verifyRequest('sync', await signed(), Buffer.from(body + ' ')), PeerAuthError);
    await assert.rejects(westAuth.verifyRequest('prepare-replica', await signed(), Buffer.from(body)), PeerAuthError);
    await assert.rejects(eastAuth.verifyRequest('sync', await signed(), Buffer.from(body)), PeerAuthError);
    const old = await signed();
    clock += 6 * 60 * 1000;
    await assert.rejects(westAuth.verifyRequest('sync', old, Buffer.from(body)), /timestamp/);
    const impostor = authOf('us-east-1', stranger, { 'us-west-2': peer(west) }, new SqliteStore(join(dir, 'stranger.db')));
    await assert.rejects(westAuth.verifyRequest('sync', (await impostor.signRequest('us-west-2', 'sync', body)).headers, Buffer.from(body)), /signature/);
  });

  it('verifies that an answer comes from the region asked, for this request', async () => {
    const { nonce } = await eastAuth.signRequest('us-west-2', 'hello', '{}');
    const answer = '{"result":{}}';
    const headers = westAuth.signResponse('us-east-1', nonce, 200, answer);
    assert.equal(headers[PEER_HEADERS.region], 'us-west-2');
    assert.ok(eastAuth.verifyResponse('us-west-2', nonce, 200, headers, answer));
    assert.ok(!eastAuth.verifyResponse('us-west-2', nonce, 400, headers, answer));
    assert.ok(!eastAuth.verifyResponse('us-west-2', 'f'.repeat(32), 200, headers, answer));
    assert.ok(!eastAuth.verifyResponse('us-west-2', nonce, 200, headers, '{"result":{"x":1}}'));
  });
});

describe('key material sealed for a peer region', () => {
  const binding = { keyId: 'mrk-' + 'a'.repeat(32), version: 3, from: 'us-east-1', to: 'us-west-2' };

  it('opens only in the receiving region, for the same key, version and direction', () => {
    const material = randomBytes(32);
    const sealed = sealForPeer(east, west.transportPublicKey, binding, material);
    assert.ok(!Buffer.from(sealed.ciphertext, 'base64').equals(material));
    assert.deepEqual(openFromPeer(west, east.transportPublicKey, binding, sealed), material);
    assert.equal(openFromPeer(stranger, east.transportPublicKey, binding, sealed), undefined);
    assert.equal(openFromPeer(west, east.transportPublicKey, { ...binding, version: 4 }, sealed), undefined);
    assert.equal(openFromPeer(west, east.transportPublicKey, { ...binding, keyId: 'mrk-' + 'b'.repeat(32) }, sealed), undefined);
    assert.equal(openFromPeer(west, east.transportPublicKey, { ...binding, from: 'us-west-2', to: 'us-east-1' }, sealed), undefined);
  });

  it('keeps the same identity across restarts of a region', () => {
    assert.equal(RegionIdentity.openOrInit(join(dir, 'east.json')).publicKey, east.publicKey);
    assert.notEqual(east.publicKey, east.transportPublicKey);
  });
});
