import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
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

  it('answers GetParametersForImport for RSA_4096 from a pool of key pairs it refills in the background', async () => {
    const KeyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    const parameters = () => kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_4096' }));
    const taken = async (source: string) => sample(await scrape(open), 'concord_key_pairs_taken_total', { spec: 'RSA_4096', source }) ?? 0;
    const available = async () => sample(await scrape(open), 'concord_key_pair_pool_available', { spec: 'RSA_4096' });

    // The first request of a spec finds the pool empty and generates its own; the pool fills behind it.
    assert.ok((await parameters()).PublicKey!.length > 500);
    assert.deepEqual([await taken('generated'), await taken('pool')], [1, 0]);
    await eventually(
      async () => {
        assert.equal(await available(), 2);
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );

    const second = await parameters();
    assert.ok(second.PublicKey!.length > 500);
    assert.deepEqual([await taken('generated'), await taken('pool')], [1, 1]);
    await eventually(
      async () => {
        assert.equal(await available(), 2);
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
  });
});
