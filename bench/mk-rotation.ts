import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { ManagedCryptoUnit, RegionCryptoUnit, SoftwareVault } from '../src/cryptounits/index.ts';
import { wrappedKeyRecords } from '../src/kms/index.ts';
import { SqliteStore } from '../src/store/index.ts';
import { softwareUnits, startServerRegion, tke, tkeOk } from '../test/e2e/tke-harness.ts';

/**
 * `npm run bench:mk-rotation`: how long `concord tke auto-mk-rotate` takes for a region
 * holding BENCH_STORED_KEYS keys (100,000 by default): a new master key created in the
 * recovery unit and loaded, every key record re-wrapped in batches over the management
 * API, then committed and made current. Keys are cloned from one key made through the API
 * while the region is stopped (fresh material each, wrapped for its own key ID), since
 * creating them one by one would take far longer than the rotation being measured.
 */
const STORED_KEYS = Number(process.env.BENCH_STORED_KEYS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const INSERT_BATCH = 5000;
const REGION = 'us-east-1';
const RESULTS = new URL('./results/mk-rotation-latest.json', import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), 'concord-bench-mk-'));
const workspace = join(dir, 'workspace');
const crypto = softwareUnits(dir, REGION);
let region = await startServerRegion(dir, REGION, crypto);
try {
  for (const name of ['alice', 'bob', 'carol']) await tkeOk(workspace, ['sigkey-add', '--name', name]);
  await tkeOk(workspace, ['cryptounit-add', '--endpoint', region.endpoint, '--all']);
  for (const name of ['alice', 'bob', 'carol']) await tkeOk(workspace, ['cryptounit-admin-add', '--sigkey', name]);
  await tkeOk(workspace, ['cryptounit-thrhld-set', '--signature', '2', '--revocation', '2']);
  await tkeOk(workspace, ['auto-init']);
  const templateId = (await region.client().send(new CreateKeyCommand({ Description: 'benchmark' }))).KeyMetadata!.KeyId!;
  const blob = (await region.client().send(new EncryptCommand({ KeyId: templateId, Plaintext: Buffer.from('before') }))).CiphertextBlob!;
  await region.stop();

  const started = Date.now();
  const clones = await cloneKeys(templateId, STORED_KEYS - 1);
  console.log(`stored ${STORED_KEYS} keys in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  region = await startServerRegion(dir, REGION, crypto, region.port);
  const rotationStarted = Date.now();
  const rotation = await tke(workspace, ['auto-mk-rotate', '--batch', String(BATCH)]);
  const seconds = (Date.now() - rotationStarted) / 1000;
  if (rotation.code !== 0) throw new Error(`auto-mk-rotate failed:\n${rotation.stdout}${rotation.stderr}`);
  const rewrapped = Number(/(\d+) stored record\(s\) re-wrapped/.exec(rotation.stdout)?.[1]);

  const decrypted = await region.client().send(new DecryptCommand({ CiphertextBlob: blob }));
  if (Buffer.from(decrypted.Plaintext!).toString() !== 'before') throw new Error('old ciphertext no longer decrypts');
  for (const keyId of clones.filter((_, i) => i % 10_000 === 0)) {
    const sealed = await region.client().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(keyId) }));
    const opened = await region.client().send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob! }));
    if (Buffer.from(opened.Plaintext!).toString() !== keyId) throw new Error(`key ${keyId} does not round-trip after rotation`);
  }

  const result = {
    storedKeys: STORED_KEYS,
    rewrapped,
    batch: BATCH,
    seconds,
    keysPerSecond: Math.round(rewrapped / seconds),
    targetSeconds: 30,
    machine: { cpus: availableParallelism(), loadavg: loadavg() },
  };
  console.log(
    `master key rotation: ${STORED_KEYS} stored keys, ${rewrapped} re-wrapped in ${seconds.toFixed(1)} s (${result.keysPerSecond} keys/s; target <= 30 s)`,
  );
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await region.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** Writes copies of a key record straight into the stopped region's store, each with its own material. */
async function cloneKeys(templateId: string, count: number): Promise<string[]> {
  const units = new RegionCryptoUnit(
    await Promise.all(crypto.cryptoUnits.units.map(async (u) => ManagedCryptoUnit.open(SoftwareVault.open(u.dir), u.id, u.role as 'operational'))),
  );
  const store = new SqliteStore(join(dir, REGION, 'keys.db'));
  const template = JSON.parse((await store.get(`key/${templateId}`))!) as Record<string, unknown>;
  const pattern = units.wrapPattern()!;
  const keyRecords = wrappedKeyRecords.find((family) => family.prefix === 'key/')!;
  const ids: string[] = [];
  try {
    for (let done = 0; done < count; done += INSERT_BATCH) {
      const records: [string, string][] = [];
      for (let i = done; i < Math.min(count, done + INSERT_BATCH); i++) {
        const keyId = randomUUID();
        ids.push(keyId);
        const clone = JSON.stringify({ ...template, keyId, description: `benchmark ${i}` });
        const fresh = await keyRecords.rewrap(clone, (_wrapped, aad) => Promise.resolve(units.wrapUnder(pattern, randomBytes(32), aad)), `key/${keyId}`);
        records.push([`key/${keyId}`, fresh]);
      }
      await store.transaction((tx) => {
        records.forEach(([key, value]) => {
          tx.put(key, value);
        });
      });
    }
  } finally {
    await store.close();
    await units.close();
  }
  return ids;
}
