import { createHash, type KeyObject } from 'node:crypto';
import { eddsa } from '@noble/curves/abstract/edwards.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { jwkBytes } from './ecdsa-digest-signatures.ts';

const sha512 = Object.assign((data: Uint8Array) => createHash('sha512').update(data).digest(), { outputLen: 64, blockLen: 128 });

/**
 * Ed25519ph (RFC 8032 section 5.1) over a SHA-512 digest the caller computed, as AWS's
 * ED25519_PH_SHA_512 takes it. Node's OpenSSL 3.0 has no Ed25519ph, and @noble/curves's
 * ed25519ph hashes the message itself, so this is the same instance with the prehash step
 * left to the caller: the RFC's scalar clamping and its dom2 prefix with phflag 1.
 */
const ed25519phOfDigest = eddsa(ed25519.Point, sha512, {
  adjustScalarBytes: (bytes: Uint8Array) => {
    bytes[0]! &= 248;
    bytes[31]! &= 127;
    bytes[31]! |= 64;
    return bytes;
  },
  domain: (data: Uint8Array, context: Uint8Array, phflag: boolean) =>
    Buffer.concat([Buffer.from('SigEd25519 no Ed25519 collisions'), Buffer.from([phflag ? 1 : 0, context.length]), context, data]),
  prehash: (digest: Uint8Array) => digest,
});

export function ed25519phSignDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  return Buffer.from(ed25519phOfDigest.sign(digest, jwkBytes(privateKey.export({ format: 'jwk' }).d)));
}

export function ed25519phVerifyDigest(publicKey: KeyObject, digest: Buffer, signature: Buffer): boolean {
  try {
    return ed25519phOfDigest.verify(signature, digest, jwkBytes(publicKey.export({ format: 'jwk' }).x), { zip215: false });
  } catch {
    return false;
  }
}
