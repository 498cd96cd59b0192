import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from './sqlite-store.ts';
import { storeSuite } from './store.suite.ts';

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'concord-store-')), 'region.db');

storeSuite('SQLite', () => Promise.resolve(new SqliteStore(freshPath())));
storeSuite('SQLite shared by processes', () => Promise.resolve(new SqliteStore(freshPath(), { shared: true })));

it('keeps its database to itself while open, as the one process of its region, and lets it go on close', async () => {
  const path = freshPath();
  const store = new SqliteStore(path);
  await store.transaction((tx) => {
    tx.put('k', 'v');
  });
  try {
    assert.throws(() => new SqliteStore(path), { code: 'SQLITE_BUSY' });
  } finally {
    await store.close();
  }
  const reopened = new SqliteStore(path, { shared: true });
  assert.equal(await reopened.get('k'), 'v');
  await reopened.close();
});

it('makes a new file with 8 KiB pages, so that a 1 KB audit event fits in its page, and leaves an existing file as it is', async () => {
  const path = freshPath();
  const store = new SqliteStore(path);
  await store.close();
  const old = join(mkdtempSync(join(tmpdir(), 'concord-store-')), 'region.db');
  const made = new Database(old);
  made.exec('CREATE TABLE made_with_4k (x)');
  made.close();
  const reopened = new SqliteStore(old);
  await reopened.close();
  const pageSize = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.pragma('page_size', { simple: true }) as number;
    } finally {
      db.close();
    }
  };
  assert.equal(pageSize(path), 8192);
  assert.equal(pageSize(old), 4096);
});

it("serves another connection's commit to a reader that had the old value cached", async () => {
  const path = freshPath();
  const reader = new SqliteStore(path, { shared: true });
  const writer = new SqliteStore(path, { shared: true });
  try {
    await writer.transaction((tx) => {
      tx.put('k', 'old');
    });
    assert.equal(await reader.get('k'), 'old');
    await writer.transaction((tx) => {
      tx.put('k', 'new');
      tx.put('gone', 'soon');
    });
    assert.equal(await reader.get('k'), 'new');
    await writer.transaction((tx) => {
      tx.delete('k');
    });
    assert.equal(await reader.get('k'), undefined);
  } finally {
    await reader.close();
    await writer.close();
  }
});

it('serializes read-modify-write transactions of two connections, so no increment is lost', async () => {
  const path = freshPath();
  const stores = [new SqliteStore(path, { shared: true }), new SqliteStore(path, { shared: true })];
  const increment = (store: SqliteStore) =>
    store.transaction(async (tx) => {
      const value = Number((await tx.getForUpdate('counter')) ?? '0');
      // Another connection's transaction gets its turn here if the lock let it.
      await new Promise((resolve) => setImmediate(resolve));
      tx.put('counter', String(value + 1));
    });
  try {
    await Promise.all(Array.from({ length: 40 }, (_, i) => increment(stores[i % 2]!)));
    assert.equal(await stores[0]!.get('counter'), '40');
    assert.equal(await stores[1]!.get('counter'), '40');
  } finally {
    for (const store of stores) await store.close();
  }
});

it('sees in one process what another process committed, through its cache', async () => {
  const path = freshPath();
  const store = new SqliteStore(path, { shared: true });
  try {
    await store.transaction((tx) => {
      tx.put('k', 'before');
    });
    assert.equal(await store.get('k'), 'before');
    const child = fork(new URL('test-sqlite-writer.ts', import.meta.url).pathname, [path], { execArgv: ['--import', 'tsx'] });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
    assert.equal(await store.get('k'), 'written by another process');
  } finally {
    await store.close();
  }
});

it('runs background work only when it was told it is the process for it', async () => {
  const path = freshPath();
  const mine = new SqliteStore(path, { shared: true });
  const others = new SqliteStore(path, { shared: true, backgroundWork: false });
  try {
    let ran = 0;
    const job = () => {
      ran++;
      return Promise.resolve();
    };
    assert.equal(await mine.runExclusive('job', job), true);
    assert.equal(await others.runExclusive('job', job), false);
    assert.equal(ran, 1);
  } finally {
    await mine.close();
    await others.close();
  }
});

it('refuses a second holder of a store file for its host while the first holds it', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'concord-host-lock-')), 'keys.db');
  SqliteStore.holdForHost(path);
  assert.throws(
    () => {
      SqliteStore.holdForHost(path);
    },
    (error: unknown) => (error as { code?: string }).code === 'SQLITE_BUSY',
  );
  // The workers of the holder still share the store itself.
  await new SqliteStore(path, { shared: true }).close();
});
