import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { aesGcmDecrypt, aesGcmEncrypt } from './aes-gcm.ts';
import { encodeBlob, encodeHeader, parseBlob } from './ciphertext-blob.ts';
import { canonicalContext } from './encryption-context.ts';

test('a blob carries its key ID and material version and decrypts with the header as AAD', () => {
  const key = randomBytes(32);
  const keyId = randomUUID();
  const header = encodeHeader({ keyId, materialVersion: 7 });
  const aad = Buffer.concat([header, canonicalContext({ purpose: 'test' })]);
  const blob = encodeBlob(header, aesGcmEncrypt(key, Buffer.from('secret'), aad));
  const parsed = parseBlob(blob);
  assert.ok(parsed);
  assert.equal(parsed.keyId, keyId);
  assert.equal(parsed.materialVersion, 7);
  assert.equal(aesGcmDecrypt(key, parsed, aad)?.toString(), 'secret');
});

test('a changed header, context or body byte fails authentication', () => {
  const key = randomBytes(32);
  const header = encodeHeader({ keyId: 'mrk-' + 'a'.repeat(32), materialVersion: 1 });
  const aad = Buffer.concat([header, canonicalContext({ a: 'b' })]);
  const blob = encodeBlob(header, aesGcmEncrypt(key, Buffer.from('secret'), aad));
  const parsed = parseBlob(blob)!;
  assert.equal(aesGcmDecrypt(key, parsed, Buffer.concat([header, canonicalContext({ a: 'c' })])), undefined);
  const tampered = Buffer.from(blob);
  tampered[tampered.length - 1]! ^= 1;
  assert.equal(aesGcmDecrypt(key, parseBlob(tampered)!, aad), undefined);
});

test('malformed blobs are rejected', () => {
  assert.equal(parseBlob(Buffer.alloc(0)), undefined);
  assert.equal(parseBlob(Buffer.from([2, 1, 0x61])), undefined);
  assert.equal(parseBlob(randomBytes(10)), undefined);
});

test('contexts that concatenate alike still encode differently', () => {
  assert.notDeepEqual(canonicalContext({ ab: 'c' }), canonicalContext({ a: 'bc' }));
  assert.deepEqual(canonicalContext({ x: '1', y: '2' }), canonicalContext({ y: '2', x: '1' }));
});
