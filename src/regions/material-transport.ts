import { hkdfSync, randomBytes } from 'node:crypto';
import { aesGcmDecrypt, aesGcmEncrypt } from '../crypto/index.ts';
import type { RegionIdentity } from './region-identity.ts';

/** Key material on its way between two regions, sealed so only the receiving region opens it. */
export interface SealedMaterial {
  salt: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

export interface MaterialBinding {
  keyId: string;
  version: number;
  from: string;
  to: string;
}

/** AAD and HKDF info bind the sealed bytes to one key, one material version and one direction between two regions. */
const bindingText = ({ keyId, version, from, to }: MaterialBinding): string => `concord peer material v1|${keyId}|${version}|${from}|${to}`;

/**
 * ECDH between the two regions' transport keys, HKDF-SHA256 with a fresh salt per seal, and
 * AES-256-GCM: material never crosses regions in plaintext.
 */
function wrappingKey(identity: RegionIdentity, peerTransportKey: string, salt: Buffer, binding: MaterialBinding): Buffer {
  return Buffer.from(hkdfSync('sha256', identity.agree(peerTransportKey), salt, bindingText(binding), 32));
}

export function sealForPeer(identity: RegionIdentity, peerTransportKey: string, binding: MaterialBinding, material: Buffer): SealedMaterial {
  const salt = randomBytes(32);
  const sealed = aesGcmEncrypt(wrappingKey(identity, peerTransportKey, salt, binding), material, Buffer.from(bindingText(binding)));
  return {
    salt: salt.toString('base64'),
    iv: sealed.iv.toString('base64'),
    tag: sealed.tag.toString('base64'),
    ciphertext: sealed.ciphertext.toString('base64'),
  };
}

/** Returns undefined when the seal does not verify: another key, version, direction or sender. */
export function openFromPeer(identity: RegionIdentity, peerTransportKey: string, binding: MaterialBinding, sealed: SealedMaterial): Buffer | undefined {
  const key = wrappingKey(identity, peerTransportKey, Buffer.from(sealed.salt, 'base64'), binding);
  return aesGcmDecrypt(
    key,
    { iv: Buffer.from(sealed.iv, 'base64'), tag: Buffer.from(sealed.tag, 'base64'), ciphertext: Buffer.from(sealed.ciphertext, 'base64') },
    Buffer.from(bindingText(binding)),
  );
}
