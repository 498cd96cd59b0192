import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sealImportEnvelope } from '../crypto/index.ts';
import { instanceIdOf } from '../keyprotect/index.ts';
import { ACCOUNT, freePorts, startDev, type DevDeployment } from '../../test/e2e/harness.ts';
import { IbmCloudKmsAdapter, KeyProtectRefusal, type IbmCloudKmsConnection } from './ibm-cloud-kms-adapter.ts';
import { keystoreAdapterSuite } from './keystore-adapter.suite.ts';

const REGION = 'eu-de-1';
let dev: DevDeployment | undefined;
let apikey = '';
const connection = (endpoint: string): IbmCloudKmsConnection => ({
  ibm_api_endpoint: endpoint,
  ibm_iam_endpoint: endpoint,
  ibm_api_key: apikey,
  ibm_instance_id: instanceIdOf(ACCOUNT, REGION),
});

before(async () => {
  dev = await startDev({ regions: [REGION] });
  apikey = / -d apikey=(\S+)/.exec(dev.banner())![1]!;
});
after(async () => {
  await dev?.stop();
});

keystoreAdapterSuite('ibm_cloud_kms (a Concord region through its Key Protect API)', async () => {
  const closedPort = await freePorts(1);
  return {
    adapter: new IbmCloudKmsAdapter(connection(dev!.endpoint())),
    unreachable: new IbmCloudKmsAdapter(connection(`http://127.0.0.1:${closedPort}`)),
    unknownKeyId: randomUUID(),
    close: () => Promise.resolve(),
  };
});

describe('ibm_cloud_kms keystore adapter, what is particular to Key Protect', () => {
  /** Raw Key Protect calls, as someone working on the keystore directly. */
  const kp = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const token = (await (
      await fetch(`${dev!.endpoint()}/identity/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey }),
      })
    ).json()) as { access_token: string };
    const response = await fetch(`${dev!.endpoint()}/api/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token.access_token}`, 'bluemix-instance': instanceIdOf(ACCOUNT, REGION), 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  it('creates an imported root key named and aliased after the managed key version', async () => {
    const adapter = new IbmCloudKmsAdapter(connection(dev!.endpoint()));
    const managedKeyId = randomUUID();
    const keyId = (await adapter.create({ managedKeyId, version: 3, label: 'byok', description: 'a copy', material: randomBytes(32) })).keyIdInKeystore;
    const key = ((await kp('GET', `/keys/${keyId}`)).json.resources as Record<string, unknown>[])[0]!;
    assert.equal(key.imported, true);
    assert.equal(key.extractable, false);
    assert.equal(key.name, `uko-${managedKeyId}-v3`);
    assert.equal(key.description, 'a copy');
    assert.ok((key.aliases as string[]).includes(`uko-${managedKeyId}-v3`));
  });

  it('reads a key rotated outside the orchestrator with other material as wrong_key, and replaces it with a new key for the same version', async () => {
    const adapter = new IbmCloudKmsAdapter(connection(dev!.endpoint()));
    const key = { managedKeyId: randomUUID(), version: 1, label: 'replaced', description: '', material: randomBytes(32) };
    const keyId = (await adapter.create(key)).keyIdInKeystore;
    assert.equal((await kp('POST', `/keys/${keyId}/actions/rotate`, { payload: randomBytes(32).toString('base64') })).status, 204);
    assert.equal(await adapter.describe(keyId), 'wrong_key');
    await adapter.scheduleDeletion(keyId);
    const replacement = (await adapter.create(key)).keyIdInKeystore;
    assert.notEqual(replacement, keyId);
    assert.equal(await adapter.describe(replacement), 'enabled');
    assert.equal(await adapter.describe(keyId), 'pending_deletion');
    await assert.rejects(adapter.importMaterial(replacement), KeyProtectRefusal);
  });

  it('makes a new import token when the instance’s token was replaced, used up or never made', async () => {
    const adapter = new IbmCloudKmsAdapter(connection(dev!.endpoint()));
    await kp('POST', '/import_token', { maxAllowedRetrievals: 1 });
    await kp('GET', '/import_token');
    const keyId = (await adapter.create({ managedKeyId: randomUUID(), version: 1, label: 'new token', description: '', material: randomBytes(32) }))
      .keyIdInKeystore;
    assert.equal(await adapter.describe(keyId), 'enabled');
  });

  it('sends material only sealed for the import token: a replayed creation request is refused', async () => {
    const token = (await kp('GET', '/import_token')).json as { payload: string; nonce: string };
    const sealed = sealImportEnvelope(randomBytes(32), token);
    assert.equal((await kp('POST', '/keys', { resources: [{ name: 'once', ...sealed }] })).status, 201);
    assert.equal((await kp('POST', '/keys', { resources: [{ name: 'twice', ...sealed }] })).status, 400);
  });

  it('tells a refusal by Key Protect from an unreachable keystore, and a refused API key as unreachable', async () => {
    const adapter = new IbmCloudKmsAdapter(connection(dev!.endpoint()));
    await assert.rejects(
      adapter.disable(randomUUID()),
      (error) => error instanceof KeyProtectRefusal && error.status === 404 && error.code === 'NOT_FOUND_ERR',
    );
    const wrongKey = new IbmCloudKmsAdapter({ ...connection(dev!.endpoint()), ibm_api_key: 'not-an-api-key-of-this-deployment-000000' });
    await assert.rejects(wrongKey.check(), { name: 'KeystoreUnreachableError' });
  });
});
