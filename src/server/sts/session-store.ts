import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { MasterKeyUnavailableError, type CryptoUnit, type WrappedRecords } from '../../cryptounits/index.ts';
import { KmsError } from '../../errors/index.ts';
import type { Store } from '../../store/index.ts';
import type { AccessKey, Session, SessionCredentials } from '../auth/sigv4.ts';

const PREFIX = 'sts/session/';
/** AWS's form of a temporary access key ID; checked before it reaches a store key. */
const SESSION_KEY_ID = /^ASIA[A-Z2-7]{16}$/;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** An expired session is kept this long so its token keeps answering ExpiredTokenException, then deleted. */
export const EXPIRED_SESSION_RETENTION_MS = 7 * 24 * 3600 * 1000;
const CACHE_LIMIT = 10_000;
const SWEEP_BATCH = 500;

/** One session as the store holds it: the secret wrapped under the master key, the token only as its hash. */
interface SessionRecord extends Session {
  accessKeyId: string;
  principal: string;
  /** SHA-256 of the session token, hex: the token has 512 random bits, so a fast hash does not help guessing. */
  tokenHash: string;
  /** The secret access key wrapped by the crypto unit, bound (AAD) to every other field, base64. */
  wrappedSecret: string;
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Milliseconds since the epoch. */
  expiration: number;
}

interface Cached {
  key: AccessKey;
  tokenHash: Buffer;
}

const unrecognized = (): KmsError => new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');

/**
 * The temporary credentials STS issues, in the region's store so every node of the region
 * knows them and they outlive a restart until they expire. The secret access key must be
 * recoverable to verify SigV4, so it is stored wrapped under the region's master key like key
 * material, bound to the rest of the record: a store that changes the principal, the role,
 * the tags or extends the expiration makes the session unusable, not more powerful. The
 * session token is stored only as its hash. Sessions are immutable, so nodes cache them.
 */
export class SessionStore implements SessionCredentials {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly store: Store,
    private readonly unit: CryptoUnit,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(principal: string, session: Omit<Session, 'expiration'>, durationSeconds: number): Promise<IssuedCredentials> {
    const accessKeyId = `ASIA${Array.from({ length: 16 }, () => BASE32[randomInt(32)]).join('')}`;
    const secretAccessKey = randomBytes(30).toString('base64');
    const sessionToken = randomBytes(64).toString('base64');
    const expiration = Math.floor(this.now() / 1000) * 1000 + durationSeconds * 1000;
    const unsealed: Omit<SessionRecord, 'wrappedSecret'> = { accessKeyId, principal, ...session, expiration, tokenHash: sha256(sessionToken).toString('hex') };
    const wrapped = await this.unit.wrap(Buffer.from(secretAccessKey, 'utf8'), sessionAad(unsealed));
    const record: SessionRecord = { ...unsealed, wrappedSecret: wrapped.toString('base64') };
    await this.store.transaction(async (tx) => tx.create(PREFIX + accessKeyId, JSON.stringify(record)));
    return { accessKeyId, secretAccessKey, sessionToken, expiration };
  }

  async resolve(accessKeyId: string, sessionToken: string): Promise<AccessKey> {
    const presented = sha256(sessionToken);
    let cached = this.cache.get(accessKeyId);
    if (!cached) {
      if (!SESSION_KEY_ID.test(accessKeyId)) throw unrecognized();
      const stored = await this.store.get(PREFIX + accessKeyId);
      if (stored === undefined) throw unrecognized();
      const record = JSON.parse(stored) as SessionRecord;
      if (!sameHash(presented, Buffer.from(record.tokenHash, 'hex'))) throw unrecognized();
      expireCheck(record.expiration, this.now());
      cached = { key: await this.open(record), tokenHash: Buffer.from(record.tokenHash, 'hex') };
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(accessKeyId, cached);
    }
    if (!sameHash(presented, cached.tokenHash)) throw unrecognized();
    expireCheck(cached.key.session!.expiration, this.now());
    return cached.key;
  }

  /** Whether `accessKeyId` is a session this region issued (expired or not): for GetAccessKeyInfo. */
  async exists(accessKeyId: string): Promise<boolean> {
    return SESSION_KEY_ID.test(accessKeyId) && (await this.store.get(PREFIX + accessKeyId)) !== undefined;
  }

  /** Background work: deletes sessions expired for longer than EXPIRED_SESSION_RETENTION_MS. */
  async sweep(): Promise<number> {
    const cutoff = this.now() - EXPIRED_SESSION_RETENTION_MS;
    let deleted = 0;
    let after: string | undefined;
    for (;;) {
      const entries = await this.store.list(PREFIX, { limit: SWEEP_BATCH, ...(after !== undefined ? { after } : {}) });
      const old = entries.filter((entry) => (JSON.parse(entry.value) as SessionRecord).expiration < cutoff);
      if (old.length > 0) {
        await this.store.transaction((tx) => {
          for (const entry of old) tx.delete(entry.key);
        });
        deleted += old.length;
      }
      if (entries.length < SWEEP_BATCH) return deleted;
      after = entries.at(-1)!.key;
    }
  }

  /** The access key a record stands for; a record changed in the store fails to unwrap and is refused. */
  private async open(record: SessionRecord): Promise<AccessKey> {
    const { accessKeyId, principal, wrappedSecret, tokenHash: _tokenHash, ...session } = record;
    let secret: Buffer;
    try {
      secret = await this.unit.unwrap(Buffer.from(wrappedSecret, 'base64'), sessionAad(record));
    } catch (error) {
      if (error instanceof MasterKeyUnavailableError) throw error;
      throw unrecognized();
    }
    return { accessKeyId, secretAccessKey: secret.toString('utf8'), principal, session };
  }
}

/** The session records' wrapped secrets, for a master key rotation to re-wrap. */
export const sessionRecords: WrappedRecords = {
  prefix: PREFIX,
  async rewrap(value, reseal) {
    const record = JSON.parse(value) as SessionRecord;
    const wrapped = await reseal(Buffer.from(record.wrappedSecret, 'base64'), sessionAad(record));
    return JSON.stringify({ ...record, wrappedSecret: wrapped.toString('base64') });
  },
};

/** Every field of the record but the wrapped secret, in a fixed order. */
function sessionAad(record: Omit<SessionRecord, 'wrappedSecret'>): Buffer {
  const { accessKeyId, principal, tokenHash, issuedBy, expiration, roleArn, tags } = record;
  return Buffer.from(JSON.stringify(['concord-sts-session', accessKeyId, principal, tokenHash, issuedBy, expiration, roleArn ?? null, tags ?? null]), 'utf8');
}

function expireCheck(expiration: number, now: number): void {
  if (now >= expiration) throw new KmsError('ExpiredTokenException', 'The security token included in the request is expired');
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
const sameHash = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);
