import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { test } from 'node:test';
import { aesKeyUnwrapPad, aesKeyWrapPad } from '../crypto/index.ts';
import { transferKey } from './key-transfer.ts';

const pair = () => {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { privateKey: ecdh.getPrivateKey(), publicKey: ecdh.getPublicKey(), secret: (peer: Buffer) => ecdh.computeSecret(peer) };
};

test('both units derive the same transfer key, which is not the raw ECDH secret', () => {
  const [exporter, importer] = [pair(), pair()];
  const binding = { exporter: 'us-east-1-rec', importer: 'us-east-1-op', nonce: 'ab'.repeat(16) };
  const key = transferKey(exporter.privateKey, importer.publicKey, binding);
  assert.deepEqual(transferKey(importer.privateKey, exporter.publicKey, binding), key);
  assert.equal(key.length, 32);
  assert.notDeepEqual(key, exporter.secret(importer.publicKey));
});

test('a value wrapped for one binding does not unwrap under any other', () => {
  const [exporter, importer] = [pair(), pair()];
  const binding = { exporter: 'rec', importer: 'op', nonce: '01'.repeat(16) };
  const wrapped = aesKeyWrapPad(transferKey(exporter.privateKey, importer.publicKey, binding), Buffer.alloc(32, 7));
  assert.deepEqual(aesKeyUnwrapPad(transferKey(importer.privateKey, exporter.publicKey, binding), wrapped), Buffer.alloc(32, 7));
  for (const other of [
    { ...binding, exporter: 'rec2' },
    { ...binding, importer: 'op2' },
    { ...binding, nonce: '02'.repeat(16) },
    // Fields are length-prefixed: moving a character from one to the next is another binding.
    { ...binding, exporter: 're', importer: 'cop' },
  ]) {
    assert.equal(aesKeyUnwrapPad(transferKey(importer.privateKey, exporter.publicKey, other), wrapped), undefined, JSON.stringify(other));
  }
});
