import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/index.ts';
import { IamError, unknownApiKey } from './iam-error.ts';
import type { IamSecrets } from './iam-secrets.ts';

const KEYS = 'iam/apikey/';
const BY_HASH = 'iam/apikey-hash/';
/** IBM's form of an API key ID. */
const API_KEY_ID = /^ApiKey-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** An account principal an API key may belong to: a user or a role of the account. */
const PRINCIPAL = /^arn:aws:iam::(\d{12}):(user|role)\/[\w+=,.@/-]{1,512}$/;
const MAX_NAME = 240;
const MAX_DESCRIPTION = 1024;
/** The secret is 264 random bits in 44 characters, as IBM's API keys look. */
const SECRET_BYTES = 33;
/** How long a node trusts what it last read of a key's state; a revocation on this node applies at once. */
const STATE_CACHE_MS = 1000;
const STATE_CACHE_LIMIT = 10_000;

/** An API key as it is listed: never its secret. */
export interface ApiKey {
  id: string;
  name: string;
  description?: string;
  /** The principal whose permissions the key's tokens carry. */
  principal: string;
  account: string;
  createdBy: string;
  createdAt: string;
  state: 'active' | 'revoked';
  revokedAt?: string;
  revokedBy?: string;
}

interface ApiKeyRecord extends ApiKey {
  /** HMAC-SHA256 of the secret under the region's hash key, hex. */
  hash: string;
}

export interface NewApiKey {
  principal: string;
  name?: string;
  description?: string;
}

/**
 * API keys of the account's principals. The secret is shown once, when made, and stored only
 * as its HMAC under the region's hash key, looked up by that HMAC and compared in constant
 * time. A revoked key keeps its record (and its hash, so a key given in configuration is not
 * made again at the next start) and every token issued for it stops being accepted.
 */
export class ApiKeys {
  private readonly states = new Map<string, { active: boolean; readAt: number }>();

  constructor(
    private readonly store: Store,
    private readonly secrets: IamSecrets,
    private readonly account: string,
    private readonly now: () => number = Date.now,
  ) {}

  async create(request: NewApiKey, createdBy: string): Promise<{ apiKey: ApiKey; secret: string }> {
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    return { apiKey: await this.save(request, secret, createdBy), secret };
  }

  /**
   * Makes the key with this secret unless a key with it exists already (revoked or not): for
   * keys a deployment is given in its configuration, such as `concord dev`'s.
   */
  async ensure(request: NewApiKey, secret: string, createdBy: string): Promise<void> {
    if (secret.length < 32) throw new IamError('BXNIM0109E', 400, 'An API key given in the configuration must have at least 32 characters.');
    if ((await this.store.get(BY_HASH + (await this.hash(secret)))) !== undefined) return;
    await this.save(request, secret, createdBy);
  }

  async list(principal?: string): Promise<ApiKey[]> {
    const keys: ApiKey[] = [];
    for (let after: string | undefined; ;) {
      const page = await this.store.list(KEYS, { limit: 1000, ...(after !== undefined ? { after } : {}) });
      for (const entry of page) {
        const { hash: _hash, ...key } = JSON.parse(entry.value) as ApiKeyRecord;
        if (principal === undefined || key.principal === principal) keys.push(key);
      }
      if (page.length < 1000) return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      after = page.at(-1)!.key;
    }
  }

  async revoke(id: string, revokedBy: string): Promise<ApiKey> {
    if (!API_KEY_ID.test(id)) throw notFound(id);
    const revoked = await this.store.transaction(async (tx) => {
      const stored = await tx.getForUpdate(KEYS + id);
      if (stored === undefined) throw notFound(id);
      const record = JSON.parse(stored) as ApiKeyRecord;
      if (record.state === 'revoked') return record;
      const changed: ApiKeyRecord = { ...record, state: 'revoked', revokedAt: new Date(this.now()).toISOString(), revokedBy };
      tx.put(KEYS + id, JSON.stringify(changed));
      return changed;
    });
    this.states.set(id, { active: false, readAt: this.now() });
    const { hash: _hash, ...key } = revoked;
    return key;
  }

  /** The active key whose secret this is; BXNIM0415E for any other string. */
  async authenticate(secret: string): Promise<ApiKey> {
    if (secret.length === 0 || secret.length > 256) throw unknownApiKey();
    const presented = Buffer.from(await this.hash(secret), 'hex');
    const id = await this.store.get(BY_HASH + presented.toString('hex'));
    const stored = id === undefined ? undefined : await this.store.get(KEYS + id);
    if (stored === undefined) throw unknownApiKey();
    const { hash, ...key } = JSON.parse(stored) as ApiKeyRecord;
    const expected = Buffer.from(hash, 'hex');
    if (expected.length !== presented.length || !timingSafeEqual(expected, presented) || key.state !== 'active') throw unknownApiKey();
    this.states.set(key.id, { active: true, readAt: this.now() });
    return key;
  }

  /** The key with this ID, as listed; undefined for none. */
  async get(id: string): Promise<ApiKey | undefined> {
    const stored = API_KEY_ID.test(id) ? await this.store.get(KEYS + id) : undefined;
    if (stored === undefined) return undefined;
    const { hash: _hash, ...key } = JSON.parse(stored) as ApiKeyRecord;
    return key;
  }

  /** Whether the key is active, read from the store at most once a second per key and node. */
  async isActive(id: string): Promise<boolean> {
    const cached = this.states.get(id);
    if (cached && this.now() - cached.readAt < STATE_CACHE_MS) return cached.active;
    const stored = API_KEY_ID.test(id) ? await this.store.get(KEYS + id) : undefined;
    const active = stored !== undefined && (JSON.parse(stored) as ApiKeyRecord).state === 'active';
    if (this.states.size >= STATE_CACHE_LIMIT) this.states.clear();
    this.states.set(id, { active, readAt: this.now() });
    return active;
  }

  private async save(request: NewApiKey, secret: string, createdBy: string): Promise<ApiKey> {
    const principal = PRINCIPAL.exec(request.principal);
    if (principal?.[1] !== this.account) {
      throw new IamError('BXNIM0109E', 400, `The principal must be a user or role of the account ${this.account}: arn:aws:iam::${this.account}:user/<name>.`);
    }
    const name = request.name ?? `${request.principal.split('/').pop()!}-key`;
    if (name.length === 0 || name.length > MAX_NAME) throw new IamError('BXNIM0109E', 400, `The name must have 1 to ${MAX_NAME} characters.`);
    if ((request.description?.length ?? 0) > MAX_DESCRIPTION)
      throw new IamError('BXNIM0109E', 400, `The description must have at most ${MAX_DESCRIPTION} characters.`);
    const hash = await this.hash(secret);
    const apiKey: ApiKey = {
      id: `ApiKey-${randomUUID()}`,
      name,
      ...(request.description !== undefined ? { description: request.description } : {}),
      principal: request.principal,
      account: this.account,
      createdBy,
      createdAt: new Date(this.now()).toISOString(),
      state: 'active',
    };
    const record: ApiKeyRecord = { ...apiKey, hash };
    await this.store.transaction(async (tx) => {
      await tx.create(BY_HASH + hash, apiKey.id);
      await tx.create(KEYS + apiKey.id, JSON.stringify(record));
    });
    return apiKey;
  }

  private async hash(secret: string): Promise<string> {
    const { hashKey } = await this.secrets.values();
    return createHmac('sha256', hashKey).update(secret, 'utf8').digest('hex');
  }
}

const notFound = (id: string): IamError => new IamError('BXNIM0501E', 404, `API key ${id} not found.`);
