import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { pino } from 'pino';
import { Outbox, type OutboxEntry } from '../outbox/index.ts';
import { SqliteStore } from '../store/index.ts';
import { enqueueReplication, REPLICATION_TOPIC, upgradeStoredMessages, type ReplicationBody } from './replication-messages.ts';

it('moves the replication messages an earlier version queued into the shared outbox, in their order, ahead of newer ones', async () => {
  const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'concord-replication-messages-')), 'keys.db'));
  const legacy = [
    { kind: 'sync', keyId: 'mrk-1', target: 'us-west-2' },
    { kind: 'replica-deleted', keyId: 'mrk-2', target: 'eu-west-1' },
    { kind: 'sync', keyId: 'mrk-1', target: 'us-west-2' },
  ];
  await store.transaction((tx) => {
    legacy.forEach((message, i) => {
      tx.put(`outbox/${String(i + 1).padStart(15, '0')}`, JSON.stringify({ ...message, seq: i + 1 }));
    });
    tx.put('region/outbox-seq', String(legacy.length));
  });

  assert.equal(await upgradeStoredMessages(store), 3);
  assert.equal(await upgradeStoredMessages(store), 0, 'once is enough');
  assert.equal(await store.get('region/outbox-seq'), undefined);
  await store.transaction((tx) => enqueueReplication(tx, { kind: 'sync', keyId: 'mrk-3', target: 'us-west-2' }));

  const outbox = new Outbox(store, pino({ level: 'silent' }));
  const delivered: string[] = [];
  outbox.register(REPLICATION_TOPIC, ({ destination, body }: OutboxEntry<ReplicationBody>) => {
    delivered.push(`${body.kind} ${body.keyId} ${destination}`);
    return Promise.resolve({ done: true });
  });
  assert.equal(await outbox.run(), 3);
  assert.deepEqual(delivered, ['sync mrk-1 us-west-2', 'replica-deleted mrk-2 eu-west-1', 'sync mrk-3 us-west-2'], 'the two syncs of mrk-1 go out as one');
  assert.deepEqual(await store.list('outbox/'), []);
  await outbox.close();
  await store.close();
});
