import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteStore } from '../store/index.ts';
import { enqueueReplication } from './replication-messages.ts';
import { ReplicationBacklog } from './replication-backlog.ts';

describe('ReplicationBacklog', () => {
  const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'concord-backlog-')), 'keys.db'));
  after(() => store.close());
  const write = (keyId: string, target: string) => store.transaction((tx) => enqueueReplication(tx, { kind: 'sync', keyId, target }));

  it('counts the messages waiting for each peer and how long the oldest has waited since first seen', async () => {
    const backlog = new ReplicationBacklog(store);
    assert.deepEqual(await backlog.read(1000), []);
    await write('k1', 'us-west-2');
    await write('k2', 'us-west-2');
    assert.deepEqual(await backlog.read(1000), [{ peer: 'us-west-2', messages: 2, oldestWaitMs: 0 }]);
    await write('k3', 'eu-west-1');
    assert.deepEqual(await backlog.read(4000), [
      { peer: 'us-west-2', messages: 2, oldestWaitMs: 3000 },
      { peer: 'eu-west-1', messages: 1, oldestWaitMs: 0 },
    ]);
  });

  it('forgets delivered messages, so the next oldest counts from when it was first seen', async () => {
    const backlog = new ReplicationBacklog(store);
    await backlog.read(10_000);
    const [first] = await store.list('outbox/replication/', { limit: 1 });
    await store.transaction((tx) => {
      tx.delete(first!.key);
    });
    await write('k4', 'us-west-2');
    assert.deepEqual(await backlog.read(12_000), [
      { peer: 'us-west-2', messages: 2, oldestWaitMs: 2000 },
      { peer: 'eu-west-1', messages: 1, oldestWaitMs: 2000 },
    ]);
  });
});
