import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { makePrivateFile } from '../util/index.ts';
import { StoreConflictError, type Entry, type ListOptions, type Store, type Transaction } from './store.ts';
import { migrate } from './migrations.ts';

const TOMBSTONE = Symbol('deleted');
type Pending = string | typeof TOMBSTONE;
const CACHE_LIMIT = 10_000;
const PAGE_SIZE = 8192;
/** How long a transaction waits for the write lock another process holds before it fails. */
const WRITE_LOCK_WAIT_MS = 30_000;

export interface SqliteStoreOptions {
  /**
   * Whether other processes open the file too (the workers of one `concord server`). Alone, the
   * store locks the file to itself (exclusive locking mode, which also spares every read its
   * file-lock system calls) and trusts its cache without asking SQLite.
   */
  shared?: boolean;
  /** Whether this process runs the region's background work (runExclusive): exactly one of the processes sharing the file does. */
  backgroundWork?: boolean;
}

/**
 * SQLite in WAL mode with synchronous=FULL, so a commit is on disk before it is
 * acknowledged. Several processes may open one file (the workers of a region). A transaction
 * takes SQLite's write lock when it begins (BEGIN IMMEDIATE), so transactions are serialized
 * across processes and what it reads is the latest committed state; it buffers its writes and
 * applies them just before its commit, so readers sharing the connection never see uncommitted
 * data. The write lock is waited for asynchronously: the synchronous busy handler would stall
 * the whole process while another holds the lock for an fsync.
 *
 * Values read are kept in memory and replaced as this store's commits land. When the file is
 * shared, `PRAGMA data_version` (a read of the WAL index: 1 to 7 µs, against 0.1 to 1 µs for
 * a cached read) tells before each read whether another process has committed, and the cache is
 * then dropped before it serves anything.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], string>;
  private readonly listStmt: Database.Statement<[string, string, string, number], Entry>;
  private readonly putStmt: Database.Statement<[string, string]>;
  private readonly deleteStmt: Database.Statement<[string]>;
  private readonly nowStmt: Database.Statement<[], number>;
  private readonly dataVersionStmt: Database.Statement<[], number>;
  private readonly begin: Database.Statement<[]>;
  private readonly commit: Database.Statement<[]>;
  private readonly rollback: Database.Statement<[]>;
  private dataVersion = -1;
  private readonly shared: boolean;
  private readonly backgroundWork: boolean;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly committed = new Map<string, string>();

  /**
   * Keeps every other host's processes off the store at `path` while the caller lives: worker
   * processes share the store's file, so it cannot be locked to one of them, and a second
   * deployment on it is kept out by this exclusive lock on `<path>.host-lock` instead, held until
   * the process ends (the operating system releases it then, even after kill -9). Throws
   * SQLITE_BUSY when another process holds it.
   */
  static holdForHost(path: string): void {
    const lockPath = `${path}.host-lock`;
    makeStoreFilesPrivate(lockPath);
    const db = new Database(lockPath, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      // The first write takes the exclusive lock, which EXCLUSIVE locking mode never gives back.
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder;');
      db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
      // Kept referenced: a connection the garbage collector takes would give the lock back.
      hostLocks.add(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  constructor(path: string, { shared = false, backgroundWork = true }: SqliteStoreOptions = {}) {
    if (path !== ':memory:') makeStoreFilesPrivate(path);
    this.shared = shared;
    this.backgroundWork = backgroundWork;
    // Opening, switching to WAL and migrating may meet another process starting on the same file.
    this.db = new Database(path, { timeout: shared ? 5000 : 0 });
    // Before WAL mode: then SQLite keeps its WAL index in process memory rather than shared memory.
    if (!shared) this.db.pragma('locking_mode = EXCLUSIVE');
    // A new file only (an existing one keeps its page size). With 4 KiB pages a row over about 1 KB
    // (an audit event, a key record with its policy) spills into an overflow page, and appending
    // one costs three times as much (10 against 3.4 µs per 1.1 KB row, batches of 256).
    this.db.pragma(`page_size = ${PAGE_SIZE}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    migrate(this.db);
    // From here on, a busy lock is waited for without blocking the event loop (beginImmediate).
    this.db.pragma('busy_timeout = 0');
    this.getStmt = this.db.prepare<[string], string>('SELECT value FROM entries WHERE key = ?').pluck();
    this.listStmt = this.db.prepare('SELECT key, value FROM entries WHERE key >= ? AND key < ? AND key > ? ORDER BY key LIMIT ?');
    this.putStmt = this.db.prepare('INSERT INTO entries (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.deleteStmt = this.db.prepare('DELETE FROM entries WHERE key = ?');
    this.nowStmt = this.db.prepare<[], number>("SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER)").pluck();
    this.dataVersionStmt = this.db.prepare<[], number>('PRAGMA data_version').pluck();
    this.begin = this.db.prepare('BEGIN IMMEDIATE');
    this.commit = this.db.prepare('COMMIT');
    this.rollback = this.db.prepare('ROLLBACK');
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.read(key));
  }

  private read(key: string): string | undefined {
    this.forgetOtherCommits();
    const cached = this.committed.get(key);
    if (cached !== undefined) return cached;
    const value = this.getStmt.get(key);
    if (value !== undefined) this.remember(key, value);
    return value;
  }

  /** Drops the cache when another process committed since the last look. */
  private forgetOtherCommits(): void {
    if (!this.shared) return;
    const version = this.dataVersionStmt.get()!;
    if (version === this.dataVersion) return;
    this.committed.clear();
    this.dataVersion = version;
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
    await this.beginImmediate();
    let result: T;
    try {
      result = await this.runWork(work);
    } catch (error) {
      // A failed commit may have ended the transaction already.
      if (this.db.inTransaction) this.rollback.run();
      throw error;
    }
    return result;
  }

  /** Takes SQLite's write lock, waiting (without blocking the event loop) while another process holds it. */
  private async beginImmediate(): Promise<void> {
    const deadline = Date.now() + WRITE_LOCK_WAIT_MS;
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      try {
        this.begin.run();
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      }
      await sleep(wait * (0.5 + Math.random()));
    }
  }

  /** Runs `work` inside the open SQLite transaction, then applies its writes and commits. */
  private async runWork<T>(work: (tx: Transaction) => T | Promise<T>): Promise<T> {
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
    for (const [key, value] of pending) {
      if (value === TOMBSTONE) this.deleteStmt.run(key);
      else this.putStmt.run(key, value);
    }
    this.commit.run();
    // Only values already cached are replaced: what is written without being read (audit events,
    // outbox messages) would fill the cache, push out what requests read, and age into the old
    // generation for the garbage collector to compact.
    for (const [key, value] of pending) {
      if (value === TOMBSTONE) this.committed.delete(key);
      else if (this.committed.has(key)) this.committed.set(key, value);
    }
    return result;
  }

  /**
   * A SQLite region is one host, whose processes are told which of them runs the background
   * work (the first worker, forked again if it dies).
   */
  async runExclusive(_name: string, work: () => Promise<void>): Promise<boolean> {
    if (!this.backgroundWork) return false;
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
/** The host locks this process holds (SqliteStore.holdForHost), for as long as it lives. */
const hostLocks = new Set<Database.Database>();

function makeStoreFilesPrivate(path: string): void {
  makePrivateFile(path);
  for (const companion of ['-wal', '-shm', '-journal']) if (existsSync(path + companion)) makePrivateFile(path + companion);
}

/** The smallest string greater than every string that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  return prefix + '\uffff';
}
