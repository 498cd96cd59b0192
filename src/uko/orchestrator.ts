import type { CryptoUnit } from '../cryptounits/index.ts';
import { adapterOf, type KeystoreRules } from './keystore-connections.ts';
import { KeystoreUnreachableError, type KeystoreAdapter, type ObservedKey } from './keystore-adapter.ts';
import { currentMaterial, type KeyInKeystore, type KeystoreRecord, type ManagedKeyRecord } from './records.ts';
import { expectedIn, judge, statusOf, stepsTo } from './sync-model.ts';
import { unwrapMaterial } from './key-material.ts';
import type { UkoRepository } from './uko-repository.ts';

export interface OrchestratorDeps {
  unit: CryptoUnit;
  keys: UkoRepository<ManagedKeyRecord>;
  keystores: UkoRepository<KeystoreRecord>;
  rules: KeystoreRules;
  now: () => string;
}

/**
 * Keeps each keystore's copy of a managed key in the state the managed key says: `verify`
 * asks every keystore what it holds and records the flags, `sync` also changes the keystores
 * that differ (create, re-import, enable, disable, schedule or cancel deletion). Both are
 * idempotent: each step is chosen from what the keystore reports now, so a sync interrupted
 * half-way is finished by the next one. Work on one managed key is serialized in this process.
 */
export class Orchestrator {
  private readonly busy = new Map<string, Promise<unknown>>();
  /** One adapter per keystore and revision of its connection, so its client and connections are reused. */
  private readonly adapters = new Map<string, { revision: number; adapter: Promise<KeystoreAdapter> }>();

  constructor(private readonly deps: OrchestratorDeps) {}

  verify(managedKeyId: string): Promise<ManagedKeyRecord> {
    return this.serialized(managedKeyId, () => this.pass(managedKeyId, false));
  }

  sync(managedKeyId: string): Promise<ManagedKeyRecord> {
    return this.serialized(managedKeyId, () => this.pass(managedKeyId, true));
  }

  private async serialized<T>(id: string, work: () => Promise<T>): Promise<T> {
    const before = this.busy.get(id) ?? Promise.resolve();
    const run = before.then(work, work);
    const settled = run.catch(() => undefined);
    this.busy.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.busy.get(id) === settled) this.busy.delete(id);
    }
  }

  /**
   * Sync of one keystore of the key as it is now, as the outbox delivers it (so a delivery covers
   * the later messages it coalesces); a keystore already brought in line with the key's latest
   * change is not touched. Undefined when the key or its copy there is gone.
   */
  syncKeystore(managedKeyId: string, keystoreId: string): Promise<KeyInKeystore | undefined> {
    return this.serialized(managedKeyId, async () => {
      const key = await this.deps.keys.find(managedKeyId);
      const instance = key?.instances.find((i) => i.keystoreId === keystoreId);
      if (!key || !instance) return undefined;
      if ((instance.appliedSeq ?? -1) >= key.syncSeq) return instance;
      const result = await this.one(key, instance, true);
      await this.record(key, [result]);
      return result;
    });
  }

  /** One look at (and with `apply`, one change of) every keystore of the key, in parallel; the results are recorded. */
  private async pass(managedKeyId: string, apply: boolean): Promise<ManagedKeyRecord> {
    const key = await this.deps.keys.get(managedKeyId);
    return this.record(key, await Promise.all(key.instances.map((instance) => this.one(key, instance, apply))));
  }

  /**
   * Writes what keystores reported into the key, without changing its ETag; unless the key
   * changed for its keystores since it was read, in which case that change's own pass records.
   */
  private record(seen: ManagedKeyRecord, results: KeyInKeystore[]): Promise<ManagedKeyRecord> {
    return this.deps.keys.update(seen.id, null, (stored) =>
      stored.syncSeq !== seen.syncSeq
        ? stored
        : { ...stored, instances: stored.instances.map((instance) => results.find((r) => r.keystoreId === instance.keystoreId) ?? instance) },
    );
  }

  private async one(key: ManagedKeyRecord, instance: KeyInKeystore, apply: boolean): Promise<KeyInKeystore> {
    const checkedAt = this.deps.now();
    const keystore = await this.deps.keystores.find(instance.keystoreId);
    if (!keystore) {
      const detail = key.state === 'active' ? 'target_keystore_removed_by_user_contains_an_active_key' : 'target_keystore_removed_by_user';
      return { ...instance, status: 'error', syncFlag: 'error', syncFlagDetail: detail, error: 'The keystore was removed', checkedAt };
    }
    let keyId = instance.keyIdInKeystore;
    let observed: ObservedKey | undefined;
    try {
      const adapter = await this.adapterFor(keystore);
      const pattern = currentMaterial(key).pattern;
      observed = keyId === undefined ? 'absent' : await adapter.describe(keyId, pattern);
      const steps = apply ? stepsTo(expectedIn(key.state), observed) : [];
      // What the last step made known; a keystore is asked again only when no step said.
      let known: ObservedKey | undefined;
      for (const step of steps) ({ keyId, known } = await this.perform(step, adapter, key, keyId));
      if (steps.length > 0 && keyId !== undefined) observed = known ?? (await adapter.describe(keyId, pattern));
      const status = statusOf(observed);
      const applied = apply ? { appliedSeq: key.syncSeq } : {};
      return { ...instance, keyIdInKeystore: keyId, status, ...judge(key.state, status), error: undefined, checkedAt, ...applied };
    } catch (error) {
      const reason = (error as Error).message;
      if (error instanceof KeystoreUnreachableError) {
        return { ...instance, keyIdInKeystore: keyId, status: 'error', syncFlag: 'error', syncFlagDetail: 'connection_error', error: reason, checkedAt };
      }
      // The keystore answered but refused a step: the copy stays out of sync, with the reason.
      const status = observed === undefined ? instance.status : statusOf(observed);
      return {
        ...instance,
        keyIdInKeystore: keyId,
        status,
        syncFlag: 'out_of_sync',
        syncFlagDetail: judge(key.state, status).syncFlagDetail,
        error: reason,
        checkedAt,
      };
    }
  }

  private adapterFor(keystore: KeystoreRecord): Promise<KeystoreAdapter> {
    const cached = this.adapters.get(keystore.id);
    if (cached?.revision === keystore.revision) return cached.adapter;
    const adapter = adapterOf(this.deps.unit, keystore, this.deps.rules);
    this.adapters.set(keystore.id, { revision: keystore.revision, adapter });
    adapter.catch(() => this.adapters.delete(keystore.id));
    return adapter;
  }

  private async perform(
    step: ReturnType<typeof stepsTo>[number],
    adapter: KeystoreAdapter,
    key: ManagedKeyRecord,
    keyId: string | undefined,
  ): Promise<{ keyId: string | undefined; known?: ObservedKey }> {
    const withMaterial = async <T>(use: (material: Buffer) => Promise<T>): Promise<T> => {
      const material = await unwrapMaterial(this.deps.unit, key.id, currentMaterial(key));
      try {
        return await use(material);
      } finally {
        material.fill(0);
      }
    };
    if (step === 'create') {
      const created = await withMaterial((material) =>
        adapter.create({ managedKeyId: key.id, version: currentMaterial(key).version, label: key.label, description: key.description, material }),
      );
      return { keyId: created.keyIdInKeystore, known: created.observed };
    }
    if (keyId === undefined) return { keyId };
    if (step === 'import') await withMaterial((material) => adapter.importMaterial(keyId, material));
    else if (step === 'enable') await adapter.enable(keyId);
    else if (step === 'disable') await adapter.disable(keyId);
    else if (step === 'schedule_deletion') await adapter.scheduleDeletion(keyId);
    else await adapter.cancelDeletion(keyId);
    return { keyId };
  }
}
