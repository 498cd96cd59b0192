import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { ACCESS_KEY_ID, ACCOUNT, BIN, SECRET_ACCESS_KEY } from './harness.ts';
import { json, KP_APIKEYS, kpClient, kpRegionConfig, rejectsWith, type KeyProtectV2 } from './key-protect-client.ts';
import { startRegionServers, type RegionServers } from './region-servers.ts';
import { instanceIdOf } from '../../src/keyprotect/index.ts';

const run = promisify(execFile);
const REGION = 'us-east-1';
const INSTANCE = instanceIdOf(ACCOUNT, REGION);

interface KpKey {
  id: string;
  name: string;
  state: number;
  extractable: boolean;
  payload?: string;
  crn: string;
  keyVersion?: { id: string };
}
type Listed<T> = { metadata: { collectionTotal: number }; resources: T[] };

describe('Key Protect API through IBM Key Protect SDK, and the same keys through the AWS SDK', () => {
  let region: RegionServers;
  let kp: KeyProtectV2;
  const bluemixInstance = INSTANCE;

  const create = async (resource: Record<string, unknown>): Promise<KpKey> =>
    (
      (
        await kp.createKey({
          bluemixInstance,
          body: json({ metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 }, resources: [resource] }),
        })
      ).result as unknown as Listed<KpKey>
    ).resources[0]!;
  const get = async (id: string): Promise<KpKey> => ((await kp.getKey({ id, bluemixInstance })).result as unknown as Listed<KpKey>).resources[0]!;

  before(async () => {
    region = await startRegionServers([REGION], kpRegionConfig());
    kp = kpClient(region.endpoint(REGION), KP_APIKEYS.admin);
  });
  after(async () => {
    await region.stopAll();
  });

  it('lists the region’s instance with concord instance list', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'instance', 'list', '--endpoint', region.endpoint(REGION)], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY },
    });
    assert.deepEqual(JSON.parse(stdout), [
      { id: INSTANCE, crn: `crn:v1:concord:public:kms:${REGION}:a/${ACCOUNT}:${INSTANCE}::`, region: REGION, account: ACCOUNT },
    ]);
  });

  it('creates, gets, lists and counts root and standard keys in IBM shapes', async () => {
    const root = await create({ type: 'application/vnd.ibm.kms.key+json', name: 'root-1', description: 'a root key', extractable: false });
    assert.equal(root.state, 1);
    assert.equal(root.extractable, false);
    assert.ok(root.crn.endsWith(`:${INSTANCE}:key:${root.id}`));
    const payload = Buffer.alloc(32, 7).toString('base64');
    const standard = await create({ type: 'application/vnd.ibm.kms.key+json', name: 'standard-1', extractable: true, payload });
    assert.equal((await get(standard.id)).payload, payload);
    assert.equal((await get(root.id)).name, 'root-1');
    const meta = (await kp.getKeyMetadata({ id: root.id, bluemixInstance })).result as unknown as Listed<KpKey>;
    assert.equal(meta.resources[0]!.payload, undefined);

    const page = (await kp.getKeys({ bluemixInstance, limit: 1, offset: 1 })).result as unknown as Listed<KpKey>;
    assert.equal(page.resources.length, 1);
    const standards = (await kp.getKeys({ bluemixInstance, extractable: true })).result as unknown as Listed<KpKey>;
    assert.deepEqual(
      standards.resources.map((k) => k.id),
      [standard.id],
    );
    const head = await kp.getKeyCollectionMetadata({ bluemixInstance });
    assert.equal(head.status, 200);
    assert.equal(Number((head.headers as Record<string, string>)['key-total']), 2);
    await rejectsWith(kp.wrapKey({ id: standard.id, bluemixInstance, keyActionWrapBody: json({}) }), 400, 'KEY_ROOT_REQ_ERR');
  });

  it('wraps a generated or given DEK, unwraps it, rotates, rewraps, and tells an old version on unwrap', async () => {
    const root = await create({ type: 'application/vnd.ibm.kms.key+json', name: 'envelope', extractable: false });
    const generated = (await kp.wrapKey({ id: root.id, bluemixInstance, keyActionWrapBody: json({}) })).result as unknown as {
      plaintext: string;
      ciphertext: string;
      keyVersion: { id: string };
    };
    assert.equal(Buffer.from(generated.plaintext, 'base64').length, 32);
    const dek = Buffer.from('a data encryption key of 32 byte').toString('base64');
    const wrapped = (await kp.wrapKey({ id: root.id, bluemixInstance, keyActionWrapBody: json({ plaintext: dek, aad: ['tenant-a'] }) })).result as unknown as {
      ciphertext: string;
      keyVersion: { id: string };
    };
    const unwrapped = (await kp.unwrapKey({ id: root.id, bluemixInstance, keyActionUnwrapBody: json({ ciphertext: wrapped.ciphertext, aad: ['tenant-a'] }) }))
      .result as unknown as { plaintext: string; rewrappedKeyVersion?: unknown };
    assert.equal(unwrapped.plaintext, dek);
    assert.equal(unwrapped.rewrappedKeyVersion, undefined);
    await rejectsWith(
      kp.unwrapKey({ id: root.id, bluemixInstance, keyActionUnwrapBody: json({ ciphertext: wrapped.ciphertext, aad: ['tenant-b'] }) }),
      422,
      'UNPROCESSABLE_CIPHERTEXT_ERR',
    );

    assert.equal((await kp.rotateKey({ id: root.id, bluemixInstance })).status, 204);
    const versions = (await kp.getKeyVersions({ id: root.id, bluemixInstance })).result as unknown as Listed<{ id: string }>;
    assert.equal(versions.resources.length, 2);
    assert.equal(versions.resources[1]!.id, wrapped.keyVersion.id);
    const afterRotation = (
      await kp.unwrapKey({ id: root.id, bluemixInstance, keyActionUnwrapBody: json({ ciphertext: wrapped.ciphertext, aad: ['tenant-a'] }) })
    ).result as unknown as { plaintext: string; keyVersion: { id: string }; rewrappedKeyVersion: { id: string }; ciphertext: string };
    assert.equal(afterRotation.keyVersion.id, wrapped.keyVersion.id);
    assert.equal(afterRotation.rewrappedKeyVersion.id, versions.resources[0]!.id);
    const rewrapped = (await kp.rewrapKey({ id: root.id, bluemixInstance, keyActionRewrapBody: json({ ciphertext: wrapped.ciphertext, aad: ['tenant-a'] }) }))
      .result as unknown as { ciphertext: string; keyVersion: { id: string } };
    assert.equal(rewrapped.keyVersion.id, versions.resources[0]!.id);
  });

  it('disables, enables, deletes and restores keys with Key Protect states and codes', async () => {
    const root = await create({ type: 'application/vnd.ibm.kms.key+json', name: 'lifecycle', extractable: false });
    await kp.disableKey({ id: root.id, bluemixInstance });
    assert.equal((await get(root.id)).state, 2);
    await rejectsWith(kp.wrapKey({ id: root.id, bluemixInstance, keyActionWrapBody: json({}) }), 409, 'KEY_ACTION_INVALID_STATE_ERR');
    await rejectsWith(kp.disableKey({ id: root.id, bluemixInstance }), 409, 'KEY_ACTION_INVALID_STATE_ERR');
    await kp.enableKey({ id: root.id, bluemixInstance });
    assert.equal((await get(root.id)).state, 1);
    await kp.deleteKey({ id: root.id, bluemixInstance });
    assert.equal((await get(root.id)).state, 5);
    await rejectsWith(kp.deleteKey({ id: root.id, bluemixInstance }), 410, 'KEY_DELETED_ERR');
    await kp.restoreKey({ id: root.id, bluemixInstance });
    assert.equal((await get(root.id)).state, 1);
    await rejectsWith(kp.getKey({ id: '00000000-0000-4000-8000-000000000000', bluemixInstance }), 404, 'NOT_FOUND_ERR');
  });

  it('uses one key through both surfaces: AWS-created keys are Key Protect root keys, and Key Protect ciphertext decrypts with KMS', async () => {
    const kms = region.client(REGION);
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'made through AWS' }));
    const id = KeyMetadata!.KeyId!;
    assert.equal((await get(id)).state, 1);
    const dek = Buffer.alloc(32, 9);
    const wrapped = (await kp.wrapKey({ id, bluemixInstance, keyActionWrapBody: json({ plaintext: dek.toString('base64'), aad: ['x'] }) }))
      .result as unknown as {
      ciphertext: string;
    };
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(wrapped.ciphertext, 'base64'), EncryptionContext: { 'kp-aad-0': 'x' } }));
    assert.deepEqual(Buffer.from(decrypted.Plaintext!), dek);
    await kms.send(new DisableKeyCommand({ KeyId: id }));
    assert.equal((await get(id)).state, 2);
    await kms.send(new EnableKeyCommand({ KeyId: id }));
    await kp.createKeyAlias({ id, alias: 'both-surfaces', bluemixInstance });
    assert.equal((await get('both-surfaces')).id, id);
    assert.deepEqual(((await get(id)) as unknown as { aliases: string[] }).aliases, ['both-surfaces']);
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/both-surfaces' }))).KeyMetadata!.KeyId, id);
    await kp.deleteKeyAlias({ id, alias: 'both-surfaces', bluemixInstance });
    await rejectsWith(kp.getKey({ id: 'both-surfaces', bluemixInstance }), 404, 'NOT_FOUND_ERR');
    const made = await create({ type: 'application/vnd.ibm.kms.key+json', name: 'made-by-kp', extractable: false });
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: made.id, PendingWindowInDays: 7 }));
    assert.equal((await get(made.id)).state, 5);
  });

  it('authorizes each operation as the KMS action it performs, and refuses bad input in Key Protect codes', async () => {
    const root = await create({ type: 'application/vnd.ibm.kms.key+json', name: 'authorized', extractable: false });
    const wrapper = kpClient(region.endpoint(REGION), KP_APIKEYS.wrapper);
    const wrapped = (await wrapper.wrapKey({ id: root.id, bluemixInstance, keyActionWrapBody: json({}) })).result as unknown as { ciphertext: string };
    await rejectsWith(
      wrapper.unwrapKey({ id: root.id, bluemixInstance, keyActionUnwrapBody: json({ ciphertext: wrapped.ciphertext }) }),
      401,
      'UNAUTHORIZED_ERR',
    );
    await rejectsWith(wrapper.rotateKey({ id: root.id, bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
    await rejectsWith(kp.getKeys({ bluemixInstance: 'not-an-instance' }), 401, 'UNAUTHORIZED_ERR');
    await rejectsWith(kp.unwrapKey({ id: root.id, bluemixInstance, keyActionUnwrapBody: Buffer.from('{not json') }), 400, 'BAD_BODY_ERR');
    await rejectsWith(kp.unwrapKey({ id: root.id, bluemixInstance, keyActionUnwrapBody: json({ ciphertext: 'AAAA' }) }), 422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
    await rejectsWith(kp.createKey({ bluemixInstance, body: json({ resources: [{ name: 7 }] }) }), 400, 'BAD_BODY_ERR');
  });
});
