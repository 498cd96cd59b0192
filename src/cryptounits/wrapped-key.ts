import { createHash } from 'node:crypto';
import { IV_LENGTH, TAG_LENGTH, type Sealed } from '../crypto/index.ts';

/**
 * Wrapped key material: u8 version | verification pattern(8) | iv | tag | ciphertext.
 * The verification pattern names the master key that wrapped it without revealing it,
 * so unwrapping picks the right register while a master key rotation is under way.
 */
const WRAP_VERSION = 1;
export const PATTERN_LENGTH = 8;

/** The pattern software units give their master keys (and the one single-file units used). */
export function verificationPattern(masterKey: Buffer): Buffer {
  return createHash('sha256').update('concord master key verification pattern').update(masterKey).digest().subarray(0, PATTERN_LENGTH);
}

export function encodeWrapped(pattern: Buffer, sealed: Sealed): Buffer {
  return Buffer.concat([Buffer.from([WRAP_VERSION]), pattern, sealed.iv, sealed.tag, sealed.ciphertext]);
}

export function patternOf(wrapped: Buffer): Buffer | undefined {
  if (wrapped.length < 1 + PATTERN_LENGTH + IV_LENGTH + TAG_LENGTH || wrapped[0] !== WRAP_VERSION) return undefined;
  return wrapped.subarray(1, 1 + PATTERN_LENGTH);
}

export function sealedOf(wrapped: Buffer): Sealed {
  const start = 1 + PATTERN_LENGTH;
  return {
    iv: wrapped.subarray(start, start + IV_LENGTH),
    tag: wrapped.subarray(start + IV_LENGTH, start + IV_LENGTH + TAG_LENGTH),
    ciphertext: wrapped.subarray(start + IV_LENGTH + TAG_LENGTH),
  };
}
