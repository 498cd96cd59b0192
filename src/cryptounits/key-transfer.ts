import { createECDH } from 'node:crypto';

/**
 * The key-encryption key of a master key transfer as both backends agree it: ECDH on P-256,
 * the raw x coordinate as PKCS#11 CKD_NULL yields it. The value travels under it with AES key
 * wrap with padding (aesKeyWrapPad, CKM_AES_KEY_WRAP_PAD), whose integrity check refuses a
 * value wrapped for any other pair of units.
 */
export function agreedKey(privateKey: Buffer, peerTransportKey: Buffer): Buffer {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(privateKey);
  return ecdh.computeSecret(peerTransportKey);
}
