import assert from 'node:assert/strict';
import { constants, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { signMessage, verifySignature } from './signing.ts';

const message = Buffer.from('the quick brown fox signs a message');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa3072 = generateKeyPairSync('rsa', { modulusLength: 3072 });
const curves = ['prime256v1', 'secp384r1', 'secp521r1', 'secp256k1'].map((namedCurve) => ({
  namedCurve,
  ...generateKeyPairSync('ec', { namedCurve }),
}));

/** Flips a bit in the first byte: ECDSA uses only a digest's leftmost bits when the curve is shorter. */
const flip = (bytes: Buffer): Buffer => {
  const copy = Buffer.from(bytes);
  copy[0]! ^= 1;
  return copy;
};

const nodeVerifies = (publicKey: KeyObject, hash: string, scheme: string, signature: Buffer): boolean => {
  if (scheme === 'ecdsa') return verify(hash, message, publicKey, signature);
  const padding = scheme === 'pss' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING;
  return verify(hash, message, { key: publicKey, padding, saltLength: Number(hash.slice(3)) / 8 }, signature);
};

describe('signing as AWS KMS does', () => {
  for (const { pair, label } of [
    { pair: rsa, label: 'RSA_2048' },
    { pair: rsa3072, label: 'RSA_3072' },
  ]) {
    for (const [scheme, prefix] of [
      ['pss', 'RSASSA_PSS_SHA_'],
      ['pkcs1', 'RSASSA_PKCS1_V1_5_SHA_'],
    ] as const) {
      for (const bits of [256, 384, 512]) {
        const algorithm = `${prefix}${bits}`;
        const hash = `sha${bits}`;
        it(`${label} ${algorithm} signatures over RAW and DIGEST verify in node:crypto and round-trip`, () => {
          const digest = createHash(hash).update(message).digest();
          for (const [input, type] of [
            [message, 'RAW'],
            [digest, 'DIGEST'],
          ] as const) {
            const signature = signMessage(pair.privateKey, algorithm, input, type);
            assert.ok(nodeVerifies(pair.publicKey, hash, scheme, signature), `${type} signature verifies`);
            assert.ok(verifySignature(pair.publicKey, algorithm, input, type, signature));
            assert.equal(verifySignature(pair.publicKey, algorithm, input, type, flip(signature)), false);
          }
          const padding = scheme === 'pss' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING;
          const external = sign(hash, message, { key: pair.privateKey, padding, saltLength: bits / 8 });
          assert.ok(verifySignature(pair.publicKey, algorithm, digest, 'DIGEST', external));
          assert.equal(verifySignature(pair.publicKey, algorithm, flip(digest), 'DIGEST', external), false);
        });
      }
    }
  }

  for (const { namedCurve, privateKey, publicKey } of curves) {
    for (const bits of [256, 384, 512]) {
      const algorithm = `ECDSA_SHA_${bits}`;
      const hash = `sha${bits}`;
      it(`${namedCurve} ${algorithm} DIGEST signatures verify in node:crypto, and node's verify here`, () => {
        const digest = createHash(hash).update(message).digest();
        for (let round = 0; round < 5; round += 1) {
          const signature = signMessage(privateKey, algorithm, digest, 'DIGEST');
          assert.ok(verify(hash, message, publicKey, signature));
          assert.ok(verifySignature(publicKey, algorithm, digest, 'DIGEST', signature));
          const external = sign(hash, message, privateKey);
          assert.ok(verifySignature(publicKey, algorithm, digest, 'DIGEST', external));
          assert.equal(verifySignature(publicKey, algorithm, flip(digest), 'DIGEST', external), false);
          assert.equal(verifySignature(publicKey, algorithm, digest, 'DIGEST', flip(external)), false);
        }
      });
    }
  }

  it('Ed25519 signs RAW messages only', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signature = signMessage(privateKey, 'ED25519_SHA_512', message, 'RAW');
    assert.ok(verify(null, message, publicKey, signature));
    assert.ok(verifySignature(publicKey, 'ED25519_SHA_512', message, 'RAW', signature));
    assert.throws(() => signMessage(privateKey, 'ED25519_SHA_512', createHash('sha512').update(message).digest(), 'DIGEST'), {
      code: 'ValidationException',
    });
  });

  it('Ed25519ph signs SHA-512 DIGESTs only, matching the test vector of RFC 8032', () => {
    const hex = (text: string) => Buffer.from(text, 'hex');
    const jwk = {
      kty: 'OKP',
      crv: 'Ed25519',
      d: hex('833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42').toString('base64url'),
      x: hex('ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf').toString('base64url'),
    };
    const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
    const digest = createHash('sha512').update('abc').digest();
    const signature = signMessage(privateKey, 'ED25519_PH_SHA_512', digest, 'DIGEST');
    assert.equal(
      signature.toString('hex'),
      '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406',
    );
    assert.ok(verifySignature(publicKey, 'ED25519_PH_SHA_512', digest, 'DIGEST', signature));
    assert.equal(verifySignature(publicKey, 'ED25519_PH_SHA_512', flip(digest), 'DIGEST', signature), false);
    assert.equal(verifySignature(publicKey, 'ED25519_SHA_512', Buffer.from('abc'), 'RAW', signature), false);
    assert.throws(() => signMessage(privateKey, 'ED25519_PH_SHA_512', Buffer.from('abc'), 'RAW'), { code: 'ValidationException' });
  });

  it('refuses a DIGEST whose length does not match the algorithm', () => {
    assert.throws(() => signMessage(rsa.privateKey, 'RSASSA_PSS_SHA_384', Buffer.alloc(32), 'DIGEST'), { code: 'ValidationException' });
    assert.throws(() => verifySignature(curves[0]!.publicKey, 'ECDSA_SHA_256', Buffer.alloc(33), 'DIGEST', Buffer.alloc(70)), {
      code: 'ValidationException',
    });
  });
});
