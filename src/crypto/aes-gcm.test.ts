import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { aesGcmDecrypt, aesGcmEncrypt } from './aes-gcm.ts';

test('a tag cut short fails authentication instead of being checked only as far as it goes', () => {
  const key = randomBytes(32);
  const aad = Buffer.from('binding');
  const sealed = aesGcmEncrypt(key, Buffer.from('secret'), aad);
  assert.equal(aesGcmDecrypt(key, sealed, aad)?.toString(), 'secret');
  for (const length of [0, 4, 12, 15]) {
    assert.equal(aesGcmDecrypt(key, { ...sealed, tag: sealed.tag.subarray(0, length) }, aad), undefined, `a ${length}-byte tag`);
  }
});
