import { createCipheriv, randomBytes } from 'node:crypto';
import type { CryptoUnit } from '../cryptounits/index.ts';
import type { ManagedKeyRecord, MaterialVersion } from './records.ts';

const materialAad = (managedKeyId: string, version: number) => Buffer.from(`uko-managed-key:${managedKeyId}:${version}`);

/**
 * IBM's `enc-zero` verification pattern: the first 8 bytes of a zero block encrypted under the
 * key, which identifies the material without revealing it.
 */
export function encZero(material: Buffer): string {
  const cipher = createCipheriv(`aes-${material.length * 8}-ecb`, material, null);
  return cipher.update(Buffer.alloc(16)).subarray(0, 8).toString('base64');
}

/** New AES material for a managed key, kept only wrapped under the region's master key. */
export async function newMaterial(unit: CryptoUnit, managedKeyId: string, version: number, sizeBits: number, at: string): Promise<MaterialVersion> {
  const material = randomBytes(sizeBits / 8);
  try {
    const wrapped = await unit.wrap(material, materialAad(managedKeyId, version));
    return { version, wrapped: wrapped.toString('base64'), pattern: encZero(material), createdAt: at };
  } finally {
    material.fill(0);
  }
}

export async function unwrapMaterial(unit: CryptoUnit, managedKeyId: string, material: MaterialVersion): Promise<Buffer> {
  return unit.unwrap(Buffer.from(material.wrapped, 'base64'), materialAad(managedKeyId, material.version));
}

/** For a master key rotation: every version of a managed key's material re-wrapped as it was bound. */
export async function rewrapManagedKey(value: string, reseal: (wrapped: Buffer, aad: Buffer) => Promise<Buffer>): Promise<string> {
  const key = JSON.parse(value) as ManagedKeyRecord;
  const materials = [];
  for (const material of key.materials) {
    const wrapped = await reseal(Buffer.from(material.wrapped, 'base64'), materialAad(key.id, material.version));
    materials.push({ ...material, wrapped: wrapped.toString('base64') });
  }
  return JSON.stringify({ ...key, materials });
}
