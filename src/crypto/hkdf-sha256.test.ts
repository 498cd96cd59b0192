import assert from 'node:assert/strict';
import { hkdfSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { hkdfSha256 } from './hkdf-sha256.ts';

test('gives the first 32 bytes of RFC 5869 test case 1', () => {
  const okm = hkdfSha256(Buffer.alloc(22, 0x0b), Buffer.from('000102030405060708090a0b0c', 'hex'), Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex'));
  assert.equal(okm.toString('hex'), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf');
});

test('agrees with node:crypto hkdfSync', () => {
  for (let i = 0; i < 20; i++) {
    const [ikm, salt, info] = [randomBytes(32), randomBytes(32), randomBytes(i)];
    assert.deepEqual(hkdfSha256(ikm, salt, info), Buffer.from(hkdfSync('sha256', ikm, salt, info, 32)));
  }
});
