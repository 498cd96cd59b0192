import { constants, sign, verify, type KeyObject } from 'node:crypto';
import { KmsError } from '../../errors/index.ts';
import { ecdsaSignDigest, ecdsaVerifyDigest } from './ecdsa-digest-signatures.ts';
import { ed25519phSignDigest, ed25519phVerifyDigest } from './ed25519ph-digest-signatures.ts';
import { pkcs1SignDigest, pkcs1VerifyDigest, pssSignDigest, pssVerifyDigest } from './rsa-digest-signatures.ts';

type Scheme = 'pss' | 'pkcs1' | 'ecdsa' | 'ed25519' | 'ed25519ph';

interface SigningAlgorithm {
  scheme: Scheme;
  hash: 'sha256' | 'sha384' | 'sha512';
  /** The length a DIGEST message must have. */
  digestBytes: number;
}

const sha = (bits: 256 | 384 | 512) => ({ hash: `sha${bits}` as const, digestBytes: bits / 8 });

const ALGORITHMS: Record<string, SigningAlgorithm> = {
  RSASSA_PSS_SHA_256: { scheme: 'pss', ...sha(256) },
  RSASSA_PSS_SHA_384: { scheme: 'pss', ...sha(384) },
  RSASSA_PSS_SHA_512: { scheme: 'pss', ...sha(512) },
  RSASSA_PKCS1_V1_5_SHA_256: { scheme: 'pkcs1', ...sha(256) },
  RSASSA_PKCS1_V1_5_SHA_384: { scheme: 'pkcs1', ...sha(384) },
  RSASSA_PKCS1_V1_5_SHA_512: { scheme: 'pkcs1', ...sha(512) },
  ECDSA_SHA_256: { scheme: 'ecdsa', ...sha(256) },
  ECDSA_SHA_384: { scheme: 'ecdsa', ...sha(384) },
  ECDSA_SHA_512: { scheme: 'ecdsa', ...sha(512) },
  ED25519_SHA_512: { scheme: 'ed25519', ...sha(512) },
  ED25519_PH_SHA_512: { scheme: 'ed25519ph', ...sha(512) },
};

/** AWS takes pure Ed25519 over the message only, and Ed25519ph over its SHA-512 digest only. */
const ONLY_MESSAGE_TYPE: Partial<Record<Scheme, 'RAW' | 'DIGEST'>> = { ed25519: 'RAW', ed25519ph: 'DIGEST' };

/** Refuses a message AWS would refuse for this algorithm and message type. */
function checkMessage(name: string, message: Buffer, messageType: string): SigningAlgorithm {
  const algorithm = ALGORITHMS[name]!;
  const onlyType = ONLY_MESSAGE_TYPE[algorithm.scheme];
  if (onlyType && messageType !== onlyType) {
    throw new KmsError('ValidationException', `The signing algorithm ${name} requires MessageType ${onlyType}.`);
  }
  if (messageType === 'DIGEST' && message.length !== algorithm.digestBytes) {
    throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${name}.`);
  }
  if (messageType !== 'RAW' && messageType !== 'DIGEST') {
    throw new KmsError('ValidationException', `MessageType ${messageType} is not valid for algorithm ${name}.`);
  }
  return algorithm;
}

const rsaOptions = (key: KeyObject, algorithm: SigningAlgorithm) =>
  algorithm.scheme === 'pss'
    ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: algorithm.digestBytes }
    : { key, padding: constants.RSA_PKCS1_PADDING };

/** Signs as AWS KMS does; the algorithm must be one the key's spec lists. */
export function signMessage(privateKey: KeyObject, name: string, message: Buffer, messageType: string): Buffer {
  const algorithm = checkMessage(name, message, messageType);
  const { scheme, hash } = algorithm;
  if (messageType === 'RAW') {
    if (scheme === 'ed25519') return sign(null, message, privateKey);
    return sign(hash, message, scheme === 'ecdsa' ? privateKey : rsaOptions(privateKey, algorithm));
  }
  if (scheme === 'pss') return pssSignDigest(privateKey, hash, message);
  if (scheme === 'pkcs1') return pkcs1SignDigest(privateKey, hash, message);
  if (scheme === 'ed25519ph') return ed25519phSignDigest(privateKey, message);
  return ecdsaSignDigest(privateKey, message);
}

export function verifySignature(publicKey: KeyObject, name: string, message: Buffer, messageType: string, signature: Buffer): boolean {
  const algorithm = checkMessage(name, message, messageType);
  const { scheme, hash } = algorithm;
  if (messageType === 'RAW') {
    try {
      if (scheme === 'ed25519') return verify(null, message, publicKey, signature);
      return verify(hash, message, scheme === 'ecdsa' ? publicKey : rsaOptions(publicKey, algorithm), signature);
    } catch {
      return false;
    }
  }
  if (scheme === 'pss') return pssVerifyDigest(publicKey, hash, message, signature);
  if (scheme === 'pkcs1') return pkcs1VerifyDigest(publicKey, hash, message, signature);
  if (scheme === 'ed25519ph') return ed25519phVerifyDigest(publicKey, message, signature);
  return ecdsaVerifyDigest(publicKey, message, signature);
}
