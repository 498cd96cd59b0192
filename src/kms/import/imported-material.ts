import { createPrivateKey, type KeyObject } from 'node:crypto';
import { keySpecs } from '../keys/index.ts';

/** The HMAC key lengths AWS accepts for imported material, in bytes. */
const HMAC_IMPORT_BYTES: Readonly<Record<string, readonly [number, number]>> = {
  HMAC_224: [28, 64],
  HMAC_256: [32, 64],
  HMAC_384: [48, 128],
  HMAC_512: [64, 128],
};

/**
 * Imported material in the form Concord stores for the key spec: raw bytes for symmetric and
 * HMAC keys, a private key as PKCS#8 DER re-encoded by Concord (so one key has one encoding
 * and one KeyMaterialId) for asymmetric keys. Undefined when the material does not fit the spec.
 */
export function importedMaterialFor(keySpec: string, material: Buffer): Buffer | undefined {
  const kind = keySpecs[keySpec]?.material;
  switch (kind?.kind) {
    case 'symmetric':
      return material.length === kind.bytes ? material : undefined;
    case 'hmac': {
      const [min, max] = HMAC_IMPORT_BYTES[keySpec] ?? [kind.bytes, kind.bytes];
      return material.length >= min && material.length <= max ? material : undefined;
    }
    case 'rsa':
      return privateKeyOf(material, (key) => key.asymmetricKeyType === 'rsa' && key.asymmetricKeyDetails?.modulusLength === kind.modulusBits);
    case 'ec':
      return privateKeyOf(material, (key) => key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === kind.curve);
    case 'ed25519':
      return privateKeyOf(material, (key) => key.asymmetricKeyType === 'ed25519');
    default:
      return undefined;
  }
}

function privateKeyOf(der: Buffer, fits: (key: KeyObject) => boolean): Buffer | undefined {
  try {
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return fits(key) ? key.export({ format: 'der', type: 'pkcs8' }) : undefined;
  } catch {
    return undefined;
  }
}
