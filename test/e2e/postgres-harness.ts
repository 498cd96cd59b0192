import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { KMSClient } from '@aws-sdk/client-kms';
import pg from 'pg';
import { stringify } from 'yaml';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, freePorts } from './harness.ts';
import { selfInitialisingUnits } from './tke-harness.ts';
import { SUITE_KEY_PAIR_POOL } from './server-process.ts';

const BIN = new URL('../../bin/concord.js', import.meta.url).pathname;

/**
 * The PostgreSQL server the tests use (CONCORD_TEST_PG_URL, set by scripts/test.sh). Without
 * it the PostgreSQL tests cannot run, and that is a failure, never a skip.
 */
export function requirePostgres(what: string): string | undefined {
  const url = process.env.CONCORD_TEST_PG_URL;
  if (!url) {
    cannotRun(what, 'CONCORD_TEST_PG_URL is not set (npm test sets it with scripts/test-postgres.sh)');
  }
  return url;
}

/** Registers, in place of tests that lack PostgreSQL, a test that fails and says why. */
export function cannotRun(what: string, why: string): void {
  it(`has PostgreSQL to run ${what} against`, () => {
    throw new Error(`cannot run ${what}: ${why}`);
  });
}

export interface TestSchema {
  /** The server URL with search_path set to a schema of its own. */
  url: string;
  drop: () => Promise<void>;
}

/** A fresh, empty schema, so tests running at once on one database never see each other's data. */
export async function freshSchema(serverUrl: string): Promise<TestSchema> {
  const name = `concord_test_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE SCHEMA ${name}`);
  const url = new URL(serverUrl);
  url.searchParams.set('options', `-c search_path=${name}`);
  return { url: url.toString(), drop: () => admin(`DROP SCHEMA ${name} CASCADE`) };
}

export interface NodeOptions {
  store: { kind: 'postgres'; url: string } | { kind: 'sqlite'; path: string };
  /** Shared by the nodes of one region: they must hold the same master key. */
  dataDir: string;
  name: string;
  backgroundIntervalMs?: number;
  logLevel?: string;
  /** The crypto unit settings ({cryptoUnits}); by default software units in dataDir that the nodes share and the region initialises itself. */
  crypto?: Record<string, unknown>;
  /** Worker processes of the node (--workers); one by default, to keep the tests light. */
  workers?: number;
  /** More of the region configuration (metrics, ...). */
  more?: Record<string, unknown>;
}

export interface RegionNode {
  name: string;
  endpoint: string;
  client(): KMSClient;
  /** Everything the process wrote to stdout (its JSON log). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export const REGION = 'us-east-1';

export interface TwoNodes {
  /** Shared by both nodes, so they hold the same master key; removed after the suite. */
  readonly dataDir: string;
  readonly nodes: RegionNode[];
  one: KMSClient;
  two: KMSClient;
}

/**
 * Two nodes of one region on a fresh schema of the test server, started before the suite's
 * tests and stopped, with the schema dropped, after them.
 */
export function twoNodes(serverUrl: string, prefix: string, options: (dataDir: string) => Partial<NodeOptions> = () => ({})): TwoNodes {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const cluster = { dataDir, nodes: [] as RegionNode[] } as TwoNodes;
  let schema: TestSchema | undefined;
  before(async () => {
    schema = await freshSchema(serverUrl);
    const common = { store: { kind: 'postgres' as const, url: schema.url }, dataDir, ...options(dataDir) };
    for (const name of ['node-1', 'node-2']) cluster.nodes.push(await startNode({ ...common, name }));
    [cluster.one, cluster.two] = cluster.nodes.map((node) => node.client()) as [KMSClient, KMSClient];
  });
  after(async () => {
    await Promise.all(cluster.nodes.map((node) => node.stop()));
    await schema?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return cluster;
}

/**
 * Starts `concord server --config` as a real child process and waits until it answers. A
 * port found free can be taken (by an outgoing connection, say) before the node listens on
 * it; then the node is started again on another.
 */
export async function startNode(options: NodeOptions): Promise<RegionNode> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNodeOnPort(options, await freePorts(1));
    } catch (error) {
      if (attempt === 3 || !(error as Error).message.includes('EADDRINUSE')) throw error;
    }
  }
}

async function startNodeOnPort(options: NodeOptions, port: number): Promise<RegionNode> {
  const configPath = join(options.dataDir, `${options.name}.yaml`);
  writeFileSync(
    configPath,
    stringify({
      region: REGION,
      account: ACCOUNT,
      listen: { host: '127.0.0.1', port },
      store: options.store,
      ...(options.crypto ?? selfInitialisingUnits(options.dataDir, REGION)),
      accessKeys: [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, principal: `arn:aws:iam::${ACCOUNT}:user/admin` }],
      principals: [
        { arn: `arn:aws:iam::${ACCOUNT}:user/admin`, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:*', 'concord:*'], Resource: '*' }] }] },
      ],
      logLevel: options.logLevel ?? 'info',
      backgroundIntervalMs: options.backgroundIntervalMs ?? 60000,
      ...SUITE_KEY_PAIR_POOL,
      ...options.more,
    }),
  );
  const child: ChildProcess = spawn(process.execPath, [BIN, 'server', '--config', configPath, '--workers', String(options.workers ?? 1)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => {
      reject(new Error(`${options.name} exited with ${code}:\n${stderr}`));
    }),
  );
  exited.catch(() => undefined);
  const deadline = Date.now() + 30000;
  while (
    !(await fetch(`${endpoint}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} did not start within 30 s:\n${stderr}`);
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 100))]);
  }
  return {
    name: options.name,
    endpoint,
    client: () => new KMSClient({ region: REGION, endpoint, credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, maxAttempts: 1 }),
    output: () => stdout,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}

/** The background jobs a node logged as run by itself, or as left to another node, since `since` (ms). */
export function backgroundJobs(node: RegionNode, since = 0): { ran: Set<string>; left: Set<string> } {
  const ran = new Set<string>();
  const left = new Set<string>();
  for (const line of node.output().split('\n')) {
    if (!line.includes('"job"')) continue;
    const entry = JSON.parse(line) as { time: number; job: string; msg: string };
    if (entry.time < since) continue;
    if (entry.msg === 'background job done') ran.add(entry.job);
    if (entry.msg === 'background job left to another node') left.add(entry.job);
  }
  return { ran, left };
}
