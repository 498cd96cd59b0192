import { generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { KmsError } from '../../errors/index.ts';
import { KeyPairPool, type KeyPairDer, type KeyPairPoolStats } from './key-pair-pool.ts';
import { keySpecs } from './key-specs.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

/** How many RSA key pairs of each spec in use the process keeps ready, unless a region configuration says otherwise. */
export const KEY_PAIR_POOL_SIZE = 2;
const rsaPool = new KeyPairPool(generateDer, KEY_PAIR_POOL_SIZE);

/** The key specs whose pairs come from the pool: RSA, slow to generate. */
export const POOLED_KEY_SPECS: readonly string[] = Object.keys(keySpecs).filter((spec) => keySpecs[spec]!.material.kind === 'rsa');

/**
 * Fresh material for a key spec: random bytes for symmetric and HMAC keys, a PKCS#8 DER
 * private key for asymmetric ones. Generation runs off the event loop (RSA_4096 takes seconds).
 */
export async function generateKeyMaterial(keySpec: string): Promise<Buffer> {
  const material = keySpecs[keySpec]?.material;
  if (material?.kind === 'symmetric' || material?.kind === 'hmac') return randomBytes(material.bytes);
  return (await generateKeyPairDer(keySpec)).privateKey;
}

/**
 * A fresh key pair. RSA pairs come from a pool of the process refilled in the background, so a
 * request does not wait seconds for an RSA_4096 pair when one is ready; others take
 * milliseconds and are generated on the spot.
 */
export function generateKeyPairDer(keySpec: string): Promise<KeyPairDer> {
  return POOLED_KEY_SPECS.includes(keySpec) ? rsaPool.take(keySpec) : generateDer(keySpec);
}

/** An RSA key pair ready in the pool, or undefined when none is. */
export const readyKeyPairDer = (keySpec: string): KeyPairDer | undefined => rsaPool.takeReady(keySpec);

/**
 * Keeps at most `size` RSA key pairs of each spec ready in this process, and starts generating
 * those of `specs` now, in the background (on libuv's thread pool, off the event loop), so that
 * no request after a start waits for one. The pool is the process's: regions served by one
 * process share it.
 */
export const prefillKeyPairs = (specs: readonly string[], size: number): void => {
  rsaPool.prefill(specs, size);
};

/** The RSA key pair pool's state, for metrics. */
export const keyPairPoolStats = (): KeyPairPoolStats[] => rsaPool.stats();

async function generateDer(keySpec: string): Promise<KeyPairDer> {
  const { privateKey, publicKey } = await generateAsymmetric(keySpec);
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }),
    publicKey: publicKey.export({ format: 'der', type: 'spki' }),
  };
}

function generateAsymmetric(keySpec: string): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  const material = keySpecs[keySpec]?.material;
  switch (material?.kind) {
    case 'rsa':
      return generateKeyPairAsync('rsa', { modulusLength: material.modulusBits, publicExponent: 65537 });
    case 'ec':
      return generateKeyPairAsync('ec', { namedCurve: material.curve });
    case 'ed25519':
      return generateKeyPairAsync('ed25519', {});
    default:
      throw new KmsError('UnsupportedOperationException', `KeySpec ${keySpec} is not supported by Concord.`);
  }
}
