import type Database from 'better-sqlite3';

/**
 * Versioned schema steps, shared in spirit by every SQL store: each step runs once, in
 * order, and the applied version is recorded in the same transaction.
 */
export const sqliteMigrations: string[] = [`CREATE TABLE entries (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID`];

/** The same schema for PostgreSQL; "C" collation orders keys bytewise, as SQLite does. */
export const postgresMigrations: string[] = [`CREATE TABLE entries (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)`];

export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  db.transaction(() => {
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const current = row?.version ?? 0;
    sqliteMigrations.slice(current).forEach((step) => db.exec(step));
    if (!row) db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(sqliteMigrations.length);
    else db.prepare('UPDATE schema_version SET version = ?').run(sqliteMigrations.length);
  }).immediate();
}
