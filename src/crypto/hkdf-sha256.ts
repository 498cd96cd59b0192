import { createHmac } from 'node:crypto';

const BLOCK = Buffer.from([1]);

/**
 * HKDF-SHA256 (RFC 5869) for a 32-byte key: extract, then the first block of expand. Two
 * HMACs cost about half of node's hkdfSync, which sets up an OpenSSL KDF context per call;
 * it runs once per Encrypt and Decrypt.
 */
export function hkdfSha256(ikm: Buffer, salt: Buffer, info: Buffer): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  return createHmac('sha256', prk).update(info).update(BLOCK).digest();
}
