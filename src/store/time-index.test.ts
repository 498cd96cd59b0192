import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteStore } from './sqlite-store.ts';
import { purgeTimeIndex, timeIndexPath, timeIndexTime } from './time-index.ts';

describe('time index', () => {
  const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'concord-time-index-')), 'region.db'));
  after(() => store.close());

  it('lists entries in time order and reads their time back', async () => {
    await store.transaction((tx) => {
      for (const at of [1_000_000, 5, 30_000]) tx.put(timeIndexPath('order', at, `id-${at}`), '');
    });
    const entries = await store.list('order/');
    assert.deepEqual(
      entries.map((entry) => timeIndexTime(entry.key)),
      [5, 30_000, 1_000_000],
    );
    assert.equal(entries[0]!.key, 'order/000000000000005/id-5');
  });

  it('purges only the entries timed before the limit, across pages, and only of its index', async () => {
    await store.transaction((tx) => {
      for (let at = 0; at < 1200; at += 1) tx.put(timeIndexPath('purge', at, `id-${at}`), '');
      tx.put(timeIndexPath('purge-other', 0, 'kept'), '');
    });
    assert.equal(await purgeTimeIndex(store, 'purge', 1100), 1100);
    const left = await store.list('purge/');
    assert.equal(left.length, 100);
    assert.equal(timeIndexTime(left[0]!.key), 1100);
    assert.equal((await store.list('purge-other/')).length, 1);
    assert.equal(await purgeTimeIndex(store, 'purge', 1100), 0);
  });
});
