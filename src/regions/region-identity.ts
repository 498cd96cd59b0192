import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeSecretFile } from '../util/index.ts';

interface IdentityFile {
  version: 1;
  /** PKCS#8 PEM of the P-256 key that signs peer requests and responses. */
  signing: string;
  /** PKCS#8 PEM of the P-256 key that agrees material-wrapping keys with peers (ECDH). */
  transport: string;
}

/**
 * A region's identity towards its peers: a signing key whose public half peers trust from
 * their configuration, and a separate transport key for ECDH, whose public half peers learn
 * from a signed answer. Keeping the two apart means no key is used for two algorithms.
 */
/** More than any deployment has peers, each with one transport key. */
const MAX_AGREED = 64;

export class RegionIdentity {
  private readonly agreed = new Map<string, Buffer>();

  private constructor(
    private readonly signingKey: KeyObject,
    private readonly transportKey: KeyObject,
  ) {}

  /** Opens the identity file, creating fresh keys (readable only by the owner) the first time. */
  static openOrInit(path: string): RegionIdentity {
    if (!existsSync(path)) {
      const fresh = (): string => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      const file: IdentityFile = { version: 1, signing: fresh(), transport: fresh() };
      writeSecretFile(path, JSON.stringify(file));
    }
    const file = JSON.parse(readFileSync(path, 'utf8')) as IdentityFile;
    return new RegionIdentity(createPrivateKey(file.signing), createPrivateKey(file.transport));
  }

  /** The public signing key as peers write it in their configuration: base64 of the DER SubjectPublicKeyInfo. */
  get publicKey(): string {
    return exportPublic(this.signingKey);
  }

  get transportPublicKey(): string {
    return exportPublic(this.transportKey);
  }

  sign(data: Buffer): string {
    return sign('sha256', data, this.signingKey).toString('base64');
  }

  /** The raw ECDH secret between this region's transport key and a peer's; both keys are static, so it is kept. */
  agree(peerTransportPublicKey: string): Buffer {
    let secret = this.agreed.get(peerTransportPublicKey);
    if (!secret) {
      secret = diffieHellman({ privateKey: this.transportKey, publicKey: importPublic(peerTransportPublicKey) });
      // Peers choose the keys this is asked about; a handful are real, so the cache never outgrows them.
      if (this.agreed.size >= MAX_AGREED) this.agreed.clear();
      this.agreed.set(peerTransportPublicKey, secret);
    }
    return secret;
  }
}

export function verifySignature(publicKey: string, data: Buffer, signature: string): boolean {
  try {
    return verify('sha256', data, importPublic(publicKey), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

const exportPublic = (key: KeyObject): string => createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('base64');

const importPublic = (publicKey: string): KeyObject => createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
