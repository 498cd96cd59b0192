import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { aesKeyUnwrapPad, aesKeyWrapPad } from './aes-key-wrap.ts';

test('wraps as RFC 5649 does (its examples, 192-bit KEK)', () => {
  const kek = Buffer.from('5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8', 'hex');
  const examples = [
    ['c37b7e6492584340bed12207808941155068f738', '138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a'],
    ['466f7250617369', 'afbeb0f07dfbf5419200f2ccb50bb24f'],
  ];
  for (const [key, wrapped] of examples) {
    assert.equal(aesKeyWrapPad(kek, Buffer.from(key!, 'hex')).toString('hex'), wrapped);
    assert.equal(aesKeyUnwrapPad(kek, Buffer.from(wrapped!, 'hex'))?.toString('hex'), key);
  }
});

test('refuses a value wrapped under another key or altered', () => {
  const kek = randomBytes(32);
  const value = randomBytes(48);
  const wrapped = aesKeyWrapPad(kek, value);
  assert.deepEqual(aesKeyUnwrapPad(kek, wrapped), value);
  assert.equal(aesKeyUnwrapPad(randomBytes(32), wrapped), undefined);
  const altered = Buffer.from(wrapped);
  altered[0]! ^= 1;
  assert.equal(aesKeyUnwrapPad(kek, altered), undefined);
});
