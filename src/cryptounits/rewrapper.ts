import type { Store } from '../store/index.ts';
import type { RegionCryptoUnit } from './region-crypto-unit.ts';
import { CryptoUnitError } from './unit-error.ts';
import { patternOf } from './wrapped-key.ts';

/** Re-wraps one wrapped value, keeping the AAD it is bound to. */
export type Reseal = (wrapped: Buffer, aad: Buffer) => Promise<Buffer>;

/**
 * A family of store records holding wrapped material, registered by the module that owns
 * them (it alone knows each value's AAD): `rewrap` returns the record stored under `key`
 * with every wrapped value passed through `reseal`.
 */
export interface WrappedRecords {
  prefix: string;
  rewrap(value: string, reseal: Reseal, key: string): Promise<string>;
}

export interface RewrapProgress {
  scanned: number;
  rewrapped: number;
  /** Where the next batch starts; absent when every record has been visited. */
  cursor?: string;
}

/**
 * Moves stored material under one master key, a batch of records per transaction. It is
 * idempotent (a value already under the target is left as it is), so an interrupted pass
 * resumes from its cursor or simply starts again.
 */
export class Rewrapper {
  constructor(
    private readonly store: Store,
    private readonly unit: RegionCryptoUnit,
    private readonly families: readonly WrappedRecords[],
  ) {}

  /** How many records the families hold, for progress reports. */
  async count(): Promise<number> {
    let total = 0;
    for (const { prefix } of this.families) {
      for (let after = ''; ;) {
        const page = await this.store.list(prefix, { after, limit: 10_000 });
        total += page.length;
        if (page.length < 10_000) break;
        after = page[page.length - 1]!.key;
      }
    }
    return total;
  }

  async batch(pattern: string, cursor: string | undefined, limit: number): Promise<RewrapProgress> {
    if (!this.unit.units.some((u) => u.role === 'operational' && u.holding(pattern))) {
      throw new CryptoUnitError('InvalidState', `No operational unit of this region holds master key ${pattern}; load it before re-wrapping.`);
    }
    const [index, after] = parseCursor(cursor, this.families.length);
    const family = this.families[index];
    if (!family) return { scanned: 0, rewrapped: 0 };
    let changes = 0;
    const reseal: Reseal = async (wrapped, aad) => {
      if (patternOf(wrapped)?.toString('hex') === pattern) return wrapped;
      changes++;
      return this.unit.wrapUnder(pattern, await this.unit.unwrap(wrapped, aad), aad);
    };
    const rewrapValue = async (key: string, value: string): Promise<string | undefined> => {
      const before = changes;
      const next = await family.rewrap(value, reseal, key);
      return changes > before ? next : undefined;
    };

    const page = await this.store.list(family.prefix, { after, limit });
    const updates: { key: string; before: string; after: string }[] = [];
    for (const entry of page) {
      const next = await rewrapValue(entry.key, entry.value);
      if (next !== undefined) updates.push({ key: entry.key, before: entry.value, after: next });
    }
    await this.store.transaction(async (tx) => {
      for (const update of updates) {
        const now = await tx.getForUpdate(update.key);
        if (now === update.before) tx.put(update.key, update.after);
        else if (now !== undefined) {
          // Changed since it was read: re-wrap what is there now.
          const next = await rewrapValue(update.key, now);
          if (next !== undefined) tx.put(update.key, next);
        }
      }
    });
    const done = page.length < limit;
    const nextCursor = done ? (index + 1 < this.families.length ? `${index + 1}:` : undefined) : `${index}:${page[page.length - 1]!.key}`;
    return { scanned: page.length, rewrapped: updates.length, ...(nextCursor !== undefined ? { cursor: nextCursor } : {}) };
  }
}

function parseCursor(cursor: string | undefined, families: number): [number, string] {
  if (cursor === undefined || cursor === '') return [0, ''];
  const colon = cursor.indexOf(':');
  const index = Number(cursor.slice(0, colon));
  if (colon < 1 || !Number.isInteger(index) || index < 0 || index > families)
    throw new CryptoUnitError('InvalidRequest', 'The re-wrap cursor is not one this region issued.');
  return [index, cursor.slice(colon + 1)];
}
