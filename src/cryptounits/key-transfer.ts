import { createCipheriv, createECDH, createHash } from 'node:crypto';

/**
 * What a master key transfer is for: from which unit, to which, and the nonce of the command
 * on the importing unit that takes the value in (its next one). The wrapping key depends on
 * all three, so a wrapped value opens in one unit, from one exporter, once.
 */
export interface TransferBinding {
  exporter: string;
  importer: string;
  nonce: string;
}

/** Zero: each derivation key (an ECDH secret) encrypts only binding digests, each unique. */
export const TRANSFER_IV = Buffer.alloc(16);

/** SHA-256 of the binding, each field length-prefixed so that no two bindings share it. */
export function bindingDigest({ exporter, importer, nonce }: TransferBinding): Buffer {
  const hash = createHash('sha256').update('concord master key transfer v2');
  for (const field of [exporter, importer, nonce]) {
    const bytes = Buffer.from(field, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest();
}

/**
 * The key-encryption key of a master key transfer as both backends derive it: the ECDH
 * (P-256) x coordinate keys AES-256 as a pseudorandom function over the binding digest, two
 * blocks in CBC mode, which is what a token computes with CKM_ECDH1_DERIVE then
 * CKM_AES_CBC_ENCRYPT_DATA without the secret leaving it. (HKDF would need PKCS#11 3.0's
 * CKM_HKDF_DERIVE, which SoftHSM2 lacks; outside the token it would show the host the key
 * that unwraps the master key.) The value travels under this key with AES key wrap with
 * padding (CKM_AES_KEY_WRAP_PAD), whose integrity check refuses a value wrapped for another
 * pair of units or another command.
 */
export function transferKey(privateKey: Buffer, peerTransportKey: Buffer, binding: TransferBinding): Buffer {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(privateKey);
  const cipher = createCipheriv('aes-256-cbc', ecdh.computeSecret(peerTransportKey), TRANSFER_IV).setAutoPadding(false);
  return Buffer.concat([cipher.update(bindingDigest(binding)), cipher.final()]);
}
