import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../e2e/eventually.ts';
import { startDev, type DevDeployment } from '../e2e/harness.ts';
import { SOFTHSM_MODULE, softHsmToken } from '../e2e/softhsm-token.ts';
import { UkoClient } from '../e2e/uko-client.ts';

const REGION = 'us-east-1';
const CANARY = 'KEYSTORE-SECRET-CANARY-must-never-be-shown-or-stored-plain';
/** The PIN of a token that takes it, and one given to a keystore whose token refuses it. */
const PIN_CANARY = 'PKCS11-PIN-CANARY-must-never-be-shown';
const WRONG_PIN_CANARY = 'PKCS11-WRONG-PIN-CANARY-must-never-be-shown';
const CANARIES = [CANARY, PIN_CANARY, WRONG_PIN_CANARY];

describe("a UKO keystore's secrets: an AWS secret access key, a PKCS#11 PIN", () => {
  let dev: DevDeployment;
  let uko: UkoClient;
  /** Every answer the API gave in this test, as text. */
  const answers: string[] = [];
  let keystorePath: string;
  const pkcs11Paths: string[] = [];

  const call = async (method: string, path: string, options: { body?: unknown; ifMatch?: string | null } = {}) => {
    const answer = await uko.call(method, path, options);
    answers.push(JSON.stringify(answer.json));
    return answer;
  };

  before(async () => {
    softHsmToken('pin-leaks', undefined, PIN_CANARY);
    dev = await startDev({ regions: [REGION], extraArgs: ['--pkcs11-module', SOFTHSM_MODULE] });
    uko = new UkoClient(dev.endpoint(REGION), / -d apikey=(\S+)/.exec(dev.banner())![1]!);
    const vault = (await call('POST', '/vaults', { body: { name: 'leaks' } })).json.id;
    const keystore = {
      type: 'aws_kms',
      vault: { id: vault },
      name: 'refuses-the-canary',
      groups: ['g'],
      aws_region: REGION,
      aws_access_key_id: 'AKIAUNKNOWNTOTHETARGET',
      aws_secret_access_key: CANARY,
      aws_endpoint: dev.endpoint(REGION),
    };
    assert.equal((await call('POST', '/keystores?dry_run=true', { body: keystore })).status, 400);
    const created = await call('POST', '/keystores', { body: keystore });
    assert.equal(created.status, 201);
    keystorePath = `/keystores/${created.json.id}`;
    await call('POST', '/templates', {
      body: { vault: { id: vault }, name: 'T', key: { algorithm: 'aes', size: '256' }, keystores: [{ group: 'g', type: 'aws_kms' }] },
    });
    const key = await call('POST', '/managed_keys', { body: { vault: { id: vault }, template_name: 'T' } });
    const activated = await call('POST', `/managed_keys/${key.json.id}/activate`, { ifMatch: key.etag });
    assert.equal(activated.json.status_in_keystores[0]?.keystore_sync_flag, 'error');

    const token = { type: 'pkcs11', vault: { id: vault }, groups: ['h'], pkcs11_module: SOFTHSM_MODULE, pkcs11_token_label: 'pin-leaks' };
    assert.equal((await call('POST', '/keystores?dry_run=true', { body: { ...token, name: 'dry', pkcs11_pin: WRONG_PIN_CANARY } })).status, 400);
    for (const [name, pin] of [
      ['takes-the-pin', PIN_CANARY],
      ['refuses-the-pin', WRONG_PIN_CANARY],
    ]) {
      const created = await call('POST', '/keystores', { body: { ...token, name, pkcs11_pin: pin } });
      assert.equal(created.status, 201);
      pkcs11Paths.push(`/keystores/${created.json.id}`);
    }
    await call('POST', '/templates', {
      body: { vault: { id: vault }, name: 'H', key: { algorithm: 'aes', size: '256' }, keystores: [{ group: 'h', type: 'pkcs11' }] },
    });
    const hsmKey = await call('POST', '/managed_keys', { body: { vault: { id: vault }, template_name: 'H' } });
    const hsmActivated = await call('POST', `/managed_keys/${hsmKey.json.id}/activate`, { ifMatch: hsmKey.etag });
    assert.deepEqual(hsmActivated.json.status_in_keystores.map((s) => s.keystore_sync_flag).sort(), ['error', 'ok']);
    await call('GET', `/managed_keys/${hsmKey.json.id}/status_in_keystores`);
  });
  after(async () => {
    await dev.stop();
  });

  it('is not read back through get, list, update, status or the errors of a keystore refusing it', async () => {
    await call('GET', keystorePath);
    await call('GET', '/keystores');
    const read = await call('GET', keystorePath);
    await call('PATCH', keystorePath, { body: { description: 'still secret' }, ifMatch: read.etag });
    assert.equal((await call('GET', `${keystorePath}/status`)).json.health_status, 'not_responding');
    for (const path of pkcs11Paths) {
      const keystore = await call('GET', path);
      await call('PATCH', path, { body: { description: 'still secret' }, ifMatch: keystore.etag });
      await call('GET', `${path}/status`);
    }
    await call('GET', '/managed_keys');
    for (const answer of answers) for (const canary of CANARIES) assert.ok(!answer.includes(canary), answer);
  });

  it('does not sit in the store in plaintext', () => {
    const dir = join(dev.dataDir, REGION);
    const files = readdirSync(dir).filter((name) => name.startsWith('keys.db'));
    assert.ok(files.length > 0);
    for (const file of files) for (const canary of CANARIES) assert.ok(!readFileSync(join(dir, file)).includes(canary), file);
  });

  it('does not reach the log', async () => {
    await call('GET', '/vaults?name=last-request');
    await eventually(() => {
      assert.match(dev.output(), /"operation":"uko:ListVaults"/);
    });
    for (const canary of CANARIES) assert.ok(!dev.output().includes(canary));
  });
});
