import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { KmsError } from '../../errors/index.ts';
import type { KeyRecord, KeyRepository } from '../keys/index.ts';

const CACHE_LIMIT = 10_000;

export interface ParsedKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo, as GetPublicKey answers it. */
  publicKeyDer: Buffer;
}

/**
 * Parsed asymmetric keys, cached by their wrapped material: parsing PKCS#8 costs far more
 * than the signature itself, and a re-wrapped or rotated material is simply a new entry.
 */
export class KeyObjects {
  private readonly cache = new Map<string, ParsedKeyPair>();

  constructor(private readonly keys: KeyRepository) {}

  async keyPair(key: KeyRecord, version: number = key.currentMaterial): Promise<ParsedKeyPair> {
    const record = key.materials.find((m) => m.version === version);
    const cached = record && this.cache.get(record.wrapped);
    if (cached) return cached;
    const material = record && (await this.keys.material(key, version));
    if (!record || !material) throw new KmsError('KMSInvalidStateException', `Key '${key.keyId}' has no key material.`);
    const privateKey = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(privateKey);
    const pair = { privateKey, publicKey, publicKeyDer: publicKey.export({ format: 'der', type: 'spki' }) };
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(record.wrapped, pair);
    return pair;
  }
}

const perRepository = new WeakMap<KeyRepository, KeyObjects>();

/** The one parsed-key cache of a region's key repository, shared by every operation group. */
export function keyObjects(keys: KeyRepository): KeyObjects {
  let objects = perRepository.get(keys);
  if (!objects) {
    objects = new KeyObjects(keys);
    perRepository.set(keys, objects);
  }
  return objects;
}
