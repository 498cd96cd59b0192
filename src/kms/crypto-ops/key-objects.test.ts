import assert from 'node:assert/strict';
import { createPublicKey, sign, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SqliteStore } from '../../store/index.ts';
import { generateKeyPairDer, KeyRepository, type KeyRecord } from '../keys/index.ts';
import { TEST_ACCOUNT, testKeyService } from '../test-key-service.ts';
import { keyObjects } from './key-objects.ts';

describe('parsed key cache', () => {
  let store: SqliteStore;
  let keys: KeyRepository;
  const record = async (keyId: string, material: Buffer): Promise<KeyRecord> => ({
    keyId,
    account: TEST_ACCOUNT,
    region: 'us-east-1',
    createdAt: 0,
    description: '',
    keySpec: 'ECC_NIST_P256',
    keyUsage: 'SIGN_VERIFY',
    origin: 'AWS_KMS',
    state: 'Enabled',
    policy: '{}',
    tags: [],
    materials: [await keys.wrapMaterial(keyId, 1, material)],
    currentMaterial: 1,
    multiRegion: false,
  });

  before(() => {
    const fixture = testKeyService('key-objects');
    store = fixture.store;
    keys = new KeyRepository(fixture.service.ctx);
  });
  after(async () => {
    await store.close();
  });

  it('parses a key once and hands out the same objects, whose public half matches the generated one', async () => {
    const pair = await generateKeyPairDer('ECC_NIST_P256');
    const key = await record('00000000-0000-4000-8000-00000000000a', pair.privateKey);
    const first = await keyObjects(keys).keyPair(key);
    assert.equal(await keyObjects(keys).keyPair(key), first);
    assert.deepEqual(first.publicKeyDer, pair.publicKey);
    const message = Buffer.from('m');
    assert.ok(verify('sha256', message, createPublicKey({ key: pair.publicKey, format: 'der', type: 'spki' }), sign('sha256', message, first.privateKey)));
  });

  it('keeps keys with different material apart and refuses a version that has no material', async () => {
    const a = await record('00000000-0000-4000-8000-00000000000b', (await generateKeyPairDer('ECC_NIST_P256')).privateKey);
    const b = await record('00000000-0000-4000-8000-00000000000c', (await generateKeyPairDer('ECC_NIST_P256')).privateKey);
    assert.notDeepEqual((await keyObjects(keys).keyPair(a)).publicKeyDer, (await keyObjects(keys).keyPair(b)).publicKeyDer);
    await assert.rejects(keyObjects(keys).keyPair(a, 2), { code: 'KMSInvalidStateException' });
  });
});
