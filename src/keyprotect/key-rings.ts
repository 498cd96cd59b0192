import type { KeyService } from '../kms/index.ts';
import type { Transaction } from '../store/index.ts';
import { inKpTerms, type KeyProtect, type KpCaller } from './key-protect.ts';
import { KpError } from './kp-error.ts';
import { defaultKpRecord, kpKeyPath, type KpKeyRecord } from './kp-records.ts';

export const DEFAULT_KEY_RING = 'default';
const PREFIX = 'kp/key-ring/';
/** Key Protect's key ring ID: 2 to 100 letters, digits and '-'. */
const KEY_RING_ID = /^[A-Za-z0-9-]{2,100}$/;
/** Identity policies must allow these Concord actions to create and delete key rings, and to move a key between them. */
export const KEY_RING_ACTIONS = { create: 'CreateKeyProtectKeyRing', delete: 'DeleteKeyProtectKeyRing', move: 'UpdateKeyProtectKeyRing' } as const;

interface StoredKeyRing {
  id: string;
  creationDate: number;
  createdBy: string;
}

/**
 * Key rings group the instance's keys: `default` always exists and holds every key created
 * without `x-kms-key-ring`; a ring is deleted only once no key (in any state, until purged)
 * belongs to it. A key's ring is its Key Protect record's `keyRingID`.
 */
export class KeyRings {
  constructor(
    private readonly service: KeyService,
    private readonly keys: KeyProtect,
  ) {}

  /** GET /key_rings (kms:ListKeys): `default` first, then the others by ID. */
  async list(who: KpCaller): Promise<Record<string, unknown>[]> {
    await inKpTerms(() => this.service.authorizeIdentity(who.caller, 'ListKeys'), 'Key rings could not be listed');
    const rings = (await this.service.ctx.store.list(PREFIX)).map((entry) => JSON.parse(entry.value) as StoredKeyRing);
    return [
      { id: DEFAULT_KEY_RING },
      ...rings.map((ring) => ({ id: ring.id, creationDate: new Date(ring.creationDate).toISOString(), createdBy: ring.createdBy })),
    ];
  }

  /** POST /key_rings/{id} (concord:CreateKeyProtectKeyRing). */
  async create(who: KpCaller, id: string): Promise<void> {
    const action = 'Key ring could not be created';
    await inKpTerms(() => this.service.authorizeManagement(who.caller, KEY_RING_ACTIONS.create), action);
    if (id === DEFAULT_KEY_RING) throw new KpError('KEY_RING_RESERVED_ERR', action);
    if (!KEY_RING_ID.test(id)) throw new KpError('BAD_BODY_ERR', action, 'key-ring-id');
    const ring: StoredKeyRing = { id, creationDate: this.service.ctx.now(), createdBy: who.iamId };
    await this.service.ctx.store.transaction(async (tx) => {
      if ((await tx.getForUpdate(PREFIX + id)) !== undefined) throw new KpError('CONFLICT_ERR', action);
      tx.put(PREFIX + id, JSON.stringify(ring));
    });
  }

  /** DELETE /key_rings/{id} (concord:DeleteKeyProtectKeyRing): refused while a key belongs to it. */
  async delete(who: KpCaller, id: string): Promise<void> {
    const action = 'Key ring could not be deleted';
    await inKpTerms(() => this.service.authorizeManagement(who.caller, KEY_RING_ACTIONS.delete), action);
    if (id === DEFAULT_KEY_RING) throw new KpError('KEY_RING_RESERVED_ERR', action);
    if (!KEY_RING_ID.test(id)) throw new KpError('KEY_RING_NOT_FOUND_ERR', action);
    await this.service.ctx.store.transaction(async (tx) => {
      if ((await tx.getForUpdate(PREFIX + id)) === undefined) throw new KpError('KEY_RING_NOT_FOUND_ERR', action);
      // A key moving into the ring meanwhile reads the ring for update in its own transaction, so one of the two waits for the other.
      for (const entry of await this.service.ctx.store.list('kp/key/')) {
        const record = JSON.parse(entry.value) as KpKeyRecord;
        if (record.keyRingID === id && !record.purged) throw new KpError('KEY_RING_NOT_EMPTY_ERR', action);
      }
      tx.delete(PREFIX + id);
    });
  }

  /** The key ring a new key goes to: `x-kms-key-ring`, else the body's keyRingID, else `default`; it must exist. */
  async ringForNewKey(header: string | undefined, bodyRing: unknown): Promise<string> {
    const ring = header ?? (typeof bodyRing === 'string' ? bodyRing : DEFAULT_KEY_RING);
    await this.requireExists(ring, 'Key could not be created');
    return ring;
  }

  /**
   * PATCH /keys/{id} with {keyRingID}: moves a key to another existing ring
   * (concord:UpdateKeyProtectKeyRing, and kms:DescribeKey on a root key).
   */
  async moveKey(who: KpCaller, id: string, body: Record<string, unknown>): Promise<void> {
    const action = 'Key could not be updated';
    await inKpTerms(() => this.service.authorizeManagement(who.caller, KEY_RING_ACTIONS.move), action);
    const { keyRingID, ...rest } = body;
    if (typeof keyRingID !== 'string' || Object.keys(rest).some((k) => k !== 'type')) throw new KpError('BAD_BODY_ERR', action, 'keyRingID');
    const record = await this.keys.record(id);
    if (!record?.standard) await this.keys.describe(who.caller, id);
    await this.service.ctx.store.transaction(async (tx) => {
      await this.requireExists(keyRingID, action, tx);
      const stored = await tx.getForUpdate(kpKeyPath(id));
      const current = stored === undefined ? undefined : (JSON.parse(stored) as KpKeyRecord);
      tx.put(kpKeyPath(id), JSON.stringify({ ...(current ?? defaultKpRecord(id)), keyRingID }));
    });
  }

  private async requireExists(ring: string, action: string, tx?: Transaction): Promise<void> {
    if (ring === DEFAULT_KEY_RING) return;
    const found = KEY_RING_ID.test(ring) && (await (tx ? tx.getForUpdate(PREFIX + ring) : this.service.ctx.store.get(PREFIX + ring))) !== undefined;
    if (!found) throw new KpError('KEY_RING_NOT_FOUND_ERR', action, 'x-kms-key-ring');
  }
}
