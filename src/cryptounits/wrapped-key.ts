import { createHash } from 'node:crypto';
import { aesGcmDecrypt, aesGcmEncrypt, IV_LENGTH, TAG_LENGTH } from '../crypto/index.ts';

/**
 * Wrapped key material: u8 version | verification pattern(8) | iv | tag | ciphertext.
 * The verification pattern names the master key that wrapped it without revealing it,
 * so unwrapping picks the right register while a master key rotation is under way.
 */
const WRAP_VERSION = 1;
const PATTERN_LENGTH = 8;

export function verificationPattern(masterKey: Buffer): Buffer {
  return createHash('sha256').update('concord master key verification pattern').update(masterKey).digest().subarray(0, PATTERN_LENGTH);
}

export function wrapWith(masterKey: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const sealed = aesGcmEncrypt(masterKey, plaintext, aad);
  return Buffer.concat([Buffer.from([WRAP_VERSION]), verificationPattern(masterKey), sealed.iv, sealed.tag, sealed.ciphertext]);
}

export function patternOf(wrapped: Buffer): Buffer | undefined {
  if (wrapped.length < 1 + PATTERN_LENGTH + IV_LENGTH + TAG_LENGTH || wrapped[0] !== WRAP_VERSION) return undefined;
  return wrapped.subarray(1, 1 + PATTERN_LENGTH);
}

export function unwrapWith(masterKey: Buffer, wrapped: Buffer, aad: Buffer): Buffer | undefined {
  const start = 1 + PATTERN_LENGTH;
  return aesGcmDecrypt(
    masterKey,
    {
      iv: wrapped.subarray(start, start + IV_LENGTH),
      tag: wrapped.subarray(start + IV_LENGTH, start + IV_LENGTH + TAG_LENGTH),
      ciphertext: wrapped.subarray(start + IV_LENGTH + TAG_LENGTH),
    },
    aad,
  );
}
