import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { sealImportEnvelope } from '../crypto/index.ts';
import { importTokenRecords } from './import-tokens.ts';
import type { KpReason } from './kp-error.ts';
import { testCaller, testKeyProtect } from './test-key-protect.ts';

const ADMIN = testCaller('admin');
const WRAPPER = testCaller('wrapper');

describe('Key Protect import tokens', () => {
  const { store, service, kp, clock } = testKeyProtect([
    { caller: ADMIN, actions: ['kms:*'] },
    { caller: WRAPPER, actions: ['kms:Encrypt'] },
  ]);
  const admin = { caller: ADMIN, iamId: 'iam-admin' };
  after(() => store.close());

  const refused = (code: KpReason) => (error: { code?: string }) => {
    assert.equal(error.code, code);
    return true;
  };
  const sealed = async (material: Buffer) => sealImportEnvelope(material, await kp.importTokens.retrieve(admin));

  it('creates a token with Key Protect’s defaults and limits, and refuses values outside them', async () => {
    const token = await kp.importTokens.create(admin, {});
    assert.equal(token.maxAllowedRetrievals, 1);
    assert.equal(token.remainingRetrievals, 1);
    assert.equal(Date.parse(token.expirationDate) - Date.parse(token.creationDate), 600_000);
    assert.match(token.creationDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    for (const body of [{ expiration: 299 }, { expiration: 86_401 }, { expiration: '600' }, { maxAllowedRetrievals: 0 }, { maxAllowedRetrievals: 501 }]) {
      await assert.rejects(kp.importTokens.create(admin, body), refused('BAD_BODY_ERR'));
    }
    await assert.rejects(kp.importTokens.create({ caller: WRAPPER }, {}), { name: 'AccessDeniedException' });
  });

  it('gives an RSA-4096 public key as base64 PEM and a 12-byte nonce per retrieval, until the retrievals run out', async () => {
    // The token of the test before: one retrieval.
    const first = await kp.importTokens.retrieve(admin);
    const publicKey = createPublicKey(Buffer.from(first.payload, 'base64').toString('utf8'));
    assert.equal(publicKey.asymmetricKeyDetails?.modulusLength, 4096);
    assert.equal(Buffer.from(first.nonce, 'base64').length, 12);
    assert.equal(first.remainingRetrievals, 0);
    await assert.rejects(kp.importTokens.retrieve(admin), refused('IMPORT_TOKEN_EXPIRED_ERR'));
  });

  it('creates a root key from material sealed for the token, marked imported, and takes each nonce once', async () => {
    // One token for the rest of the tests, as an importer would use it: retrieved once per import.
    await kp.importTokens.create(admin, { expiration: 86_400, maxAllowedRetrievals: 10 });
    const material = randomBytes(32);
    const token = await kp.importTokens.retrieve(admin);
    assert.notEqual((await kp.importTokens.retrieve(admin)).nonce, token.nonce);
    const envelope = sealImportEnvelope(material, token);
    const key = await kp.keys.createKey(admin, { name: 'imported', ...envelope });
    assert.equal(key.imported, true);
    assert.equal(key.extractable, false);
    assert.equal(key.state, 1);
    const wrapped = await kp.keys.wrap(admin, key.id, { plaintext: Buffer.alloc(32, 1).toString('base64') });
    assert.equal((await kp.keys.unwrap(admin, key.id, { ciphertext: wrapped.ciphertext })).plaintext, Buffer.alloc(32, 1).toString('base64'));
    await assert.rejects(kp.keys.createKey(admin, { name: 'replayed', ...envelope }), refused('INCORRECT_NONCE_ERR'));
  });

  it('tells a nonce the token never issued from one sealed under other material or with another IV', async () => {
    const token = await kp.importTokens.retrieve(admin);
    const material = randomBytes(32);
    const forgedNonce = sealImportEnvelope(material, { payload: token.payload, nonce: randomBytes(12).toString('base64') });
    await assert.rejects(kp.keys.createKey(admin, { name: 'x', ...forgedNonce }), refused('INCORRECT_NONCE_ERR'));
    const good = sealImportEnvelope(material, token);
    const otherMaterial = sealImportEnvelope(randomBytes(32), token);
    await assert.rejects(kp.keys.createKey(admin, { name: 'x', ...good, encryptedNonce: otherMaterial.encryptedNonce }), refused('INCORRECT_NONCE_IV_ERR'));
    await assert.rejects(kp.keys.createKey(admin, { name: 'x', ...good, iv: randomBytes(12).toString('base64') }), refused('INCORRECT_NONCE_IV_ERR'));
    await assert.rejects(kp.keys.createKey(admin, { name: 'x', ...good, iv: randomBytes(16).toString('base64') }), refused('INCORRECT_NONCE_IV_ERR'));
    await assert.rejects(kp.keys.createKey(admin, { name: 'x', ...good, payload: randomBytes(512).toString('base64') }), refused('BAD_BODY_ERR'));
    await assert.rejects(kp.keys.createKey(admin, { name: 'x', ...good, encryptionAlgorithm: 'RSAES_OAEP_SHA_1' }), refused('BAD_BODY_ERR'));
    await assert.rejects(kp.keys.createKey(admin, { name: 'x', ...good, extractable: true }), refused('KEY_ROOT_REQ_ERR'));
    // The refusals above spent nothing: the nonce still imports once.
    assert.equal((await kp.keys.createKey(admin, { name: 'x', ...good })).imported, true);
  });

  it('rotates an imported root key with new material, plain or sealed, and refuses material for a generated key', async () => {
    const plain = randomBytes(32).toString('base64');
    const key = await kp.keys.createKey(admin, { name: 'plain-import', payload: plain });
    assert.equal(key.imported, true);
    await assert.rejects(kp.keys.rotate(admin, key.id, {}), refused('KEY_PAYLOAD_REQ_ERR'));
    await kp.keys.rotate(admin, key.id, { payload: randomBytes(32).toString('base64') });
    await kp.keys.rotate(admin, key.id, await sealed(randomBytes(32)));
    assert.equal((await kp.keys.versions(admin, key.id)).length, 3);
    const generated = await kp.keys.createKey(admin, { name: 'generated' });
    assert.equal(generated.imported, false);
    await assert.rejects(kp.keys.rotate(admin, generated.id, { payload: plain }), refused('BAD_BODY_ERR'));
  });

  it('keeps the token usable when a master key rotation re-wraps its private key', async () => {
    const envelope = await sealed(randomBytes(32));
    const { unit } = service.ctx;
    const stored = (await store.get(importTokenRecords.prefix))!;
    const resealed = await importTokenRecords.rewrap(
      stored,
      async (wrapped, aad) => unit.wrap(await unit.unwrap(wrapped, aad), aad),
      importTokenRecords.prefix,
    );
    assert.notEqual(resealed, stored);
    await store.transaction((tx) => {
      tx.put(importTokenRecords.prefix, resealed);
    });
    assert.equal((await kp.keys.createKey(admin, { name: 'after master key rotation', ...envelope })).imported, true);
  });

  it('refuses a token past its expiration date, to retrieve or to import with', async () => {
    const envelope = await sealed(randomBytes(32));
    clock.now += 86_400_000;
    await assert.rejects(kp.keys.createKey(admin, { name: 'late', ...envelope }), refused('IMPORT_TOKEN_EXPIRED_ERR'));
    await assert.rejects(kp.importTokens.retrieve(admin), refused('IMPORT_TOKEN_EXPIRED_ERR'));
  });
});
