import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ADMIN_KEY, inject, kmsCall, testRegionServer } from '../test-region-server.ts';
import type { ReadinessReport } from './readiness.ts';

const TOKEN = 'scrape-token-for-the-unit-tests';
const PLAINTEXT = Buffer.from('PLAINTEXT-CANARY-never-in-the-metrics');

/** The value of the series `name{labels}` in Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([label, value]) => line.includes(`${label}="${value}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('GET /readyz', () => {
  const { app, store } = testRegionServer('readyz');
  after(() => app.close());

  it('answers 200 with each check while the store answers and the master key wraps and unwraps', async () => {
    const response = await inject(app, { method: 'GET', url: '/readyz' });
    assert.equal(response.statusCode, 200);
    const report = response.json<ReadinessReport>();
    assert.equal(report.status, 'ready');
    assert.deepEqual(report.reasons, []);
    assert.equal(report.checks.store.ok, true);
    assert.equal(report.checks.masterKey.ok, true);
    assert.deepEqual(report.checks.peers, {});
  });

  it('answers 503 naming the store once the store is gone, without saying more of the cause', async () => {
    await store.close();
    const response = await inject(app, { method: 'GET', url: '/readyz' });
    assert.equal(response.statusCode, 503);
    const report = response.json<ReadinessReport>();
    assert.equal(report.status, 'not ready');
    assert.deepEqual(report.reasons, ['the store is unreachable']);
    assert.deepEqual({ ok: report.checks.store.ok, reason: report.checks.store.reason }, { ok: false, reason: 'the store is unreachable' });
    assert.equal(report.checks.masterKey.ok, true);
  });
});

describe('GET /readyz with peers', () => {
  const { app, store } = testRegionServer('readyz-peers', () => ({ peers: { 'us-west-2': { url: 'http://127.0.0.1:9' } } }));
  after(async () => {
    await app.close();
    await store.close();
  });

  it('reports an unreachable peer as a detail that leaves the node ready', async () => {
    const response = await inject(app, { method: 'GET', url: '/readyz' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(
      { ok: response.json<ReadinessReport>().checks.peers['us-west-2']!.ok, reason: response.json<ReadinessReport>().checks.peers['us-west-2']!.reason },
      { ok: false, reason: 'unreachable' },
    );
  });
});

describe('GET /metrics on the API port', () => {
  it('is not served unless configured', async () => {
    const { app, store } = testRegionServer('metrics-off');
    try {
      assert.equal((await inject(app, { method: 'GET', url: '/metrics' })).statusCode, 404);
    } finally {
      await app.close();
      await store.close();
    }
  });

  const { app, store } = testRegionServer('metrics', () => ({ metrics: { bearerToken: TOKEN } }));
  after(async () => {
    await app.close();
    await store.close();
  });
  const scrape = async () => {
    const response = await inject(app, { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return response.body;
  };

  it('refuses a scrape without the bearer token, or with another', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong-token-wrong-token' },
      { authorization: `Basic ${TOKEN}` },
      { authorization: `Bearer ${TOKEN}x` },
    ]) {
      const response = await inject(app, { method: 'GET', url: '/metrics', headers });
      assert.equal(response.statusCode, 401);
      assert.equal(response.headers['www-authenticate'], 'Bearer');
      assert.doesNotMatch(response.body, /concord_/);
    }
  });

  it('counts requests by surface, operation, status and error, and times them', async () => {
    const KeyId = (await kmsCall(app, 'CreateKey', {})).json<{ KeyMetadata: { KeyId: string } }>().KeyMetadata.KeyId;
    // Keys are counted at the first scrape, then kept for a while.
    const before = await scrape();
    assert.equal((await kmsCall(app, 'Encrypt', { KeyId, Plaintext: PLAINTEXT.toString('base64') })).statusCode, 200);
    assert.equal((await kmsCall(app, 'Encrypt', { KeyId, Plaintext: PLAINTEXT.toString('base64') })).statusCode, 200);
    assert.equal((await kmsCall(app, 'DescribeKey', { KeyId: 'alias/absent' })).statusCode, 400);
    const text = await scrape();
    const encrypts = { surface: 'kms', operation: 'Encrypt', status: '2xx' };
    assert.equal((sample(text, 'concord_requests_total', encrypts) ?? 0) - (sample(before, 'concord_requests_total', encrypts) ?? 0), 2);
    assert.equal(sample(text, 'concord_request_duration_seconds_count', encrypts), 2);
    assert.equal(sample(text, 'concord_requests_total', { operation: 'DescribeKey', status: '4xx', error: 'NotFoundException' }), 1);
    assert.equal(sample(text, 'concord_errors_total', { surface: 'kms', type: 'NotFoundException' }), 1);
    assert.equal(sample(text, 'concord_store_up'), 1);
    assert.equal(sample(text, 'concord_master_key_usable'), 1);
    assert.equal(sample(text, 'concord_ready'), 1);
    assert.ok(sample(text, 'concord_store_probe_seconds')! >= 0);
    assert.equal(sample(text, 'concord_keys', { state: 'Enabled' }), 1);
    assert.ok(sample(text, 'process_cpu_seconds_total')! > 0);
  });

  it('holds no key material, plaintext or secret', async () => {
    const text = await scrape();
    for (const secret of [TOKEN, ADMIN_KEY.secretAccessKey, PLAINTEXT.toString(), PLAINTEXT.toString('base64')])
      assert.equal(text.includes(secret), false, secret);
  });
});
