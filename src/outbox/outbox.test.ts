import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { freshSchema, requirePostgres, type TestSchema } from '../../test/e2e/postgres-harness.ts';
import { eventually } from '../../test/e2e/eventually.ts';
import { PostgresStore, SqliteStore, type Store } from '../store/index.ts';
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

const stores: { kind: string; open: () => Promise<{ store: Store; drop: () => Promise<void> }> }[] = [
  {
    kind: 'SQLite',
    open: () => Promise.resolve({ store: new SqliteStore(join(mkdtempSync(join(tmpdir(), 'concord-outbox-')), 'store.db')), drop: () => Promise.resolve() }),
  },
  ...(serverUrl
    ? [
        {
          kind: 'PostgreSQL',
          open: async () => {
            const schema = await freshSchema(serverUrl);
            return { store: await PostgresStore.open(schema.url), drop: () => schema.drop() };
          },
        },
      ]
    : []),
];

for (const kind of stores)
  describe(`the outbox of one node on ${kind.kind}`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    before(async () => {
      ({ store, drop } = await kind.open());
    });
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
      await drop();
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
      assert.deepEqual(delivered.splice(0).sort(), ['replication shared 1', 'replication shared 2', 'webhooks other 1']);

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
      const of = (destination: string) => delivered.filter((line) => line.startsWith(`${destination} `));
      assert.deepEqual(of('a'), ['a 1', 'a 3']);
      assert.deepEqual(of('b'), ['b 2']);
      assert.deepEqual([...of('old-primary'), ...of('new-primary')], ['old-primary 5', 'new-primary 5']);
      assert.ok(delivered.indexOf('old-primary 5') < delivered.indexOf('new-primary 5'));
    });

    it('delivers the partitions of a destination in parallel, each in order, never more at once than its concurrency', async () => {
      const outbox = new Outbox(store, logger, { concurrency: 4 });
      outboxes.push(outbox);
      const delivered = new Map<string, number[]>();
      let underWay = 0;
      let most = 0;
      outbox.register<{ n: number }>('parallel', async ({ destination, partition, body }) => {
        underWay += 1;
        most = Math.max(most, underWay);
        await new Promise((resolve) => setTimeout(resolve, body.n % 3));
        underWay -= 1;
        const line = `${destination} ${partition ?? ''}`;
        delivered.set(line, [...(delivered.get(line) ?? []), body.n]);
        return { done: true };
      });
      const messages: OutboxMessage[] = [];
      for (let n = 0; n < 10; n += 1) {
        for (let key = 0; key < 12; key += 1) messages.push({ topic: 'parallel', destination: `receiver-${key % 2}`, partition: `key-${key}`, body: { n } });
      }
      await write(...messages);
      assert.equal(await outbox.run(), 120);
      await empty();
      assert.equal(delivered.size, 12);
      for (const [line, order] of delivered) assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], line);
      assert.equal(most, 4);
    });

    it('goes on delivering other destinations, and what is written meanwhile, while one destination hangs; that one resumes in order', async () => {
      const outbox = open();
      const delivered: string[] = [];
      let release = (): void => undefined;
      const hanging = new Promise<void>((resolve) => (release = resolve));
      let slowStarted = false;
      outbox.register<{ n: number }>('hooks', async ({ destination, body }) => {
        if (destination === 'slow' && body.n === 1) {
          slowStarted = true;
          await hanging;
        }
        delivered.push(`${destination} ${body.n}`);
        return { done: true };
      });
      await write({ topic: 'hooks', destination: 'slow', body: { n: 1 } });
      const pass = outbox.run();
      await eventually(() => {
        assert.equal(slowStarted, true, 'the slow delivery began');
      });
      await write({ topic: 'hooks', destination: 'fast', body: { n: 1 } }, { topic: 'hooks', destination: 'slow', body: { n: 2 } });
      outbox.kick();
      await eventually(
        () => {
          assert.deepEqual(delivered, ['fast 1']);
        },
        { timeoutMs: 5000 },
      );
      await write({ topic: 'hooks', destination: 'fast', body: { n: 2 } });
      outbox.kick();
      await eventually(
        () => {
          assert.deepEqual(delivered, ['fast 1', 'fast 2']);
        },
        { timeoutMs: 5000 },
      );
      release();
      assert.equal(await pass, 4);
      await empty();
      assert.deepEqual(delivered, ['fast 1', 'fast 2', 'slow 1', 'slow 2']);
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
