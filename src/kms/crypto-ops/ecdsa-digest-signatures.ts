import type { KeyObject } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';

/**
 * ECDSA over a digest the caller computed (MessageType DIGEST). Node signs only messages it
 * hashes itself, so these go through @noble/curves (audited, constant-time scalar arithmetic).
 */
const CURVES = { prime256v1: p256, secp384r1: p384, secp521r1: p521, secp256k1 } as const;

/**
 * `prehash: false` takes the digest as given (truncated to the order's bit length per SEC 1).
 * `lowS: false` because AWS and OpenSSL neither produce nor require low-S signatures.
 */
const OPTIONS = { prehash: false, lowS: false, format: 'der' } as const;

function curveOf(key: KeyObject) {
  return CURVES[key.asymmetricKeyDetails!.namedCurve as keyof typeof CURVES];
}

/** A JWK member (base64url) as bytes. */
export const jwkBytes = (value: string | undefined): Buffer => Buffer.from(value!, 'base64url');

/**
 * A DER `SEQUENCE { INTEGER r, INTEGER s }`, the signature form AWS returns and node:crypto verifies.
 * `extraEntropy` hedges the RFC 6979 nonce, so signatures stay randomized as AWS's are.
 */
export function ecdsaSignDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  const secret = jwkBytes(privateKey.export({ format: 'jwk' }).d);
  return Buffer.from(curveOf(privateKey).sign(digest, secret, { ...OPTIONS, extraEntropy: true }));
}

export function ecdsaVerifyDigest(publicKey: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const { x, y } = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([0x04]), jwkBytes(x), jwkBytes(y)]);
  try {
    return curveOf(publicKey).verify(signature, digest, point, OPTIONS);
  } catch {
    return false;
  }
}
