import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { instanceIdOf } from '../src/keyprotect/index.ts';
import { ACCOUNT } from '../test/e2e/harness.ts';
import { bearer, KP_APIKEYS, kpRegionConfig } from '../test/e2e/key-protect-client.ts';
import { startRegionServers } from '../test/e2e/region-servers.ts';

/**
 * `node --import tsx bench/key-protect.ts`: one `concord server` region on loopback.
 *   - notification latency: from sending a Key Protect disable/enable until the registered
 *     resource's webhook receiver has the notification (target p99 < 1 s);
 *   - renotification: `actions/sync` of a key with 1,000 registrations until the receiver has
 *     all 1,000 (target < 5 s);
 *   - for both, the CPU time the region server spent (from /proc, Linux), which a loaded
 *     machine stretches less than the wall-clock time;
 *   - wrap and unwrap (Key Protect, raw HTTP with a bearer token) against the AWS surface's
 *     Encrypt (AWS SDK), the same key, CONCURRENCY requests in flight, DURATION_MS each.
 */
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const REGISTRATIONS = 1000;
const CONCURRENCY = 16;
const DURATION_MS = 3000;
const REGION = 'us-east-1';
const INSTANCE = instanceIdOf(ACCOUNT, REGION);
const RESULTS = new URL('./results/key-protect-latest.json', import.meta.url).pathname;

const received = new Map<string, number>();
let waiter: (() => void) | undefined;
const receiver = createServer((request: IncomingMessage, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const { eventId } = JSON.parse(Buffer.concat(chunks).toString()) as { eventId: string };
    received.set(eventId, performance.now());
    response.writeHead(204).end();
    waiter?.();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise<void>((resolve) => (waiter = resolve));
};

/** CPU time (user + system, ms) of this process's children, the region server: what a step costs whatever the machine's load (Linux /proc). */
function serverCpuMs(): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid) total += (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      // The process ended while listed.
    }
  }
  return total;
}

function summary(samples: number[]): { samples: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { samples: sorted.length, p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), maxMs: round(sorted[sorted.length - 1]!) };
}

async function throughput(call: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const end = performance.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await call();
        count += 1;
      }
    }),
  );
  return Math.round((count * 1000) / DURATION_MS);
}

const region = await startRegionServers([REGION], kpRegionConfig({ keyProtect: { syncIntervalSeconds: 0 }, logLevel: 'warn' }));
const endpoint = region.endpoint(REGION);
try {
  const tokens = { admin: await bearer(endpoint, KP_APIKEYS.admin), service: await bearer(endpoint, KP_APIKEYS.service) };
  const kp = async (method: string, path: string, token: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${endpoint}/api/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'bluemix-instance': INSTANCE, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    const text = await response.text();
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const newKey = async (name: string): Promise<string> =>
    ((await kp('POST', '/keys', tokens.admin, { resources: [{ name, extractable: false }] })).resources as { id: string }[])[0]!.id;
  const register = (keyId: string, crn: string) =>
    kp('POST', `/keys/${keyId}/registrations/${encodeURIComponent(crn)}`, tokens.service, {
      resources: [{ preventKeyDeletion: false, registrationMetadata: JSON.stringify({ webhookUrl }) }],
    });
  const crn = (i: number) => `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:bench:bucket:b${i}`;

  const latencyKey = await newKey('latency');
  await register(latencyKey, crn(0));
  const latency: number[] = [];
  const latencyCpu = serverCpuMs();
  for (let i = 0; i < SAMPLES; i += 1) {
    const before = received.size;
    const start = performance.now();
    await kp('POST', `/keys/${latencyKey}/actions/${i % 2 === 0 ? 'disable' : 'enable'}`, tokens.admin);
    await until(() => received.size > before);
    latency.push([...received.values()].at(-1)! - start);
  }
  const latencyCpuPerEvent = (serverCpuMs() - latencyCpu) / SAMPLES;

  const syncKey = await newKey('renotified');
  for (let i = 0; i < REGISTRATIONS; i += CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, REGISTRATIONS - i) }, (_, j) => register(syncKey, crn(i + j + 1))));
  }
  const before = received.size;
  const syncCpu = serverCpuMs();
  const syncStart = performance.now();
  await kp('POST', `/keys/${syncKey}/actions/sync`, tokens.admin);
  const syncAccepted = performance.now() - syncStart;
  await until(() => received.size >= before + REGISTRATIONS);
  const renotified = performance.now() - syncStart;
  const renotifiedCpu = serverCpuMs() - syncCpu;

  const wrapKey = await newKey('throughput');
  const plaintext = Buffer.alloc(32, 1).toString('base64');
  const { ciphertext } = (await kp('POST', `/keys/${wrapKey}/actions/wrap`, tokens.admin, { plaintext })) as { ciphertext: string };
  const kms = region.client(REGION);
  const awsKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    notificationLatency: { ...summary(latency), serverCpuMsPerEvent: Math.round(latencyCpuPerEvent * 10) / 10 },
    renotification: {
      registrations: REGISTRATIONS,
      syncAcceptedMs: Math.round(syncAccepted),
      allDeliveredMs: Math.round(renotified),
      serverCpuMs: renotifiedCpu,
    },
    throughputPerSecond: {
      concurrency: CONCURRENCY,
      kpWrap: await throughput(() => kp('POST', `/keys/${wrapKey}/actions/wrap`, tokens.admin, { plaintext })),
      kpUnwrap: await throughput(() => kp('POST', `/keys/${wrapKey}/actions/unwrap`, tokens.admin, { ciphertext })),
      awsEncrypt: await throughput(() => kms.send(new EncryptCommand({ KeyId: awsKey, Plaintext: Buffer.alloc(32, 1) }))),
    },
    loadAverageAfter: loadavg()[0],
  };
  console.log(JSON.stringify(results, null, 2));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await region.stopAll();
  receiver.close();
}
