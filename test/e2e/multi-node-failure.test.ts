import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { backgroundJobs, cannotRun, freshSchema, startNode, type RegionNode } from './postgres-harness.ts';
import { PG_BINDIR, postgresInstalled, startPrivatePostgres, type PrivatePostgres } from './private-postgres.ts';

interface Outcome {
  node: string;
  startedAt: number;
  endedAt: number;
  error?: string;
}

/** Writes whose success the client saw; each must still be there afterwards. */
interface Acknowledged {
  created: Map<string, string>;
  disabled: Set<string>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Keeps `workers` clients busy, each request going to the next node in turn: CreateKey with
 * a unique description, DisableKey of a key created earlier, and Encrypt under a key of its own.
 */
async function driveLoad(nodes: RegionNode[], workers = 6) {
  const clients = nodes.map((node) => ({ node: node.name, kms: node.client() }));
  const outcomes: Outcome[] = [];
  const acknowledged: Acknowledged = { created: new Map(), disabled: new Set() };
  let running = true;
  let turn = 0;
  const encryptKey = (await clients[0]!.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const request = async (kms: KMSClient, n: number): Promise<void> => {
    const created = [...acknowledged.created.keys()];
    const some = created[n % Math.max(1, created.length)];
    if (n % 3 === 1) {
      await kms.send(new EncryptCommand({ KeyId: encryptKey, Plaintext: Buffer.from('load') }));
    } else if (n % 3 === 2 && some) {
      await kms.send(new DisableKeyCommand({ KeyId: some }));
      acknowledged.disabled.add(some);
    } else {
      const Description = `load-${n}`;
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description }));
      acknowledged.created.set(KeyMetadata!.KeyId!, Description);
    }
  };
  const worker = async () => {
    while (running) {
      const n = turn++;
      const { node, kms } = clients[n % clients.length]!;
      const startedAt = Date.now();
      try {
        await request(kms, n);
        outcomes.push({ node, startedAt, endedAt: Date.now() });
      } catch (error) {
        outcomes.push({ node, startedAt, endedAt: Date.now(), error: (error as Error).name });
        await sleep(20);
      }
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  return {
    outcomes,
    acknowledged,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Every acknowledged key exists with its description, and every acknowledged disable held. */
async function assertNothingLost(kms: KMSClient, acknowledged: Acknowledged): Promise<void> {
  const keys = [...acknowledged.created];
  assert.ok(keys.length > 0, 'the load created keys');
  for (let i = 0; i < keys.length; i += 8) {
    await Promise.all(
      keys.slice(i, i + 8).map(async ([KeyId, description]) => {
        const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId }));
        assert.equal(KeyMetadata?.Description, description);
        if (acknowledged.disabled.has(KeyId)) assert.equal(KeyMetadata.KeyState, 'Disabled', `${KeyId} stays disabled`);
      }),
    );
  }
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(100);
  }
  return Date.now() - started;
}

if (!postgresInstalled()) {
  cannotRun('the multi-node failure tests', `PostgreSQL's server programs are not in ${PG_BINDIR} (set PG_BINDIR)`);
} else {
  describe('two nodes of one region when a node or PostgreSQL fails', () => {
    let postgres: PrivatePostgres | undefined;
    const dataDirs: string[] = [];
    const nodes: RegionNode[] = [];
    const startPair = async (): Promise<RegionNode[]> => {
      const { url } = await freshSchema(postgres!.url);
      const dataDir = mkdtempSync(join(tmpdir(), 'concord-failure-'));
      dataDirs.push(dataDir);
      const common = { store: { kind: 'postgres' as const, url }, dataDir, backgroundIntervalMs: 200, logLevel: 'debug' };
      for (const name of ['node-1', 'node-2']) nodes.push(await startNode({ ...common, name }));
      return nodes.slice(-2);
    };
    before(async () => {
      postgres = await startPrivatePostgres();
    });
    after(async () => {
      await Promise.all(nodes.map((node) => node.stop()));
      await postgres?.destroy();
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    });

    it('keeps serving through the other node when one is killed, losing no acknowledged write', async () => {
      const [one, two] = (await startPair()) as [RegionNode, RegionNode];
      const load = await driveLoad([one, two]);
      await sleep(1500);
      await one.stop('SIGKILL');
      const killedAt = Date.now();
      await sleep(2000);
      await load.stop();

      const onTwo = load.outcomes.filter((o) => o.node === two.name);
      assert.deepEqual(
        onTwo.filter((o) => o.error).map((o) => o.error),
        [],
        'node 2 answered every request',
      );
      assert.ok(onTwo.filter((o) => o.startedAt > killedAt).length > 0, 'node 2 served after node 1 died');
      assert.ok(
        load.outcomes.some((o) => o.node === one.name && !o.error),
        'node 1 served before it died',
      );
      await assertNothingLost(two.client(), load.acknowledged);
      const jobs = [...backgroundJobs(one).ran, ...backgroundJobs(two).ran];
      await waitFor('node 2 taking over every background job', 10000, () => jobs.every((job) => backgroundJobs(two, killedAt).ran.has(job)));
    });

    it('answers clear errors while PostgreSQL is down and reconnects by itself when it is back', async () => {
      const pair = await startPair();
      const load = await driveLoad(pair);
      await sleep(1000);
      await postgres!.stop();
      const downAt = Date.now();
      await sleep(3000);
      const upAt = Date.now();
      await postgres!.start();
      for (const node of pair) {
        const kms = node.client();
        await waitFor(`${node.name} serving again`, 30000, () =>
          kms.send(new CreateKeyCommand({ Description: 'after restart' })).then(
            () => true,
            () => false,
          ),
        );
      }
      await sleep(1000);
      await load.stop();

      const whileDown = load.outcomes.filter((o) => o.startedAt >= downAt && o.endedAt <= upAt);
      assert.ok(whileDown.length > 0, 'requests were made while PostgreSQL was down');
      assert.deepEqual(new Set(whileDown.map((o) => o.error)), new Set(['DependencyTimeoutException']));
      const errors = new Set(load.outcomes.map((o) => o.error).filter(Boolean));
      assert.deepEqual(errors, new Set(['DependencyTimeoutException']), 'no other error, before, during or after');
      const slowest = Math.max(...load.outcomes.map((o) => o.endedAt - o.startedAt));
      assert.ok(slowest < 15000, `no request hung (slowest took ${slowest} ms)`);
      assert.ok(
        load.outcomes.some((o) => o.startedAt > upAt && !o.error),
        'the load succeeded again after the restart',
      );
      await assertNothingLost(pair[0]!.client(), load.acknowledged);
      const jobs = new Set(pair.flatMap((node) => [...backgroundJobs(node).ran]));
      await waitFor('every background job resuming after the restart', 10000, () => {
        const ranSince = new Set(pair.flatMap((node) => [...backgroundJobs(node, upAt).ran]));
        return [...jobs].every((job) => ranSince.has(job));
      });
    });

    it('answers within bounded time while PostgreSQL hangs without closing connections, and recovers', async () => {
      const pair = await startPair();
      const load = await driveLoad(pair);
      await sleep(1000);
      await postgres!.signal('SIGSTOP');
      const frozenAt = Date.now();
      try {
        await sleep(16000);
      } finally {
        await postgres!.signal('SIGCONT');
      }
      const thawedAt = Date.now();
      for (const node of pair) {
        const kms = node.client();
        await waitFor(`${node.name} serving again`, 30000, () =>
          kms.send(new CreateKeyCommand({ Description: 'after thaw' })).then(
            () => true,
            () => false,
          ),
        );
      }
      await load.stop();

      // Answered over a second into the freeze, so they waited on PostgreSQL. Requests in flight when it froze count:
      // on a slow machine those started during the freeze may all still be waiting when it ends.
      const whileFrozen = load.outcomes.filter((o) => o.endedAt >= frozenAt + 1000 && o.endedAt <= thawedAt);
      assert.ok(whileFrozen.length > 0, 'requests were answered while PostgreSQL hung');
      assert.deepEqual(new Set(whileFrozen.map((o) => o.error)), new Set(['DependencyTimeoutException']));
      const slowest = Math.max(...load.outcomes.map((o) => o.endedAt - o.startedAt));
      // A query gets 12 s before the node gives up on its connection.
      assert.ok(slowest < 20000, `no request hung (slowest took ${slowest} ms)`);
      assert.deepEqual(new Set(load.outcomes.map((o) => o.error).filter(Boolean)), new Set(['DependencyTimeoutException']));
      await assertNothingLost(pair[0]!.client(), load.acknowledged);
    });
  });
}
