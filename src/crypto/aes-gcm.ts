import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;

export interface Sealed {
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/** `iv` must be fresh random bytes (IV_LENGTH of them) never used with this key before; by default they are drawn here. */
export function aesGcmEncrypt(key: Buffer, plaintext: Buffer, aad: Buffer, iv: Buffer = randomBytes(IV_LENGTH)): Sealed {
  const cipher = createCipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ciphertext = joined(cipher.update(plaintext), cipher.final());
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

/** Returns undefined when the tag does not verify: wrong key, wrong AAD or tampered data. */
export function aesGcmDecrypt(key: Buffer, sealed: Sealed, aad: Buffer): Buffer | undefined {
  // A fixed tag length: GCM would otherwise check only as many tag bytes as it is given.
  const decipher = createDecipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, sealed.iv, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  try {
    decipher.setAuthTag(sealed.tag);
    return joined(decipher.update(sealed.ciphertext), decipher.final());
  } catch {
    return undefined;
  }
}

/** GCM's final() gives no bytes: update()'s output is then the whole text, not copied again. */
const joined = (updated: Buffer, final: Buffer): Buffer => (final.length === 0 ? updated : Buffer.concat([updated, final]));
