import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { makePrivateFile } from '../util/index.ts';
import { StoreConflictError, type Entry, type ListOptions, type Store, type Transaction } from './store.ts';
import { migrate } from './migrations.ts';

const TOMBSTONE = Symbol('deleted');
type Pending = string | typeof TOMBSTONE;
const CACHE_LIMIT = 10_000;

/**
 * SQLite in WAL mode with synchronous=FULL, so a commit is on disk before it is
 * acknowledged. One writer at a time: transactions queue, buffer their writes and apply
 * them in one SQLite transaction, so readers never see uncommitted data.
 *
 * On SQLite a region is one node: the database is locked to this process (exclusive locking
 * mode, which also spares every read its file-lock system calls), so only this store's own
 * commits change it, and values read are kept in memory and replaced as commits land.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], string>;
  private readonly listStmt: Database.Statement<[string, string, string, number], Entry>;
  private readonly putStmt: Database.Statement<[string, string]>;
  private readonly deleteStmt: Database.Statement<[string]>;
  private readonly nowStmt: Database.Statement<[], number>;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly committed = new Map<string, string>();

  constructor(path: string) {
    if (path !== ':memory:') makeStoreFilesPrivate(path);
    this.db = new Database(path);
    // Before WAL mode: then SQLite keeps its WAL index in process memory rather than shared memory.
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.getStmt = this.db.prepare<[string], string>('SELECT value FROM entries WHERE key = ?').pluck();
    this.listStmt = this.db.prepare('SELECT key, value FROM entries WHERE key >= ? AND key < ? AND key > ? ORDER BY key LIMIT ?');
    this.putStmt = this.db.prepare('INSERT INTO entries (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.deleteStmt = this.db.prepare('DELETE FROM entries WHERE key = ?');
    this.nowStmt = this.db.prepare<[], number>("SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER)").pluck();
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.read(key));
  }

  private read(key: string): string | undefined {
    const cached = this.committed.get(key);
    if (cached !== undefined) return cached;
    const value = this.getStmt.get(key);
    if (value !== undefined) this.remember(key, value);
    return value;
  }

  private remember(key: string, value: string): void {
    if (this.committed.size >= CACHE_LIMIT) this.committed.clear();
    this.committed.set(key, value);
  }

  list(prefix: string, options: ListOptions = {}): Promise<Entry[]> {
    return Promise.resolve(this.listSync(prefix, options));
  }

  private listSync(prefix: string, { after = '', limit = -1 }: ListOptions): Entry[] {
    return this.listStmt.all(prefix, prefixEnd(prefix), after, limit);
  }

  transaction<T>(work: (tx: Transaction) => T | Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.runTransaction(work));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runTransaction<T>(work: (tx: Transaction) => T | Promise<T>): Promise<T> {
    const pending = new Map<string, Pending>();
    const read = (key: string): string | undefined => {
      const value = pending.get(key);
      if (value === TOMBSTONE) return undefined;
      return value ?? this.read(key);
    };
    const tx: Transaction = {
      get(key) {
        return Promise.resolve(read(key));
      },
      getForUpdate(key) {
        return Promise.resolve(read(key));
      },
      list: (prefix, options = {}) => {
        const merged = new Map(this.listSync(prefix, {}).map((e) => [e.key, e.value]));
        for (const [key, value] of pending) {
          if (!key.startsWith(prefix)) continue;
          if (value === TOMBSTONE) merged.delete(key);
          else merged.set(key, value);
        }
        const after = options.after ?? '';
        const entries = [...merged]
          .filter(([key]) => key > after)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([key, value]) => ({ key, value }));
        return Promise.resolve(options.limit === undefined ? entries : entries.slice(0, options.limit));
      },
      put(key, value) {
        pending.set(key, value);
      },
      create(key, value) {
        if (read(key) !== undefined) return Promise.reject(new StoreConflictError(key));
        pending.set(key, value);
        return Promise.resolve();
      },
      delete(key) {
        pending.set(key, TOMBSTONE);
      },
    };
    const result = await work(tx);
    if (pending.size > 0) {
      this.db.transaction(() => {
        for (const [key, value] of pending) {
          if (value === TOMBSTONE) this.deleteStmt.run(key);
          else this.putStmt.run(key, value);
        }
      })();
      for (const [key, value] of pending) {
        if (value === TOMBSTONE) this.committed.delete(key);
        else this.remember(key, value);
      }
    }
    return result;
  }

  /** A SQLite store belongs to one node, so its work is always this node's. */
  async runExclusive(_name: string, work: () => Promise<void>): Promise<boolean> {
    await work();
    return true;
  }

  now(): Promise<number> {
    return Promise.resolve(this.nowStmt.get()!);
  }

  async close(): Promise<void> {
    await this.queue;
    this.db.close();
  }
}

/**
 * The database file is made (or made again) readable only by its owner before SQLite opens
 * it: SQLite creates its WAL, shared-memory and journal files with the database file's mode
 * (set with fchmod, whatever the umask), so they follow. Such files left by an earlier run
 * are tightened too, since SQLite keeps an existing file's mode.
 */
function makeStoreFilesPrivate(path: string): void {
  makePrivateFile(path);
  for (const companion of ['-wal', '-shm', '-journal']) if (existsSync(path + companion)) makePrivateFile(path + companion);
}

/** The smallest string greater than every string that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  return prefix + '\uffff';
}
