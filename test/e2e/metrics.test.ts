import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GetParametersForImportCommand, type KMSClient } from '@aws-sdk/client-kms';
import { eventually } from './eventually.ts';
import { freePorts } from './harness.ts';
import { sample, scrape } from './metrics-scrape.ts';
import { regionClient, startServerProcess, stopProcess, writeRegionConfig } from './server-process.ts';
import { selfInitialisingUnits } from './tke-harness.ts';

const TOKEN_ENV = 'CONCORD_E2E_METRICS_TOKEN';
const TOKEN = 'e2e-metrics-token-0123456789';
const POOL_SIZE = 2;

describe('GET /metrics of a region run by concord server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-metrics-'));
  let server: ChildProcess;
  let kms: KMSClient;
  let open: string;
  let onApiPort: string;

  before(async () => {
    const [port, metricsPort] = [await freePorts(1), await freePorts(1)];
    process.env[TOKEN_ENV] = TOKEN;
    const endpoint = `http://127.0.0.1:${port}`;
    const config = writeRegionConfig(dir, 'us-east-1', port, {
      ...selfInitialisingUnits(dir, 'us-east-1'),
      metrics: { listen: { host: '127.0.0.1', port: metricsPort }, bearerTokenEnv: TOKEN_ENV },
      keyPairPool: { prefill: ['RSA_4096'], size: POOL_SIZE },
      logLevel: 'warn',
    });
    server = await startServerProcess(config, endpoint);
    kms = regionClient('us-east-1', endpoint);
    open = `http://127.0.0.1:${metricsPort}/metrics`;
    onApiPort = `${endpoint}/metrics`;
    // Keys are counted at the first scrape, then every 30 s: one is there to count.
    await kms.send(new CreateKeyCommand({}));
  });
  after(async () => {
    await stopProcess(server, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts the SDK requests it answers by surface, operation, status and error, with their latencies', async () => {
    const encrypts = { surface: 'kms', operation: 'Encrypt', status: '2xx', error: '' };
    const before = await scrape(open);
    const KeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    let blob: Uint8Array | undefined;
    for (let i = 0; i < 3; i++) blob = (await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from(`message ${i}`) }))).CiphertextBlob;
    await kms.send(new DecryptCommand({ CiphertextBlob: blob }));
    await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId: 'alias/absent' })), { name: 'NotFoundException' });

    const text = await scrape(open);
    const moved = (name: string, labels: Record<string, string>) => (sample(text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    assert.equal(moved('concord_requests_total', encrypts), 3);
    assert.equal(moved('concord_request_duration_seconds_count', { surface: 'kms', operation: 'Encrypt', status: '2xx' }), 3);
    assert.equal(moved('concord_request_duration_seconds_bucket', { surface: 'kms', operation: 'Encrypt', status: '2xx', le: '+Inf' }), 3);
    assert.equal(moved('concord_requests_total', { operation: 'Decrypt', status: '2xx' }), 1);
    assert.equal(moved('concord_requests_total', { operation: 'CreateKey', status: '2xx' }), 1);
    assert.equal(moved('concord_requests_total', { operation: 'DescribeKey', status: '4xx', error: 'NotFoundException' }), 1);
    assert.equal(moved('concord_errors_total', { surface: 'kms', type: 'NotFoundException' }), 1);
  });

  it('shows readiness, the crypto units and their master key registers, and keys by state', async () => {
    const text = await scrape(onApiPort, TOKEN);
    assert.equal(sample(text, 'concord_ready'), 1);
    assert.equal(sample(text, 'concord_store_up'), 1);
    assert.equal(sample(text, 'concord_master_key_usable'), 1);
    assert.equal(sample(text, 'concord_crypto_unit_mode', { unit: 'us-east-1-op', role: 'operational', mode: 'normal' }), 1);
    assert.equal(sample(text, 'concord_crypto_unit_mode', { unit: 'us-east-1-op', mode: 'imprint' }), 0);
    assert.equal(sample(text, 'concord_master_key_register', { unit: 'us-east-1-rec', register: 'current', state: 'valid' }), 1);
    assert.equal(sample(text, 'concord_master_key_register', { unit: 'us-east-1-op', register: 'new', state: 'empty' }), 1);
    assert.ok(sample(text, 'concord_keys', { state: 'Enabled' })! >= 1);
  });

  it('fills the RSA_4096 pool at start, answers GetParametersForImport from it, and never holds more than its size', async (t) => {
    const pool = async () => {
      const text = await scrape(open);
      const available = sample(text, 'concord_key_pair_pool_available', { spec: 'RSA_4096' });
      assert.ok(available === undefined || available <= POOL_SIZE, `the pool holds ${available} RSA_4096 pairs, more than ${POOL_SIZE}`);
      const taken = (source: string) => sample(text, 'concord_key_pairs_taken_total', { spec: 'RSA_4096', source }) ?? 0;
      return { available, pool: taken('pool'), generated: taken('generated'), rsa2048: sample(text, 'concord_key_pair_pool_available', { spec: 'RSA_2048' }) };
    };
    const full = () =>
      eventually(
        async () => {
          assert.equal((await pool()).available, POOL_SIZE);
        },
        { timeoutMs: 180_000, intervalMs: 200 },
      );

    // Nothing has asked for an RSA_4096 pair yet; only the configured spec is filled.
    await full();
    assert.deepEqual(await pool(), { available: POOL_SIZE, pool: 0, generated: 0, rsa2048: undefined });

    const KeyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    const started = performance.now();
    const parameters = await kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_4096' }));
    const ms = performance.now() - started;
    assert.equal(createPublicKey({ key: Buffer.from(parameters.PublicKey!), format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength, 4096);
    // Served from the pool, not generated while the request waited (the latency is reported, never asserted).
    const after = await pool();
    assert.deepEqual([after.pool, after.generated], [1, 0]);
    t.diagnostic(`GetParametersForImport RSA_4096 from a full pool: ${ms.toFixed(1)} ms`);

    // Refilled behind the request, up to the size and no further.
    await full();
    for (let i = 0; i < 5; i++) {
      assert.equal((await pool()).available, POOL_SIZE);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
});
