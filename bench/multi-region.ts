import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, ReplicateKeyCommand, RotateKeyOnDemandCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startDev } from '../test/e2e/harness.ts';

/**
 * `npm run bench:multi-region`: latency of multi-Region keys between three regions of one
 * `concord dev` process on loopback.
 *   - replica usable: from sending ReplicateKey until the new replica decrypts a ciphertext
 *     the primary made (the replica passes Creating -> Enabled in between);
 *   - rotation lag: from sending RotateKeyOnDemand to the primary until both replicas
 *     decrypt a ciphertext made under the new material.
 * Readiness is polled every POLL_MS with Decrypt, so results are exact to about that much.
 * BENCH_SAMPLES sets the samples per measurement.
 */
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const POLL_MS = 1;
/** AWS allows 25 on-demand rotations per key; a fresh key is used well before that. */
const ROTATIONS_PER_KEY = 20;
const RESULTS = new URL('./results/multi-region-latest.json', import.meta.url).pathname;
const [EAST, WEST, CENTRAL] = ['us-east-1', 'us-west-2', 'eu-central-1'] as const;

const dev = await startDev({ regions: [EAST, WEST, CENTRAL], extraArgs: ['--log-level', 'warn'] });
const kms = { [EAST]: dev.client(EAST), [WEST]: dev.client(WEST), [CENTRAL]: dev.client(CENTRAL) };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds from `start` until `client` decrypts `blob`. */
async function untilDecrypts(client: KMSClient, blob: Uint8Array, start: number): Promise<number> {
  for (;;) {
    try {
      await client.send(new DecryptCommand({ CiphertextBlob: blob }));
      return performance.now() - start;
    } catch {
      await sleep(POLL_MS);
    }
  }
}

const createPrimary = async (): Promise<string> => (await kms[EAST].send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.KeyId!;

function summary(samples: number[]): { samples: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { samples: sorted.length, p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), maxMs: round(sorted[sorted.length - 1]!) };
}

const replicaUsable: number[] = [];
const replicateCall: number[] = [];
const rotationBoth: number[] = [];
const rotationEach: number[] = [];
try {
  for (let i = 0; i < SAMPLES; i += 1) {
    const KeyId = await createPrimary();
    const { CiphertextBlob } = await kms[EAST].send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('bench') }));
    const start = performance.now();
    await kms[EAST].send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST }));
    replicateCall.push(performance.now() - start);
    replicaUsable.push(await untilDecrypts(kms[WEST], CiphertextBlob!, start));
  }

  let KeyId = '';
  for (let i = 0; i < SAMPLES; i += 1) {
    if (i % ROTATIONS_PER_KEY === 0) {
      KeyId = await createPrimary();
      for (const region of [WEST, CENTRAL]) {
        await kms[EAST].send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: region }));
        await untilDecrypts(kms[region], (await kms[EAST].send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }))).CiphertextBlob!, 0);
      }
    }
    const start = performance.now();
    await kms[EAST].send(new RotateKeyOnDemandCommand({ KeyId }));
    const { CiphertextBlob } = await kms[EAST].send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('rotated') }));
    const lags = await Promise.all([WEST, CENTRAL].map((region) => untilDecrypts(kms[region], CiphertextBlob!, start)));
    rotationEach.push(...lags);
    rotationBoth.push(Math.max(...lags));
  }
} finally {
  await dev.stop();
  rmSync(dev.dataDir, { recursive: true, force: true });
}

const results = {
  date: new Date().toISOString(),
  node: process.version,
  cores: availableParallelism(),
  loadAverageAfter: loadavg()[0],
  pollMs: POLL_MS,
  replicateKeyCall: summary(replicateCall),
  replicaUsable: summary(replicaUsable),
  rotationLagEachReplica: summary(rotationEach),
  rotationLagBothReplicas: summary(rotationBoth),
};
console.log(JSON.stringify(results, null, 2));
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nWritten to ${RESULTS}`);
