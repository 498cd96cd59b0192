import type { WrappedRecords } from '../cryptounits/index.ts';
import { importParametersRecords } from './import/index.ts';
import { materialAad, type KeyRecord } from './keys/index.ts';

/**
 * The key records' material, for a master key rotation to re-wrap: every version of a
 * key's material, each bound to its key ID and version as it was wrapped.
 */
const keyMaterialRecords: WrappedRecords = {
  prefix: 'key/',
  async rewrap(value, reseal) {
    const key = JSON.parse(value) as KeyRecord;
    const materials = [];
    for (const material of key.materials) {
      const wrapped = await reseal(Buffer.from(material.wrapped, 'base64'), materialAad(key.keyId, material.version));
      materials.push({ ...material, wrapped: wrapped.toString('base64') });
    }
    return JSON.stringify({ ...key, materials });
  },
};

/** Everything the key service stores wrapped under the master key. */
export const wrappedKeyRecords: readonly WrappedRecords[] = [keyMaterialRecords, importParametersRecords];
