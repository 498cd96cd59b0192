import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ListKeyRotationsCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { instanceIdOf } from '../../src/keyprotect/index.ts';
import { eventually } from './eventually.ts';
import { ACCOUNT } from './harness.ts';
import {
  json,
  keyPolicies,
  POLICY_TYPE,
  KP_ADMIN_2_APIKEY,
  KP_APIKEYS,
  kpClient,
  kpRequest,
  policyRegionConfig,
  reasonCode,
  rejectsWith,
  type KeyProtectV2,
} from './key-protect-client.ts';
import { startRegionServers, type RegionServers } from './region-servers.ts';

const REGION = 'us-east-1';
const INSTANCE = instanceIdOf(ACCOUNT, REGION);
interface Key {
  id: string;
  keyRingID: string;
  state: number;
  dualAuthDelete: { enabled: boolean; keySetForDeletion?: boolean; authExpiration?: string };
}
type Listed<T> = { metadata: { collectionType: string; collectionTotal: number }; resources: T[] };
const result = <T>(response: { result: unknown }): Listed<T> => response.result as Listed<T>;

describe('Key Protect policies, dual authorization and key rings through IBM Key Protect SDK', () => {
  let region: RegionServers;
  let kp: KeyProtectV2;
  let kp2: KeyProtectV2;
  const bluemixInstance = INSTANCE;
  const raw = (method: string, path: string, body?: string, apikey = KP_APIKEYS.admin) =>
    kpRequest(region.endpoint(REGION), INSTANCE, apikey, method, path, body === undefined ? {} : { body });
  const create = async (name: string, xKmsKeyRing?: string): Promise<Key> =>
    result<Key>(
      await kp2.createKey({
        bluemixInstance,
        ...(xKmsKeyRing !== undefined ? { xKmsKeyRing } : {}),
        body: json({ metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 }, resources: [{ name, extractable: false }] }),
      }),
    ).resources[0]!;
  const metadata = async (id: string): Promise<Key> => result<Key>(await kp.getKeyMetadata({ id, bluemixInstance })).resources[0]!;
  const instancePolicies = keyPolicies;

  before(async () => {
    region = await startRegionServers([REGION], policyRegionConfig({ rotationMonthSeconds: 2 }));
    kp = kpClient(region.endpoint(REGION), KP_APIKEYS.admin);
    kp2 = kpClient(region.endpoint(REGION), KP_ADMIN_2_APIKEY);
  });
  after(async () => {
    await region.stopAll();
  });

  it('sets and reads a key’s rotation and dual authorization policies', async () => {
    const key = await create('policies');
    const rotation = await kp.putPolicy({
      id: key.id,
      bluemixInstance,
      policy: 'rotation',
      setKeyPoliciesOneOf: keyPolicies([{ type: POLICY_TYPE, rotation: { interval_month: 6 } }]),
    });
    assert.equal(rotation.status, 200);
    const [set] = result<Record<string, unknown>>(rotation).resources;
    assert.deepEqual(set!.rotation, { interval_month: 6 });
    assert.match(set!.crn as string, new RegExp(`^crn:v1:concord:public:kms:${REGION}:a/${ACCOUNT}:${INSTANCE}:policy:`));
    await kp.putPolicy({ id: key.id, bluemixInstance, setKeyPoliciesOneOf: keyPolicies([{ type: POLICY_TYPE, dualAuthDelete: { enabled: true } }]) });
    const all = result<Record<string, unknown>>(await kp.getPolicy({ id: key.id, bluemixInstance }));
    assert.equal(all.metadata.collectionType, POLICY_TYPE);
    assert.deepEqual(
      all.resources.map((p) => p.rotation ?? p.dualAuthDelete),
      [{ interval_month: 6 }, { enabled: true }],
    );
    const dual = result<Record<string, unknown>>(await kp.getPolicy({ id: key.id, bluemixInstance, policy: 'dualAuthDelete' }));
    assert.deepEqual(
      dual.resources.map((p) => p.dualAuthDelete),
      [{ enabled: true }],
    );
    assert.deepEqual((await metadata(key.id)).dualAuthDelete, { enabled: true, keySetForDeletion: false });
    await rejectsWith(
      kp.putPolicy({
        id: key.id,
        bluemixInstance,
        policy: 'rotation',
        setKeyPoliciesOneOf: keyPolicies([{ type: POLICY_TYPE, dualAuthDelete: { enabled: true } }]),
      }),
      400,
      'BODY_QUERY_PARAM_MISMATCH_ERR',
    );
  });

  it('deletes a dual-auth key only once a second user authorized it, and never through the AWS surface alone', async () => {
    const key = await create('two-users');
    await kp.putPolicy({
      id: key.id,
      bluemixInstance,
      policy: 'dualAuthDelete',
      setKeyPoliciesOneOf: keyPolicies([{ type: POLICY_TYPE, dualAuthDelete: { enabled: true } }]),
    });
    await rejectsWith(kp.deleteKey({ id: key.id, bluemixInstance }), 409, 'AUTHORIZATIONS_NOT_MET');
    assert.equal((await kp.setKeyForDeletion({ id: key.id, bluemixInstance })).status, 204);
    const authorized = await metadata(key.id);
    assert.equal(authorized.dualAuthDelete.keySetForDeletion, true);
    assert.ok(Date.parse(authorized.dualAuthDelete.authExpiration!) > Date.now() + 6 * 24 * 3600 * 1000);
    await rejectsWith(kp.deleteKey({ id: key.id, bluemixInstance }), 409, 'AUTHORIZATIONS_NOT_MET');
    await assert.rejects(region.client(REGION).send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 })), {
      name: 'KMSInvalidStateException',
    });
    assert.equal((await kp.unsetKeyForDeletion({ id: key.id, bluemixInstance })).status, 204);
    await rejectsWith(kp2.deleteKey({ id: key.id, bluemixInstance }), 409, 'AUTHORIZATIONS_NOT_MET');
    await kp.setKeyForDeletion({ id: key.id, bluemixInstance });
    assert.equal((await kp2.deleteKey({ id: key.id, bluemixInstance })).status, 204);
    assert.equal((await metadata(key.id)).state, 5);

    const plain = await create('one-user');
    await rejectsWith(kp.setKeyForDeletion({ id: plain.id, bluemixInstance }), 409, 'NOT_DUAL_AUTH_ERR');
    await rejectsWith(kp.unsetKeyForDeletion({ id: plain.id, bluemixInstance }), 409, 'NOT_DUAL_AUTH_ERR');
  });

  it('allows one Key Protect rotation of a root key per hour', async () => {
    const key = await create('hourly');
    assert.equal((await kp.rotateKey({ id: key.id, bluemixInstance })).status, 204);
    await rejectsWith(kp.rotateKey({ id: key.id, bluemixInstance }), 409, 'KEY_ROTATION_NOT_PERMITTED');
  });

  it('rotates a key automatically by its rotation policy and notifies its registered resource', async () => {
    const key = await create('automatic');
    const crn = 'crn:v1:bluemix:public:cloud-object-storage:global:a/1:instance:bucket:rotating';
    const registered = await kpRequest(
      region.endpoint(REGION),
      INSTANCE,
      KP_APIKEYS.service,
      'POST',
      `/keys/${key.id}/registrations/${encodeURIComponent(crn)}`,
      { body: JSON.stringify({ resources: [{ preventKeyDeletion: false }] }) },
    );
    assert.equal(registered.status, 201);
    await kp.putPolicy({
      id: key.id,
      bluemixInstance,
      policy: 'rotation',
      setKeyPoliciesOneOf: keyPolicies([{ type: POLICY_TYPE, rotation: { interval_month: 1 } }]),
    });
    await eventually(
      async () => {
        const versions = result<{ id: string }>(await kp.getKeyVersions({ id: key.id, bluemixInstance }));
        assert.ok(versions.resources.length >= 2);
      },
      { timeoutMs: 60_000 },
    );
    const rotations = await region.client(REGION).send(new ListKeyRotationsCommand({ KeyId: key.id }));
    assert.equal(rotations.Rotations![0]!.RotationType, 'AUTOMATIC');
    await eventually(async () => {
      const registrations = result<{ lastNotification?: { event: string } }>(await kp.getRegistrations({ id: key.id, bluemixInstance }));
      assert.equal(registrations.resources[0]!.lastNotification?.event, 'rotate');
    });
    // Stop it, so the key stays still for the rest of the file.
    await kp.putPolicy({
      id: key.id,
      bluemixInstance,
      policy: 'rotation',
      setKeyPoliciesOneOf: keyPolicies([{ type: POLICY_TYPE, rotation: { enabled: false } }]),
    });
    assert.deepEqual(result(await kp.getPolicy({ id: key.id, bluemixInstance, policy: 'rotation' })).resources, []);
  });

  it('creates keys in key rings, lists by key ring, moves a key and deletes only an empty ring', async () => {
    assert.equal((await kp2.createKeyRing({ keyRingId: 'payments', bluemixInstance })).status, 201);
    await rejectsWith(kp2.createKeyRing({ keyRingId: 'payments', bluemixInstance }), 409, 'CONFLICT_ERR');
    await rejectsWith(kp.createKeyRing({ keyRingId: 'other', bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
    const rings = result<{ id: string; createdBy?: string }>(await kp.listKeyRings({ bluemixInstance }));
    assert.deepEqual(
      rings.resources.map((r) => r.id),
      ['default', 'payments'],
    );
    const key = await create('in-ring', 'payments');
    assert.equal(key.keyRingID, 'payments');
    await rejectsWith(create('no-ring', 'missing'), 404, 'KEY_RING_NOT_FOUND_ERR');
    const inRing = result<Key>(await kp.getKeys({ bluemixInstance, xKmsKeyRing: 'payments' }));
    assert.deepEqual(
      inRing.resources.map((k) => k.id),
      [key.id],
    );
    await rejectsWith(kp2.deleteKeyRing({ keyRingId: 'payments', bluemixInstance }), 409, 'KEY_RING_NOT_EMPTY_ERR');
    const moved = await raw('PATCH', `/keys/${key.id}`, JSON.stringify({ keyRingID: 'default' }), KP_ADMIN_2_APIKEY);
    assert.equal(moved.status, 200);
    assert.equal(moved.body!.resources![0]!.keyRingID, 'default');
    assert.equal((await kp2.deleteKeyRing({ keyRingId: 'payments', bluemixInstance })).status, 204);
    await rejectsWith(kp2.deleteKeyRing({ keyRingId: 'default', bluemixInstance }), 409, 'KEY_RING_RESERVED_ERR');
  });

  it('sets and reads instance policies, and new keys follow them', async () => {
    const put = await kp.putInstancePolicy({
      bluemixInstance,
      setInstancePoliciesOneOf: instancePolicies([
        { policy_type: 'dualAuthDelete', policy_data: { enabled: true } },
        { policy_type: 'keyCreateImportAccess', policy_data: { enabled: true, attributes: { create_standard_key: false } } },
        { policy_type: 'metrics', policy_data: { enabled: true } },
        { policy_type: 'allowedNetwork', policy_data: { enabled: true, attributes: { allowed_network: 'public-and-private' } } },
      ]),
    });
    assert.equal(put.status, 204);
    const all = result<{ policy_type: string; policy_data: { enabled: boolean } }>(await kp.getInstancePolicy({ bluemixInstance }));
    assert.deepEqual(
      all.resources.map((p) => [p.policy_type, p.policy_data.enabled]),
      [
        ['dualAuthDelete', true],
        ['allowedNetwork', true],
        ['keyCreateImportAccess', true],
        ['metrics', true],
      ],
    );
    const dual = result<{ createdBy: string }>(await kp.getInstancePolicy({ bluemixInstance, policy: 'dualAuthDelete' }));
    assert.equal(dual.resources.length, 1);
    assert.equal((await create('dual-by-default')).dualAuthDelete.enabled, true);
    await rejectsWith(kp.createKey({ bluemixInstance, body: json({ resources: [{ name: 'std', extractable: true }] }) }), 409, 'KEY_CREATE_IMPORT_ACCESS_ERR');
    await rejectsWith(
      kp.putInstancePolicy({
        bluemixInstance,
        policy: 'rotation',
        setInstancePoliciesOneOf: instancePolicies([{ policy_type: 'metrics', policy_data: { enabled: true } }]),
      }),
      400,
      'BODY_QUERY_PARAM_MISMATCH_ERR',
    );
    await kp.putInstancePolicy({
      bluemixInstance,
      setInstancePoliciesOneOf: instancePolicies([
        { policy_type: 'dualAuthDelete', policy_data: { enabled: false } },
        { policy_type: 'keyCreateImportAccess', policy_data: { enabled: false } },
      ]),
    });
    assert.equal((await create('single-again')).dualAuthDelete.enabled, false);
    assert.deepEqual(result(await kp.getAllowedIpPort({ bluemixInstance })).resources, []);
  });

  it('answers hostile policy, instance policy and key ring requests with Key Protect’s 4xx, never a 500', async () => {
    const key = await create('hostile');
    const bodies = [
      '',
      'null',
      '[]',
      '{"resources":{}}',
      '{"resources":[1]}',
      '{"resources":[{"rotation":{"interval_month":"6"}}]}',
      'x'.repeat(2048),
      '{"resources":[' + '{},'.repeat(50) + '{}]}',
    ];
    for (const body of bodies) {
      for (const path of [
        `/keys/${key.id}/policies`,
        `/keys/${key.id}/policies?policy=rotation`,
        '/instance/policies',
        '/instance/policies?policy=allowedIP',
      ]) {
        const answer = await raw('PUT', path, body);
        assert.ok(answer.status >= 400 && answer.status < 500, `${path} ${body.slice(0, 40)}: ${answer.status}`);
        assert.ok(reasonCode(answer.body), path);
      }
    }
    for (const path of [
      `/keys/${key.id}/policies?policy=nope`,
      '/instance/policies?policy=__proto__',
      '/keys/not-a-key/policies',
      '/keys/00000000-0000-4000-8000-000000000000/policies',
    ]) {
      const answer = await raw('GET', path);
      assert.ok(answer.status === 400 || answer.status === 404, `${path}: ${answer.status}`);
    }
    for (const ring of ['a', 'a%20b', '%E2%9C%93', 'a%2Fb', '__proto__']) {
      const created = await raw('POST', `/key_rings/${ring}`, undefined, KP_ADMIN_2_APIKEY);
      assert.equal(created.status, 400, ring);
      assert.equal(reasonCode(created.body), 'BAD_BODY_ERR', ring);
      assert.equal((await raw('DELETE', `/key_rings/${ring}`, undefined, KP_ADMIN_2_APIKEY)).status, 404, ring);
    }
    // Longer than Fastify's parameter limit: refused before routing, in Key Protect's format too.
    const long = await raw('POST', `/key_rings/${'x'.repeat(2000)}`, undefined, KP_ADMIN_2_APIKEY);
    assert.ok(long.status >= 400 && long.status < 500);
    for (const body of ['{"keyRingID":5}', '{"keyRingID":"default","name":"x"}', '[]']) {
      const answer = await raw('PATCH', `/keys/${key.id}`, body, KP_ADMIN_2_APIKEY);
      assert.equal(answer.status, 400, body);
    }
    const unauthorizedRing = await raw('PATCH', `/keys/${key.id}`, '{"keyRingID":"default"}');
    assert.equal(reasonCode(unauthorizedRing.body), 'UNAUTHORIZED_ERR');
  });

  it('serves the addresses an allowed IP policy lists, and names the port to use (the lockout is in test/security)', async () => {
    const allowedIp = (enabled: boolean) =>
      kp.putInstancePolicy({
        bluemixInstance,
        policy: 'allowedIP',
        setInstancePoliciesOneOf: instancePolicies([
          { policy_type: 'allowedIP', policy_data: { enabled, ...(enabled ? { attributes: { allowed_ip: ['127.0.0.0/8', '::1/128'] } } : {}) } },
        ]),
      });
    await allowedIp(true);
    const port = result<{ private_endpoint_port: number }>(await kp.getAllowedIpPort({ bluemixInstance }));
    assert.equal(port.resources[0]!.private_endpoint_port, Number(new URL(region.endpoint(REGION)).port));
    assert.equal((await kp.getKeys({ bluemixInstance })).status, 200);
    await allowedIp(false);
    assert.deepEqual(result(await kp.getAllowedIpPort({ bluemixInstance })).resources, []);
  });
});
