import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import { aesGcmEncrypt } from './aes-gcm.ts';

/** What an import token's importer sends with the key material: Key Protect's `payload`, `encryptedNonce` and `iv`, base64. */
export interface ImportEnvelope {
  payload: string;
  encryptedNonce: string;
  iv: string;
  encryptionAlgorithm: 'RSAES_OAEP_SHA_256';
}

/**
 * Key material sealed for a Key Protect import token, as IBM's clients do it: the material
 * RSA-OAEP-SHA-256 encrypted under the token's public key (`payload` of GET /import_token,
 * base64 of a PEM), and the token's nonce AES-GCM encrypted under the material with a fresh
 * 12-byte IV, the tag appended, which proves the importer holds the material.
 */
export function sealImportEnvelope(material: Buffer, token: { payload: string; nonce: string }): ImportEnvelope {
  const publicKey = createPublicKey(Buffer.from(token.payload, 'base64').toString('utf8'));
  const encrypted = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
  const sealed = aesGcmEncrypt(material, Buffer.from(token.nonce, 'base64'), Buffer.alloc(0));
  return {
    payload: encrypted.toString('base64'),
    encryptedNonce: Buffer.concat([sealed.ciphertext, sealed.tag]).toString('base64'),
    iv: sealed.iv.toString('base64'),
    encryptionAlgorithm: 'RSAES_OAEP_SHA_256',
  };
}
