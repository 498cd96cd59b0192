import { constants, createPrivateKey, privateDecrypt } from 'node:crypto';
import { aesKeyUnwrapPad } from '../../crypto/index.ts';

/** The RSA key specs AWS offers as wrapping keys; their key pairs are generated as for RSA KMS keys. */
const WRAPPING_KEY_SPECS: readonly string[] = ['RSA_2048', 'RSA_3072', 'RSA_4096'];

const OAEP_HASH: Readonly<Record<string, string>> = {
  RSAES_OAEP_SHA_1: 'sha1',
  RSAES_OAEP_SHA_256: 'sha256',
  RSA_AES_KEY_WRAP_SHA_1: 'sha1',
  RSA_AES_KEY_WRAP_SHA_256: 'sha256',
};

export const isWrappingAlgorithm = (algorithm: string): boolean => Object.hasOwn(OAEP_HASH, algorithm);

export const isWrappingKeySpec = (keySpec: string): boolean => WRAPPING_KEY_SPECS.includes(keySpec);

/**
 * Unwraps EncryptedKeyMaterial as AWS defines the wrapping algorithms: RSAES_OAEP_* is the
 * material under RSA-OAEP; RSA_AES_KEY_WRAP_* is an ephemeral AES key under RSA-OAEP (one
 * modulus long) followed by the material under that key with AES key wrap with padding.
 * Undefined when the material was not wrapped with this key and algorithm.
 */
export function unwrapImportedMaterial(privateKeyDer: Buffer, wrappingAlgorithm: string, encrypted: Buffer): Buffer | undefined {
  const oaepHash = OAEP_HASH[wrappingAlgorithm];
  if (!oaepHash) return undefined;
  try {
    const key = createPrivateKey({ key: privateKeyDer, format: 'der', type: 'pkcs8' });
    const oaep = (data: Buffer) => privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, data);
    if (!wrappingAlgorithm.startsWith('RSA_AES_KEY_WRAP_')) return oaep(encrypted);
    const modulusBytes = key.asymmetricKeyDetails!.modulusLength! / 8;
    return aesKeyUnwrapPad(oaep(encrypted.subarray(0, modulusBytes)), encrypted.subarray(modulusBytes));
  } catch {
    return undefined;
  }
}
