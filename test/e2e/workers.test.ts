import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { eventually } from './eventually.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from './harness.ts';
import { sample, scrape } from './metrics-scrape.ts';
import { freshSchema, REGION, requirePostgres, startNode, type NodeOptions, type RegionNode, type TestSchema } from './postgres-harness.ts';
import { alive } from './server-process.ts';

const TOKEN = 'workers-test-metrics-token';
const serverUrl = requirePostgres('the workers test on PostgreSQL');

/**
 * A client opening a new connection for every request: the primary hands connections to the
 * workers in turn, so consecutive requests reach both workers.
 */
const newConnectionClient = (endpoint: string) =>
  new KMSClient({
    region: REGION,
    endpoint,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    maxAttempts: 1,
    // A connection the primary had handed to the worker just killed is never answered: the client's timeout ends it.
    requestHandler: { httpAgent: new Agent({ keepAlive: false }), requestTimeout: 5000, throwOnRequestTimeout: true },
  });

/** The process that answered GET /healthz on a connection of its own. */
async function healthzPid(endpoint: string): Promise<number> {
  const response = await fetch(`${endpoint}/healthz`, { headers: { connection: 'close' } });
  return ((await response.json()) as { pid: number }).pid;
}

/** The worker pids the primary logged as forked, by worker number, the latest per worker. */
function forkedWorkers(node: RegionNode): Map<number, number> {
  const workers = new Map<number, number>();
  for (const line of node.output().split('\n')) {
    if (!line.includes('"worker forked"')) continue;
    const { worker, pid } = JSON.parse(line) as { worker: number; pid: number };
    workers.set(worker, pid);
  }
  return workers;
}

function workersSuite(name: string, store: (dataDir: string) => Promise<{ options: NodeOptions['store']; drop?: () => Promise<void> }>): void {
  describe(`a region on ${name} served by two worker processes`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'concord-workers-'));
    let node: RegionNode;
    let client: KMSClient;
    let drop: (() => Promise<void>) | undefined;

    before(async () => {
      const opened = await store(dataDir);
      drop = opened.drop;
      node = await startNode({
        name: 'workers',
        dataDir,
        store: opened.options,
        workers: 2,
        backgroundIntervalMs: 200,
        logLevel: 'debug',
        more: { metrics: { bearerToken: TOKEN } },
      });
      client = newConnectionClient(node.endpoint);
      // /healthz answers as soon as the first worker listens; the primary says when all do.
      await eventually(() => {
        assert.match(node.output(), /"workers listening"/);
      });
    });
    after(async () => {
      await node.stop('SIGKILL');
      await drop?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('hands connections to both workers, each naming its own pid in /healthz', async () => {
      const workers = [...forkedWorkers(node).values()];
      assert.equal(workers.length, 2);
      const seen = new Set<number>();
      await eventually(async () => {
        seen.add(await healthzPid(node.endpoint));
        assert.deepEqual([...seen].sort(), [...workers].sort());
      });
    });

    it('serves a change made through one worker from the other at once, whatever either had cached', async () => {
      const KeyId = (await client.send(new CreateKeyCommand({ Description: 'seen by both' }))).KeyMetadata!.KeyId!;
      // Consecutive requests alternate between the workers, so both read (and cache) the key.
      for (let i = 0; i < 4; i++) assert.equal((await client.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState, 'Enabled');
      await client.send(new DisableKeyCommand({ KeyId }));
      for (let i = 0; i < 4; i++) assert.equal((await client.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState, 'Disabled');
    });

    it("adds every worker's request counts up in one scrape of /metrics", async () => {
      const count = async () =>
        sample(await scrape(`${node.endpoint}/metrics`, TOKEN), 'concord_requests_total', { surface: 'kms', operation: 'ListKeys' }) ?? 0;
      const before = await count();
      const pids = new Set<number>();
      for (let i = 0; i < 10; i++) {
        await client.send(new ListKeysCommand({}));
        pids.add(await healthzPid(node.endpoint));
      }
      assert.equal(pids.size, 2, 'both workers answered');
      assert.equal((await count()) - before, 10);
    });

    it('loses no acknowledged CreateKey when a worker is killed with SIGKILL, keeps serving, and forks the worker again', async () => {
      const acknowledged: string[] = [];
      let failures = 0;
      let lastFailure = '';
      let writing = true;
      const writer = async () => {
        while (writing) {
          try {
            acknowledged.push((await client.send(new CreateKeyCommand({ Description: 'before and after the kill' }))).KeyMetadata!.KeyId!);
          } catch (error) {
            // A request the killed worker had begun is never acknowledged.
            failures++;
            lastFailure = String(error);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      };
      const writers = [writer(), writer(), writer(), writer()];
      // Worker 1 runs the background work: killing it shows that work goes on too.
      const victim = forkedWorkers(node).get(1)!;
      let killedAt = 0;
      try {
        await eventually(() => {
          assert.ok(acknowledged.length >= 20, `${acknowledged.length} keys created before the kill`);
        });
        killedAt = Date.now();
        process.kill(victim, 'SIGKILL');
        const atKill = acknowledged.length;
        await eventually(() => {
          assert.ok(acknowledged.length >= atKill + 20, `${acknowledged.length - atKill} keys created since the kill, ${failures} failures (${lastFailure})`);
        });
      } finally {
        writing = false;
        await Promise.all(writers);
      }
      assert.ok(failures <= 8, `${failures} requests failed, the last with ${lastFailure}`);

      // Reading them back over kept-alive connections: what matters is the store, which every worker reads.
      const reader = new KMSClient({
        region: REGION,
        endpoint: node.endpoint,
        credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      });
      for (const KeyId of acknowledged) assert.equal((await reader.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyId, KeyId);

      await eventually(() => {
        const successor = forkedWorkers(node).get(1)!;
        assert.notEqual(successor, victim);
        assert.match(node.output(), /"worker died; forking it again"/);
        const jobsSinceKill = node
          .output()
          .split('\n')
          .filter((line) => line.includes('"background job done"'))
          .map((line) => JSON.parse(line) as { time: number; pid: number })
          .filter((entry) => entry.time > killedAt && entry.pid !== victim);
        assert.ok(jobsSinceKill.length > 0, 'background work goes on after the kill');
      });
      const workers = [...forkedWorkers(node).values()];
      const seen = new Set<number>();
      await eventually(async () => {
        seen.add(await healthzPid(node.endpoint));
        assert.deepEqual([...seen].sort(), [...workers].sort());
      });
    });

    it('stops every worker gracefully when the primary gets SIGTERM', async () => {
      const workers = [...forkedWorkers(node).values()];
      await node.stop('SIGTERM');
      for (const pid of workers) assert.equal(alive(pid), false, `worker ${pid} still running`);
      const stopping = node
        .output()
        .split('\n')
        .filter((line) => line.includes('"msg":"stopping"'))
        .map((line) => (JSON.parse(line) as { pid?: number }).pid);
      for (const pid of workers) assert.ok(stopping.includes(pid), `worker ${pid} logged its graceful stop`);
    });
  });
}

workersSuite('SQLite', (dataDir) => Promise.resolve({ options: { kind: 'sqlite', path: join(dataDir, 'keys.db') } }));
if (serverUrl)
  workersSuite('PostgreSQL', async () => {
    const schema: TestSchema = await freshSchema(serverUrl);
    return { options: { kind: 'postgres', url: schema.url }, drop: schema.drop };
  });
