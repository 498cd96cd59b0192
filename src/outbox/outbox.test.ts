import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { freshSchema, requirePostgres, type TestSchema } from '../../test/e2e/postgres-harness.ts';
import { eventually } from '../../test/e2e/eventually.ts';
import { PostgresStore } from '../store/index.ts';
import { enqueue, Outbox, REPLICATION_JOB, type OutboxEntry, type OutboxMessage } from './outbox.ts';

const serverUrl = requirePostgres('the outbox tests on a shared database');

interface Node {
  name: string;
  store: PostgresStore;
  outbox: Outbox;
  log: string[];
}

if (serverUrl) {
  describe('the replication outbox of two nodes sharing one PostgreSQL database', () => {
    let schema: TestSchema;
    const nodes: Node[] = [];
    const deliveries: { node: string; seq: number; keyId: string }[] = [];

    const startNode = async (name: string): Promise<Node> => {
      const store = await PostgresStore.open(schema.url);
      const log: string[] = [];
      const logger = pino({ level: 'debug' }, { write: (line: string) => log.push(line) });
      const deliver = async (entry: OutboxEntry) => {
        deliveries.push({ node: name, seq: entry.seq, keyId: entry.keyId });
        return { done: true } as const;
      };
      const node = { name, store, outbox: new Outbox(store, deliver, logger), log };
      nodes.push(node);
      return node;
    };
    const write = (node: Node, keyId: string) =>
      node.store.transaction(async (tx) => enqueue(tx, { kind: 'sync', keyId, target: 'us-west-2' } satisfies OutboxMessage));
    const outboxIsEmpty = async (node: Node) => assert.deepEqual(await node.store.list('outbox/'), []);

    let leader: Node;
    let other: Node;
    before(async () => {
      schema = await freshSchema(serverUrl);
      leader = await startNode('node-1');
      other = await startNode('node-2');
      assert.equal(await leader.store.runExclusive(REPLICATION_JOB, async () => undefined), true);
    });
    after(async () => {
      for (const node of nodes) {
        await node.outbox.close();
        await node.store.close();
      }
      await schema?.drop();
    });

    it('delivers at once what the node holding the replication lock writes', async () => {
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
      assert.ok(other.log.some((line) => line.includes('replication outbox left to the node delivering it')));
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
