import type { Store, Transaction } from '../store/index.ts';
import { checkIfMatch } from './etag.ts';
import type { Stamped } from './records.ts';
import { notFound } from './uko-error.ts';

/**
 * One kind of record under one store prefix: read, listed, created, and changed only by a
 * caller holding the current ETag, in one transaction with whatever else the change writes.
 */
export class UkoRepository<R extends Stamped> {
  constructor(
    private readonly store: Store,
    private readonly path: (id?: string) => string,
    /** IBM's name of the resource in errors (vault, keystore, key_template, managed_key). */
    readonly kind: string,
  ) {}

  async find(id: string, reader: Pick<Store, 'get'> = this.store): Promise<R | undefined> {
    if (!id || id.includes('/')) return undefined;
    const value = await reader.get(this.path(id));
    return value === undefined ? undefined : (JSON.parse(value) as R);
  }

  async get(id: string, reader: Pick<Store, 'get'> = this.store): Promise<R> {
    const record = await this.find(id, reader);
    if (!record) throw notFound(this.kind, id);
    return record;
  }

  async list(): Promise<R[]> {
    return (await this.store.list(this.path())).map((entry) => JSON.parse(entry.value) as R);
  }

  async create(record: R, more?: (tx: Transaction) => void | Promise<void>): Promise<R> {
    await this.store.transaction(async (tx) => {
      await tx.create(this.path(record.id), JSON.stringify(record));
      await more?.(tx);
    });
    return record;
  }

  /**
   * Changes a record if `ifMatch` is its current ETag (undefined skips the check: changes the
   * orchestrator makes itself, such as the status in keystores, do not change the ETag).
   */
  async update(
    id: string,
    ifMatch: string | undefined | null,
    change: (record: R, tx: Transaction) => R | Promise<R>,
    by?: { arn: string; at: string },
  ): Promise<R> {
    return this.store.transaction(async (tx) => {
      const value = await tx.getForUpdate(this.path(id));
      if (value === undefined || id.includes('/')) throw notFound(this.kind, id);
      const record = JSON.parse(value) as R;
      if (ifMatch !== null) checkIfMatch(record, ifMatch);
      const changed = await change(record, tx);
      const next = by ? { ...changed, revision: record.revision + 1, updatedAt: by.at, updatedBy: by.arn } : changed;
      tx.put(this.path(id), JSON.stringify(next));
      return next;
    });
  }

  async delete(id: string, ifMatch: string | undefined, check: (record: R, tx: Transaction) => void | Promise<void>): Promise<void> {
    await this.store.transaction(async (tx) => {
      const value = await tx.getForUpdate(this.path(id));
      if (value === undefined || id.includes('/')) throw notFound(this.kind, id);
      const record = JSON.parse(value) as R;
      checkIfMatch(record, ifMatch);
      await check(record, tx);
      tx.delete(this.path(id));
    });
  }
}
