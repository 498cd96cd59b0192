import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from '../test/e2e/harness.ts';
import { freshSchema, REGION, startNode, type NodeOptions, type RegionNode } from '../test/e2e/postgres-harness.ts';
import { loadInChild, send, type LoadTarget } from './load.ts';

/**
 * `npm run bench:postgres`: Encrypt and CreateKey throughput of one region served by two
 * `concord server` nodes on PostgreSQL against one node on SQLite (and one on PostgreSQL, to
 * tell the database's cost from the second node's), in the same run. The load
 * (CONNECTIONS in all) is split evenly over the nodes, each share from its own process.
 * The PostgreSQL server is CONCORD_BENCH_PG_URL or CONCORD_TEST_PG_URL; BENCH_SECONDS sets
 * the measured time per run.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const CONNECTIONS = 32;
const RESULTS = new URL('./results/postgres-latest.json', import.meta.url).pathname;
const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
const PLAINTEXT = Buffer.alloc(4096, 7).toString('base64');

const pgUrl = process.env.CONCORD_BENCH_PG_URL ?? process.env.CONCORD_TEST_PG_URL;
if (!pgUrl) {
  console.error('bench/postgres-throughput.ts needs a PostgreSQL server: set CONCORD_BENCH_PG_URL or CONCORD_TEST_PG_URL');
  process.exit(2);
}

interface Deployment {
  name: string;
  nodes: RegionNode[];
  close(): Promise<void>;
}

async function deploy(
  name: string,
  count: number,
  store: (dataDir: string) => Promise<{ options: NodeOptions['store']; drop?: () => Promise<void> }>,
): Promise<Deployment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'concord-bench-'));
  const { options, drop } = await store(dataDir);
  const nodes: RegionNode[] = [];
  for (let i = 1; i <= count; i++) nodes.push(await startNode({ store: options, dataDir, name: `node-${i}`, logLevel: 'warn' }));
  return {
    name,
    nodes,
    async close() {
      await Promise.all(nodes.map((node) => node.stop()));
      await drop?.();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface Row {
  deployment: string;
  operation: string;
  reqPerSec: number;
  /** The slowest node's median and 99th percentile. */
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: string;
}

/** Drives one operation against every node of a deployment at once and adds up the results. */
async function measure(deployment: Deployment, operation: string, body: Record<string, unknown>): Promise<Row> {
  const perNode = CONNECTIONS / deployment.nodes.length;
  const results = await Promise.all(
    deployment.nodes.map((node) =>
      loadInChild({
        url: node.endpoint,
        region: REGION,
        target: `TrentService.${operation}`,
        body,
        credentials,
        connections: perNode,
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
      }),
    ),
  );
  const firstError = results.find((r) => r.firstError)?.firstError;
  return {
    deployment: deployment.name,
    operation,
    reqPerSec: results.reduce((sum, r) => sum + r.reqPerSec, 0),
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    ...(firstError === undefined ? {} : { firstError }),
  };
}

const cores = availableParallelism();
console.log(
  `${CONNECTIONS} connections split over the nodes, ${SECONDS} s measured after ${WARMUP_SECONDS} s warm-up per run. ` +
    `Nodes, PostgreSQL and load generators share ${cores} cores; load average before: ${loadavg()[0]!.toFixed(2)}.`,
);

const rows: Row[] = [];
const deployments = [
  () => deploy('SQLite, 1 node', 1, (dataDir) => Promise.resolve({ options: { kind: 'sqlite', path: join(dataDir, 'keys.db') } })),
  ...[1, 2].map(
    (count) => () =>
      deploy(`PostgreSQL, ${count} node${count > 1 ? 's' : ''}`, count, async () => {
        const schema = await freshSchema(pgUrl);
        return { options: { kind: 'postgres', url: schema.url }, drop: schema.drop };
      }),
  ),
];
for (const start of deployments) {
  const deployment = await start();
  try {
    const target = (operation: string, body: Record<string, unknown>): LoadTarget => ({
      url: deployment.nodes[0]!.endpoint,
      region: REGION,
      target: `TrentService.${operation}`,
      body,
    });
    const KeyId = ((await send(target('CreateKey', { Description: 'benchmark' }), credentials)).KeyMetadata as { KeyId: string }).KeyId;
    for (const [operation, body] of [
      ['Encrypt', { KeyId, Plaintext: PLAINTEXT }],
      ['CreateKey', { Description: 'benchmark' }],
    ] as const) {
      const row = await measure(deployment, operation, body);
      rows.push(row);
      console.log(`${row.deployment}, ${row.operation}: ${row.reqPerSec.toFixed(0)} req/s`);
    }
  } finally {
    await deployment.close();
  }
}

console.log('');
const line = (cells: string[]) => cells.map((cell, i) => (i < 2 ? cell.padEnd(20) : cell.padStart(9))).join('  ');
console.log(line(['deployment', 'operation', 'req/s', 'p50 ms', 'p99 ms', 'errors']));
for (const r of rows) {
  console.log(line([r.deployment, r.operation, r.reqPerSec.toFixed(0), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), String(r.errors)]));
}
for (const r of rows) if (r.firstError) console.log(`${r.deployment}, ${r.operation}: first error: ${r.firstError}`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  RESULTS,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cores, connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, loadAverageAfter: loadavg()[0], rows }, null, 2)}\n`,
);
console.log(`\nWritten to ${RESULTS}`);
