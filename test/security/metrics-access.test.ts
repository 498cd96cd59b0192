import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GetParametersForImportCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { freePorts, SECRET_ACCESS_KEY, startDev } from '../e2e/harness.ts';
import { scrape } from '../e2e/metrics-scrape.ts';
import { regionClient, startServerProcess, stopProcess, writeRegionConfig } from '../e2e/server-process.ts';
import { selfInitialisingUnits } from '../e2e/tke-harness.ts';

const TOKEN = 'security-test-metrics-token-5b7e0c';
const CANARY = Buffer.from('METRICS-CANARY-PLAINTEXT-must-never-be-scraped');

describe('GET /metrics on the API port', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-metrics-access-'));
  let server: ChildProcess;
  let kms: KMSClient;
  let endpoint: string;

  before(async () => {
    const port = await freePorts(1);
    endpoint = `http://127.0.0.1:${port}`;
    server = await startServerProcess(
      writeRegionConfig(dir, 'us-east-1', port, { ...selfInitialisingUnits(dir, 'us-east-1'), metrics: { bearerToken: TOKEN }, logLevel: 'warn' }),
      endpoint,
    );
    kms = regionClient('us-east-1', endpoint);
  });
  after(async () => {
    await stopProcess(server, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a scrape without the bearer token, with another, or with the token under another scheme', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Bearer ${TOKEN}0` },
      { authorization: `bearer ${TOKEN}` },
      { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
      { authorization: `Bearer ${SECRET_ACCESS_KEY}` },
    ];
    for (const headers of attempts) {
      const response = await fetch(`${endpoint}/metrics`, { headers });
      const text = await response.text();
      assert.equal(response.status, 401, JSON.stringify(headers));
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.doesNotMatch(text, /concord_|process_/);
    }
    assert.match(await scrape(`${endpoint}/metrics`, TOKEN), /concord_requests_total/);
  });

  it('shows no key material, plaintext, key ID or secret, whatever the requests carried', async () => {
    const KeyId = (await kms.send(new CreateKeyCommand({ Description: 'metrics canary key' }))).KeyMetadata!.KeyId!;
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId, Plaintext: CANARY, EncryptionContext: { purpose: 'metrics-canary-context' } }));
    await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { purpose: 'metrics-canary-context' } }));
    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' }));
    const pair = await kms.send(new GenerateDataKeyPairCommand({ KeyId, KeyPairSpec: 'RSA_2048' }));
    const external = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    const parameters = await kms.send(
      new GetParametersForImportCommand({ KeyId: external, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }),
    );

    const text = await scrape(`${endpoint}/metrics`, TOKEN);
    const secrets: [string, Buffer | string][] = [
      ['the bearer token', TOKEN],
      ['the secret access key', SECRET_ACCESS_KEY],
      ['the plaintext', CANARY],
      ['the data key', Buffer.from(dataKey.Plaintext!)],
      ['the private key of the data key pair', Buffer.from(pair.PrivateKeyPlaintext!).subarray(-64)],
      ['the import token', Buffer.from(parameters.ImportToken!).subarray(0, 32)],
      ['the key ID', KeyId],
      ['the encryption context', 'metrics-canary-context'],
      ['the description', 'metrics canary key'],
    ];
    for (const [what, secret] of secrets) {
      const forms =
        typeof secret === 'string'
          ? [secret]
          : [secret.toString('utf8'), secret.toString('base64'), secret.toString('hex'), secret.toString('base64').slice(8, 32)];
      for (const form of forms) assert.equal(text.includes(form), false, `the metrics show ${what}`);
    }
  });
});

describe('GET /metrics of a region that configures none', () => {
  it('is not served: the route is unknown', async () => {
    const dev = await startDev({ regions: ['us-east-1'] });
    try {
      for (const headers of [{}, { authorization: 'Bearer anything-at-all-here' }] as Record<string, string>[]) {
        const response = await fetch(`${dev.endpoint()}/metrics`, { headers });
        assert.equal(response.status, 404);
        assert.doesNotMatch(await response.text(), /concord_/);
      }
    } finally {
      await dev.stop();
      rmSync(dev.dataDir, { recursive: true, force: true });
    }
  });
});
