import { constants, createPrivateKey, generateKeyPair, privateDecrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { aesKeyUnwrapPad } from '../crypto/index.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

export const WRAPPING_KEY_BITS: Readonly<Record<string, number>> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

const OAEP_HASH: Readonly<Record<string, string>> = {
  RSAES_OAEP_SHA_1: 'sha1',
  RSAES_OAEP_SHA_256: 'sha256',
  RSA_AES_KEY_WRAP_SHA_1: 'sha1',
  RSA_AES_KEY_WRAP_SHA_256: 'sha256',
};

export const isWrappingAlgorithm = (algorithm: string): boolean => Object.hasOwn(OAEP_HASH, algorithm);

/** A fresh RSA wrapping key pair as DER: the private key PKCS#8, the public key SubjectPublicKeyInfo. */
export async function generateWrappingKey(wrappingKeySpec: string): Promise<{ privateKey: Buffer; publicKey: Buffer }> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: WRAPPING_KEY_BITS[wrappingKeySpec]!, publicExponent: 65537 });
  return { privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }), publicKey: publicKey.export({ format: 'der', type: 'spki' }) };
}

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
