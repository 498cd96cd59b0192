import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { freshSchema, requirePostgres, type TestSchema } from '../../test/e2e/postgres-harness.ts';
import { eventually } from '../../test/e2e/eventually.ts';
import { PostgresStore, SqliteStore } from '../store/index.ts';
import { enqueue, Outbox, OUTBOX_JOB, retryDelay, type OutboxEntry, type OutboxMessage } from './outbox.ts';

const serverUrl = requirePostgres('the outbox tests on a shared database');

interface Node {
  name: string;
  store: PostgresStore;
  outbox: Outbox;
  log: string[];
}

if (serverUrl) {
  describe('the outbox of two nodes sharing one PostgreSQL database', () => {
    let schema: TestSchema | undefined;
    const nodes: Node[] = [];
    const deliveries: { node: string; seq: number; keyId: string }[] = [];

    const startNode = async (name: string): Promise<Node> => {
      const store = await PostgresStore.open(schema!.url);
      const log: string[] = [];
      const logger = pino({ level: 'debug' }, { write: (line: string) => log.push(line) });
      const deliver = (entry: OutboxEntry<{ keyId: string }>) => {
        deliveries.push({ node: name, seq: entry.seq, keyId: entry.body.keyId });
        return Promise.resolve({ done: true } as const);
      };
      const outbox = new Outbox(store, logger);
      outbox.register('replication', deliver);
      const node = { name, store, outbox, log };
      nodes.push(node);
      return node;
    };
    const write = (node: Node, keyId: string) =>
      node.store.transaction(async (tx) => enqueue(tx, { topic: 'replication', destination: 'us-west-2', body: { keyId } } satisfies OutboxMessage));
    const outboxIsEmpty = async (node: Node) => {
      assert.deepEqual(await node.store.list('outbox/'), []);
    };

    let leader: Node;
    let other: Node;
    before(async () => {
      schema = await freshSchema(serverUrl);
      leader = await startNode('node-1');
      other = await startNode('node-2');
      assert.equal(await leader.store.runExclusive(OUTBOX_JOB, () => Promise.resolve()), true);
    });
    after(async () => {
      for (const node of nodes) {
        await node.outbox.close();
        await node.store.close();
      }
      await schema?.drop();
    });

    it('delivers at once what the node holding the outbox lock writes', async () => {
      await write(leader, 'key-a');
      leader.outbox.kick();
      await eventually(() => outboxIsEmpty(leader));
      assert.deepEqual(deliveries, [{ node: 'node-1', seq: 1, keyId: 'key-a' }]);
    });

    it("leaves another node's messages to the lock holder, which delivers them in order within seconds", async () => {
      await write(other, 'key-b');
      await write(other, 'key-c');
      other.outbox.kick();
      await eventually(() => outboxIsEmpty(other), { timeoutMs: 5000 });
      assert.ok(other.log.some((line) => line.includes('outbox left to the node delivering it')));
      assert.deepEqual(deliveries.slice(1), [
        { node: 'node-1', seq: 2, keyId: 'key-b' },
        { node: 'node-1', seq: 3, keyId: 'key-c' },
      ]);
    });

    it('delivers through the other node once the lock holder is gone', async () => {
      await leader.outbox.close();
      await leader.store.close();
      nodes.splice(nodes.indexOf(leader), 1);
      await write(other, 'key-d');
      await eventually(() => outboxIsEmpty(other), { timeoutMs: 5000 });
      assert.deepEqual(deliveries.slice(3), [{ node: 'node-2', seq: 4, keyId: 'key-d' }]);
    });
  });
}

describe('the outbox of one node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-outbox-'));
  const store = new SqliteStore(join(dir, 'store.db'));
  const logger = pino({ level: 'silent' });
  const outboxes: Outbox[] = [];
  const open = (): Outbox => {
    const outbox = new Outbox(store, logger);
    outboxes.push(outbox);
    return outbox;
  };
  const write = (...messages: OutboxMessage[]) =>
    store.transaction(async (tx) => {
      for (const message of messages) await enqueue(tx, message);
    });
  const empty = async () => {
    assert.deepEqual(await store.list('outbox/'), []);
  };
  after(async () => {
    for (const outbox of outboxes) await outbox.close();
    await store.close();
  });

  it('keeps each topic in order on its own: a destination failing in one topic holds up neither the same destination in another nor the other destinations', async () => {
    const outbox = open();
    const delivered: string[] = [];
    let webhooksUp = false;
    outbox.register<{ n: number }>('replication', ({ destination, body }) => {
      delivered.push(`replication ${destination} ${body.n}`);
      return Promise.resolve({ done: true });
    });
    outbox.register<{ n: number }>('webhooks', ({ destination, body }) => {
      if (destination === 'shared' && !webhooksUp) return Promise.reject(new Error('connection refused'));
      delivered.push(`webhooks ${destination} ${body.n}`);
      return Promise.resolve({ done: true });
    });
    await write(
      { topic: 'webhooks', destination: 'shared', body: { n: 1 } },
      { topic: 'replication', destination: 'shared', body: { n: 1 } },
      { topic: 'webhooks', destination: 'other', body: { n: 1 } },
      { topic: 'webhooks', destination: 'shared', body: { n: 2 } },
      { topic: 'replication', destination: 'shared', body: { n: 2 } },
    );
    assert.equal(await outbox.run(), 3);
    assert.deepEqual(delivered.splice(0), ['replication shared 1', 'replication shared 2', 'webhooks other 1']);

    webhooksUp = true;
    await eventually(empty, { timeoutMs: 5000 });
    assert.deepEqual(delivered, ['webhooks shared 1', 'webhooks shared 2'], 'the failed destination resumes in order');
  });

  it('settles the later messages of a destination with the same coalesce key in one delivery, and moves a message to the destination its delivery names', async () => {
    const outbox = open();
    const delivered: string[] = [];
    outbox.register<{ n: number }>('sync', ({ destination, body }) => {
      delivered.push(`${destination} ${body.n}`);
      return Promise.resolve(destination === 'old-primary' ? { retarget: 'new-primary' } : { done: true });
    });
    await write(
      { topic: 'sync', destination: 'a', body: { n: 1 }, coalesce: 'key-1' },
      { topic: 'sync', destination: 'b', body: { n: 2 }, coalesce: 'key-1' },
      { topic: 'sync', destination: 'a', body: { n: 3 } },
      { topic: 'sync', destination: 'a', body: { n: 4 }, coalesce: 'key-1' },
      { topic: 'sync', destination: 'old-primary', body: { n: 5 } },
    );
    await outbox.run();
    await eventually(empty);
    assert.deepEqual(delivered, ['a 1', 'b 2', 'a 3', 'old-primary 5', 'new-primary 5']);
  });

  it('delivers after a restart what an earlier run left, and keeps the messages of a topic nobody registered', async () => {
    const before = open();
    before.register('restart', () => Promise.reject(new Error('unreachable')));
    await write({ topic: 'restart', destination: 'a', body: { n: 1 } }, { topic: 'unclaimed', destination: 'a', body: { n: 1 } });
    assert.equal(await before.run(), 0);
    await before.close();

    const after = open();
    const delivered: unknown[] = [];
    after.register('restart', ({ body }) => (delivered.push(body), Promise.resolve({ done: true })));
    assert.equal(await after.run(), 1);
    assert.deepEqual(delivered, [{ n: 1 }]);
    assert.deepEqual(
      (await store.list('outbox/')).map((entry) => entry.key),
      ['outbox/unclaimed/000000000000001'],
    );
  });
});

describe('the retry delay', () => {
  it('doubles from 100 ms up to 10 s, of which it waits a random half', () => {
    for (const [failures, ceiling] of [
      [1, 100],
      [2, 200],
      [5, 1600],
      [8, 10_000],
      [40, 10_000],
    ] as const) {
      assert.equal(
        retryDelay(failures, () => 0),
        ceiling / 2,
      );
      assert.equal(
        retryDelay(failures, () => 0.5),
        (ceiling * 3) / 4,
      );
      assert.ok(retryDelay(failures, () => 1 - Number.EPSILON) <= ceiling);
      for (let i = 0; i < 100; i += 1) {
        const delay = retryDelay(failures);
        assert.ok(delay >= ceiling / 2 && delay <= ceiling, `${delay} ms after ${failures} failures`);
      }
    }
  });
});
