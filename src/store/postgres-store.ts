import { createHash } from 'node:crypto';
import pg from 'pg';
import { postgresMigrations } from './migrations.ts';
import { prefixEnd } from './sqlite-store.ts';
import { StoreConflictError, StoreUnavailableError, type Entry, type ListOptions, type Store, type Transaction } from './store.ts';

/**
 * Bounds on every wait, so a lost or stopped database answers requests with
 * StoreUnavailableError in a few seconds instead of hanging them.
 */
const TIMEOUTS = {
  connectionTimeoutMillis: 5000,
  statement_timeout: 10000,
  query_timeout: 12000,
  idle_in_transaction_session_timeout: 30000,
};

/** SQLSTATE classes that mean "try again later", not "this request is wrong". */
const TRANSIENT_SQLSTATE = /^(08|40|53|55P03|57|58)/;

/**
 * PostgreSQL, for regions served by several nodes on one database. Keys are compared
 * bytewise (COLLATE "C") so listing order matches SQLite's. Transactions run on one pooled
 * connection in READ COMMITTED; getForUpdate takes the row lock, so read-modify-write loses
 * no update across nodes. The pool replaces broken connections by itself.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  private lease: Promise<pg.PoolClient> | undefined;
  private readonly held = new Set<string>();
  private closed: Promise<void> | undefined;

  private constructor(private readonly pool: pg.Pool) {}

  static async open(url: string): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, keepAlive: true, ...TIMEOUTS });
    // A pooled idle connection the server drops emits 'error'; the pool discards it, and
    // the next request connects afresh.
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool);
    try {
      await store.migrate();
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  /** Applies pending schema steps in one transaction, serialized across nodes starting at once. */
  private async migrate(): Promise<void> {
    await this.withClient(async (client) => {
      await query(client, 'BEGIN');
      try {
        await query(client, `SELECT pg_advisory_xact_lock(${lockKey('$1')})`, ['migrations']);
        await query(client, 'CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
        const { rows } = await query<{ version: number }>(client, 'SELECT version FROM schema_version');
        const current = rows[0]?.version ?? 0;
        for (const step of postgresMigrations.slice(current)) await query(client, step);
        const version = String(postgresMigrations.length);
        if (rows.length === 0) await query(client, 'INSERT INTO schema_version (version) VALUES ($1)', [version]);
        else await query(client, 'UPDATE schema_version SET version = $1', [version]);
        await query(client, 'COMMIT');
      } catch (error) {
        await rollback(client, error);
        throw error;
      }
    });
  }

  async get(key: string): Promise<string | undefined> {
    return selectValue(this.pool, key, '');
  }

  async list(prefix: string, options: ListOptions = {}): Promise<Entry[]> {
    return selectRange(this.pool, prefix, options);
  }

  transaction<T>(work: (tx: Transaction) => T | Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await query(client, 'BEGIN');
      // put and delete return nothing, so their statements are queued on the connection
      // (which runs them in order) and their outcome is awaited before any read and at commit.
      const writes: Promise<unknown>[] = [];
      const write = (text: string, values: string[]): void => {
        const pending = query(client, text, values);
        pending.catch(() => undefined);
        writes.push(pending);
      };
      const written = (): Promise<unknown> => Promise.all(writes);
      const tx: Transaction = {
        get: async (key) => (await written(), selectValue(client, key, '')),
        getForUpdate: async (key) => (await written(), selectValue(client, key, 'FOR UPDATE')),
        list: async (prefix, options = {}) => (await written(), selectRange(client, prefix, options)),
        put: (key, value) => {
          write('INSERT INTO entries (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
        },
        create: async (key, value) => {
          await written();
          const { rowCount } = await query(client, 'INSERT INTO entries (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
          if (rowCount === 0) throw new StoreConflictError(key);
        },
        delete: (key) => {
          write('DELETE FROM entries WHERE key = $1', [key]);
        },
      };
      try {
        const result = await work(tx);
        await written();
        await query(client, 'COMMIT');
        return result;
      } catch (error) {
        await Promise.allSettled(writes);
        await rollback(client, error);
        throw error;
      }
    });
  }

  /**
   * Runs `work` only on the node holding the session advisory lock named `name`. The lock
   * is kept on a dedicated connection between runs, so one node keeps doing the work while
   * it lives; when its connection (or process) dies, the lock frees and another node takes over.
   */
  async runExclusive(name: string, work: () => Promise<void>): Promise<boolean> {
    try {
      const client = await this.leaseClient();
      if (this.held.has(name)) await query(client, 'SELECT 1');
      else {
        const { rows } = await query<{ locked: boolean }>(client, `SELECT pg_try_advisory_lock(${lockKey('$1')}) AS locked`, [name]);
        if (!rows[0]?.locked) return false;
        this.held.add(name);
      }
    } catch (error) {
      await this.dropLease();
      throw error;
    }
    await work();
    return true;
  }

  /** The database server's clock: clock_timestamp() moves on within a transaction, unlike now(). */
  async now(): Promise<number> {
    const { rows } = await query<{ now: string }>(this.pool, 'SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS now');
    return Number(rows[0]!.now);
  }

  private leaseClient(): Promise<pg.PoolClient> {
    if (this.lease) return this.lease;
    const lease: Promise<pg.PoolClient> = this.pool.connect().then(
      (client) => {
        client.on('error', () => {
          if (this.lease === lease) void this.dropLease();
        });
        return client;
      },
      (error: unknown) => {
        throw unavailableOr(error);
      },
    );
    this.lease = lease;
    return lease;
  }

  /**
   * Gives up the dedicated connection and every lock it held. The locks are released
   * explicitly, so another node can take them as soon as this returns; a broken connection
   * is discarded, and the server frees its locks when it notices.
   */
  private async dropLease(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.held.clear();
    const client = await lease?.catch(() => undefined);
    if (!client) return;
    const unlocked = await query(client, 'SELECT pg_advisory_unlock_all()').then(
      () => true,
      () => false,
    );
    client.release(unlocked ? undefined : true);
  }

  private async withClient<T>(use: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((error: unknown) => {
      throw unavailableOr(error);
    });
    // A checked-out connection that breaks emits 'error' besides failing its queries.
    let broken: unknown;
    const onError = (error: unknown) => (broken = error);
    client.on('error', onError);
    try {
      return await use(client);
    } catch (error) {
      if (error instanceof StoreUnavailableError) broken ??= error;
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken === undefined ? undefined : true);
    }
  }

  close(): Promise<void> {
    this.closed ??= this.dropLease().then(() => this.pool.end());
    return this.closed;
  }
}

/**
 * Rolls back after `error`, unless the connection is in doubt: withClient then discards it,
 * and the server rolls back on its own, so no ROLLBACK waits on a dead connection.
 */
async function rollback(client: pg.PoolClient, error: unknown): Promise<void> {
  if (!(error instanceof StoreUnavailableError)) await query(client, 'ROLLBACK').catch(() => undefined);
}

/** An advisory lock key for `name`, distinct per schema so deployments sharing a database do not collide. */
const lockKey = (name: string): string => `hashtextextended('concord/' || current_schema() || '/' || ${name}, 0)`;

type Queryable = pg.Pool | pg.PoolClient;

const statementNames = new Map<string, string>();

/** Statements with parameters are prepared once per connection, under a name derived from their text. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = createHash('sha256').update(text).digest('hex').slice(0, 32);
    statementNames.set(text, name);
  }
  return name;
}

async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(on: Queryable, text: string, values: string[] = []): Promise<pg.QueryResult<R>> {
  try {
    return await on.query<R>({ name: values.length === 0 ? undefined : statementName(text), text, values });
  } catch (error) {
    throw unavailableOr(error);
  }
}

async function selectValue(on: Queryable, key: string, lock: '' | 'FOR UPDATE'): Promise<string | undefined> {
  const { rows } = await query<{ value: string }>(on, `SELECT value FROM entries WHERE key = $1 ${lock}`, [key]);
  return rows[0]?.value;
}

async function selectRange(on: Queryable, prefix: string, { after = '', limit }: ListOptions): Promise<Entry[]> {
  const { rows } = await query<Entry>(
    on,
    `SELECT key, value FROM entries WHERE key >= $1 AND key < $2 AND key > $3 ORDER BY key${limit === undefined ? '' : ' LIMIT $4'}`,
    limit === undefined ? [prefix, prefixEnd(prefix), after] : [prefix, prefixEnd(prefix), after, String(limit)],
  );
  return rows;
}

/** Connection loss, timeouts and a database that is starting or stopping are "unavailable"; anything else is a bug. */
function unavailableOr(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown }).code;
  const sqlState = error instanceof pg.DatabaseError && typeof code === 'string' ? code : undefined;
  return sqlState === undefined || TRANSIENT_SQLSTATE.test(sqlState) ? new StoreUnavailableError(error) : error;
}
