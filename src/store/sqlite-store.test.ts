import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { SqliteStore } from './sqlite-store.ts';
import { storeSuite } from './store.suite.ts';

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'concord-store-')), 'region.db');

storeSuite('SQLite', () => Promise.resolve(new SqliteStore(freshPath())));

it('keeps its database to itself while open, as the one node of its region, and lets it go on close', async () => {
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
  const reopened = new SqliteStore(path);
  assert.equal(await reopened.get('k'), 'v');
  await reopened.close();
});
