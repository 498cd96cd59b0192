import { constants, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { KmsError } from '../../errors/index.ts';

const OAEP: Record<string, { hash: string; bytes: number }> = {
  RSAES_OAEP_SHA_1: { hash: 'sha1', bytes: 20 },
  RSAES_OAEP_SHA_256: { hash: 'sha256', bytes: 32 },
};

/**
 * RSAES-OAEP with MGF1 over the same hash, as AWS KMS encrypts under an RSA key. The
 * ciphertext is the bare OAEP output, so anyone holding the public key can produce it.
 */
export function oaepEncrypt(publicKey: KeyObject, algorithm: string, plaintext: Buffer): Buffer {
  const { hash, bytes } = OAEP[algorithm]!;
  const limit = publicKey.asymmetricKeyDetails!.modulusLength! / 8 - 2 * bytes - 2;
  if (plaintext.length > limit) {
    throw new KmsError('ValidationException', `Plaintext is too long for ${algorithm} with this key: at most ${limit} bytes.`);
  }
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext);
}

/** Undefined when the ciphertext does not decrypt: wrong key, wrong algorithm or tampered. */
export function oaepDecrypt(privateKey: KeyObject, algorithm: string, ciphertext: Buffer): Buffer | undefined {
  try {
    return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP[algorithm]!.hash }, ciphertext);
  } catch {
    return undefined;
  }
}
