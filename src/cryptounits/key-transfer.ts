import { createCipheriv, createDecipheriv, createECDH } from 'node:crypto';

/**
 * Master key transfer as both backends do it: the AES-256 key agreed by ECDH (P-256, raw
 * x coordinate, as PKCS#11 CKD_NULL yields it) wraps the value with AES key wrap with
 * padding (RFC 5649, PKCS#11 CKM_AES_KEY_WRAP_PAD), whose integrity check refuses a value
 * wrapped for any other pair of units.
 */
const KWP_IV = Buffer.from('A65959A6', 'hex');

export function agreedKey(privateKey: Buffer, peerTransportKey: Buffer): Buffer {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(privateKey);
  return ecdh.computeSecret(peerTransportKey);
}

export function wrapForTransfer(kek: Buffer, value: Buffer): Buffer {
  const cipher = createCipheriv('id-aes256-wrap-pad', kek, KWP_IV);
  return Buffer.concat([cipher.update(value), cipher.final()]);
}

/** Undefined when the wrapped value was not made for this key. */
export function unwrapTransfer(kek: Buffer, wrapped: Buffer): Buffer | undefined {
  try {
    const decipher = createDecipheriv('id-aes256-wrap-pad', kek, KWP_IV);
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch {
    return undefined;
  }
}
