import { createCipheriv, createDecipheriv } from 'node:crypto';

/** RFC 5649 AES key wrap with padding (PKCS#11 CKM_AES_KEY_WRAP_PAD), by key length. */
const CIPHERS: Readonly<Record<number, string>> = { 16: 'id-aes128-wrap-pad', 24: 'id-aes192-wrap-pad', 32: 'id-aes256-wrap-pad' };
/** RFC 5649's alternative initial value, the same for every wrap. */
const IV = Buffer.from('A65959A6', 'hex');

export function aesKeyWrapPad(kek: Buffer, value: Buffer): Buffer {
  const name = CIPHERS[kek.length];
  if (!name) throw new Error('AES key wrap needs a 128, 192 or 256-bit key');
  const cipher = createCipheriv(name, kek, IV);
  return Buffer.concat([cipher.update(value), cipher.final()]);
}

/** Undefined when the integrity check fails: the value was wrapped under another key, or altered. */
export function aesKeyUnwrapPad(kek: Buffer, wrapped: Buffer): Buffer | undefined {
  const cipher = CIPHERS[kek.length];
  if (!cipher) return undefined;
  try {
    const decipher = createDecipheriv(cipher, kek, IV);
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch {
    return undefined;
  }
}
