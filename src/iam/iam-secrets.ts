import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { CryptoUnit, WrappedRecords } from '../cryptounits/index.ts';
import { StoreConflictError, type Store } from '../store/index.ts';
import { signingKeyFrom, type SigningKey } from './jwt.ts';

const PATH = 'iam/secrets';

/** The region's IAM secrets as stored: the public part in the clear, the rest wrapped under the master key. */
interface StoredSecrets {
  kid: string;
  /** The wrapped JSON of {signingKey: PKCS#8 DER, hashKey}, both base64, bound (AAD) to the kid. */
  wrapped: string;
}

interface Unsealed {
  signingKey: string;
  hashKey: string;
}

/** What the region signs tokens with and keys the hashes of API keys with. */
export interface IamSecretValues {
  signingKey: SigningKey;
  /** The HMAC key under which API keys are stored hashed: a stolen store alone cannot test guesses. */
  hashKey: Buffer;
}

const aad = (kid: string): Buffer => Buffer.from(JSON.stringify(['concord-iam-secrets', kid]), 'utf8');

/**
 * The region's IAM secrets: a P-256 key that signs its tokens and an HMAC key for API key
 * hashes, made once per region and kept in the store wrapped under the master key like key
 * material, so every node of the region shares them and a master key rotation re-wraps them.
 * They are opened on first use, not at start: a region waiting for its master key ceremony
 * still starts.
 */
export class IamSecrets {
  private opened: Promise<IamSecretValues> | undefined;

  constructor(
    private readonly store: Store,
    private readonly unit: CryptoUnit,
  ) {}

  values(): Promise<IamSecretValues> {
    this.opened ??= this.open().catch((error: unknown) => {
      // A master key not yet there is tried again at the next request.
      this.opened = undefined;
      throw error;
    });
    return this.opened;
  }

  private async open(): Promise<IamSecretValues> {
    let stored = await this.store.get(PATH);
    if (stored === undefined) {
      const made = await this.make();
      // Two nodes may make them at once: the first to commit wins, the other reads its secrets.
      try {
        await this.store.transaction((tx) => tx.create(PATH, made));
      } catch (error) {
        if (!(error instanceof StoreConflictError)) throw error;
      }
      stored = (await this.store.get(PATH))!;
    }
    const { kid, wrapped } = JSON.parse(stored) as StoredSecrets;
    const unsealed = JSON.parse((await this.unit.unwrap(Buffer.from(wrapped, 'base64'), aad(kid))).toString('utf8')) as Unsealed;
    return { signingKey: signingKeyFrom(kid, Buffer.from(unsealed.signingKey, 'base64')), hashKey: Buffer.from(unsealed.hashKey, 'base64') };
  }

  private async make(): Promise<string> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kid = createHash('sha256')
      .update(publicKey.export({ format: 'der', type: 'spki' }))
      .digest('base64url')
      .slice(0, 16);
    const unsealed: Unsealed = {
      signingKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      hashKey: randomBytes(32).toString('base64'),
    };
    const wrapped = await this.unit.wrap(Buffer.from(JSON.stringify(unsealed), 'utf8'), aad(kid));
    const record: StoredSecrets = { kid, wrapped: wrapped.toString('base64') };
    return JSON.stringify(record);
  }
}

/** The IAM secrets record, for a master key rotation to re-wrap. */
export const iamSecretRecords: WrappedRecords = {
  prefix: PATH,
  async rewrap(value, reseal) {
    const record = JSON.parse(value) as StoredSecrets;
    const wrapped = await reseal(Buffer.from(record.wrapped, 'base64'), aad(record.kid));
    return JSON.stringify({ ...record, wrapped: wrapped.toString('base64') });
  },
};
