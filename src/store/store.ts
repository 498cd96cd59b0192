/**
 * The one storage interface. Values are opaque strings under ordered string keys; every
 * write happens inside a transaction that commits durably or not at all. Storage is
 * untrusted: key material reaches it only wrapped by the crypto unit.
 */
export interface Entry {
  key: string;
  value: string;
}

export interface ListOptions {
  /** Return only keys strictly greater than this one (for paging). */
  after?: string;
  limit?: number;
}

export interface Reader {
  get(key: string): Promise<string | undefined>;
  /** Entries whose key starts with `prefix`, in ascending key order. */
  list(prefix: string, options?: ListOptions): Promise<Entry[]>;
}

export interface Transaction extends Reader {
  /** Reads a key and holds it against concurrent transactions until this one ends. */
  getForUpdate(key: string): Promise<string | undefined>;
  put(key: string, value: string): void;
  /** Writes a key that must not exist yet; the commit fails with StoreConflictError otherwise. */
  create(key: string, value: string): Promise<void>;
  delete(key: string): void;
}

export interface Store extends Reader {
  readonly kind: string;
  transaction<T>(work: (tx: Transaction) => T | Promise<T>): Promise<T>;
  /**
   * Runs background work named `name` on one node of the region only; true when it ran
   * here, false when another node sharing the store holds that work.
   */
  runExclusive(name: string, work: () => Promise<void>): Promise<boolean>;
  /**
   * The store's clock, in milliseconds since the epoch: the same clock for every node sharing
   * the store, for deadlines that several nodes must agree on.
   */
  now(): Promise<number>;
  close(): Promise<void>;
}

export class StoreConflictError extends Error {
  constructor(readonly key: string) {
    super(`store key already exists: ${key}`);
    this.name = 'StoreConflictError';
  }
}

export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message || String((cause as { code?: string | number }).code ?? cause.name) : String(cause);
    super(`the store is unavailable: ${reason}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
