import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { aesGcmDecrypt } from './aes-gcm.ts';
import { openBlob, parseBlob, sealBlob } from './ciphertext-blob.ts';
import { canonicalContext } from './encryption-context.ts';

test('a version 2 blob carries its key ID, material version and salt, and opens with the same material and context', () => {
  const material = randomBytes(32);
  const keyId = randomUUID();
  const blob = sealBlob(material, { keyId, materialVersion: 7 }, Buffer.from('secret'), { purpose: 'test' });
  const parsed = parseBlob(blob);
  assert.ok(parsed);
  assert.equal(parsed.version, 2);
  assert.equal(parsed.keyId, keyId);
  assert.equal(parsed.materialVersion, 7);
  assert.equal(parsed.salt?.length, 32);
  assert.equal(openBlob(material, parsed, { purpose: 'test' })?.toString(), 'secret');
});

test('each version 2 blob is encrypted under its own key derived from a fresh salt, not under the key material', () => {
  const material = randomBytes(32);
  const header = { keyId: randomUUID(), materialVersion: 1 };
  const [a, b] = [sealBlob(material, header, Buffer.from('same'), undefined), sealBlob(material, header, Buffer.from('same'), undefined)].map((blob) =>
    parseBlob(blob)!,
  );
  assert.notDeepEqual(a!.salt, b!.salt);
  assert.equal(aesGcmDecrypt(material, a!, a!.header), undefined);
  assert.equal(openBlob(material, a!, undefined)?.toString(), 'same');
});

test('salt and IV are drawn afresh for every blob, and neither repeats the other', () => {
  const material = randomBytes(32);
  const blobs = Array.from({ length: 100 }, () => parseBlob(sealBlob(material, { keyId: randomUUID(), materialVersion: 1 }, Buffer.from('same'), undefined))!);
  assert.equal(new Set(blobs.map((blob) => blob.iv.toString('hex'))).size, blobs.length);
  assert.equal(new Set(blobs.map((blob) => blob.salt!.toString('hex'))).size, blobs.length);
  for (const blob of blobs) assert.ok(!blob.salt!.includes(blob.iv));
});

test('a changed header, salt, context or body byte fails authentication', () => {
  const material = randomBytes(32);
  const blob = sealBlob(material, { keyId: 'mrk-' + 'a'.repeat(32), materialVersion: 1 }, Buffer.from('secret'), { a: 'b' });
  assert.equal(openBlob(material, parseBlob(blob)!, { a: 'c' }), undefined);
  const saltStart = 2 + 36 + 4;
  for (const offset of [2 + 36 + 3, saltStart, saltStart + 31, blob.length - 1]) {
    const tampered = Buffer.from(blob);
    tampered[offset]! ^= 1;
    assert.equal(openBlob(material, parseBlob(tampered)!, { a: 'b' }), undefined, `byte ${offset}`);
  }
});

test('a version 1 blob written before version 2 still opens (test vector made by the version 1 code)', () => {
  const material = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
  const blob = Buffer.from(
    'ASRtcmstMTIzNGFiY2QxMmFiMzRjZDU2ZWYxMjM0NTY3ODkwYWIAAAADm5i8SYdq3g0vZNXX5nUAbiyoSbF7JYLRjhTi59RGi8WVSCsbQKHR67pD+S+2sMwsTW2QPcLmd9Y4HvadfZxUWvz/TaOKDG1Mv6k=',
    'base64',
  );
  const parsed = parseBlob(blob);
  assert.ok(parsed);
  assert.equal(parsed.version, 1);
  assert.equal(parsed.keyId, 'mrk-1234abcd12ab34cd56ef1234567890ab');
  assert.equal(parsed.materialVersion, 3);
  assert.equal(parsed.salt, undefined);
  assert.equal(openBlob(material, parsed, { purpose: 'test vector', Dept: 'a' })?.toString(), 'encrypted by Concord before ciphertext blob v2');
  assert.equal(openBlob(material, parsed, { purpose: 'test vector', Dept: 'b' }), undefined);
});

test('malformed blobs are rejected', () => {
  assert.equal(parseBlob(Buffer.alloc(0)), undefined);
  assert.equal(parseBlob(Buffer.from([2, 1, 0x61])), undefined);
  assert.equal(parseBlob(Buffer.from([3, 1, 0x61, 0, 0, 0, 1, ...randomBytes(60)])), undefined);
  assert.equal(parseBlob(randomBytes(10)), undefined);
  // Long enough for version 1 but too short to hold a version 2 salt as well.
  assert.equal(parseBlob(Buffer.from([2, 1, 0x61, 0, 0, 0, 1, ...randomBytes(40)])), undefined);
});

test('contexts that concatenate alike still encode differently', () => {
  assert.notDeepEqual(canonicalContext({ ab: 'c' }), canonicalContext({ a: 'bc' }));
  assert.deepEqual(canonicalContext({ x: '1', y: '2' }), canonicalContext({ y: '2', x: '1' }));
});
