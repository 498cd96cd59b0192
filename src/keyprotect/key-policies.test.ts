import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { topicPrefix } from '../outbox/index.ts';
import { PostgresStore, type Store } from '../store/index.ts';
import { freshSchema, requirePostgres } from '../../test/e2e/postgres-harness.ts';
import type { KeyProtectService } from './key-protect-service.ts';
import { NOTIFICATION_TOPIC, type Notification } from './notifications.ts';
import { testCaller, testKeyProtect } from './test-key-protect.ts';

const ALICE = { caller: testCaller('alice'), iamId: 'iam-alice' };
const BOB = { caller: testCaller('bob'), iamId: 'iam-bob' };
const COS = { caller: testCaller('cos'), iamId: 'iam-cos' };
const HOUR = 3600 * 1000;
const MONTH = 30 * 24 * HOUR;
const DAY = 24 * HOUR;
const dualAuth = [{ type: 'application/vnd.ibm.kms.policy+json', dualAuthDelete: { enabled: true } }];

const admin = (name: string) => ({ caller: testCaller(name), actions: ['kms:*', 'concord:*'] });
/** Each store the module runs on: a fresh one, and how to drop it. */
const BACKENDS: { name: string; open: () => Promise<{ store?: Store; drop: () => Promise<void> }> }[] = [
  { name: 'SQLite', open: () => Promise.resolve({ drop: () => Promise.resolve() }) },
  {
    name: 'PostgreSQL',
    open: async () => {
      const schema = await freshSchema(requirePostgres('Key Protect policies')!);
      return { store: await PostgresStore.open(schema.url), drop: schema.drop };
    },
  },
];

for (const backend of BACKENDS)
  describe(`Key Protect key policies, dual authorization, key rings and instance policies on ${backend.name}`, () => {
    if (backend.name === 'PostgreSQL' && !process.env.CONCORD_TEST_PG_URL) {
      requirePostgres('Key Protect policies');
      return;
    }
    let region: ReturnType<typeof testKeyProtect>;
    let kp: KeyProtectService;
    let drop: () => Promise<void>;
    before(async () => {
      const opened = await backend.open();
      drop = opened.drop;
      region = testKeyProtect([admin('alice'), admin('bob'), admin('cos')], {}, opened.store);
      kp = region.kp;
      await region.outbox.close();
    });
    after(async () => {
      await region.store.close();
      await drop();
    });
    const createRoot = (name: string, ring?: string) => kp.createKey(ALICE, { name }, ring);

    it('deletes a dual-auth key only after another principal authorized it, within 7 days, through either surface', async () => {
      const key = await createRoot('dual');
      await kp.policies.put(ALICE, key.id, 'dualAuthDelete', dualAuth);
      await assert.rejects(kp.deleteKey(BOB, key.id, false), { code: 'AUTHORIZATIONS_NOT_MET' });
      await kp.policies.setForDeletion(ALICE, key.id);
      assert.deepEqual((await kp.keys.metadata(ALICE, key.id)).dualAuthDelete, {
        enabled: true,
        keySetForDeletion: true,
        authExpiration: new Date(region.clock.now + 7 * DAY).toISOString(),
      });
      await assert.rejects(kp.deleteKey(ALICE, key.id, false), { code: 'AUTHORIZATIONS_NOT_MET' }, 'the same principal twice');
      await assert.rejects(region.service.call('ScheduleKeyDeletion', { KeyId: key.id }, BOB.caller), {
        code: 'KMSInvalidStateException',
        message: /AUTHORIZATIONS_NOT_MET/,
      });
      region.clock.now += 7 * DAY;
      await assert.rejects(kp.deleteKey(BOB, key.id, false), { code: 'AUTHORIZATIONS_NOT_MET' }, 'the authorization has expired');
      await kp.policies.setForDeletion(ALICE, key.id);
      const deleted = await kp.deleteKey(BOB, key.id, false);
      assert.equal(deleted.state, 5);
      assert.deepEqual(deleted.dualAuthDelete, { enabled: true, keySetForDeletion: false });
      await kp.keys.restoreKey(ALICE, key.id);
      await assert.rejects(kp.deleteKey(BOB, key.id, false), { code: 'AUTHORIZATIONS_NOT_MET' }, 'a restored key needs a new authorization');
    });

    it('withdraws an authorization, refuses to turn dual authorization off, and answers NOT_DUAL_AUTH_ERR for other keys', async () => {
      const key = await createRoot('dual-2');
      await assert.rejects(kp.policies.setForDeletion(ALICE, key.id), { code: 'NOT_DUAL_AUTH_ERR' });
      await assert.rejects(kp.policies.unsetForDeletion(ALICE, key.id), { code: 'NOT_DUAL_AUTH_ERR' });
      await kp.policies.put(ALICE, key.id, undefined, dualAuth);
      await kp.policies.setForDeletion(ALICE, key.id);
      await kp.policies.unsetForDeletion(BOB, key.id);
      await assert.rejects(kp.deleteKey(BOB, key.id, false), { code: 'AUTHORIZATIONS_NOT_MET' });
      await assert.rejects(kp.policies.put(ALICE, key.id, 'dualAuthDelete', [{ dualAuthDelete: { enabled: false } }]), {
        code: 'KEY_ACTION_INVALID_STATE_ERR',
      });
    });

    it('validates policy bodies against the query parameter', async () => {
      const key = await createRoot('bodies');
      const cases: [string | undefined, unknown[], string][] = [
        ['rotation', dualAuth, 'BODY_QUERY_PARAM_MISMATCH_ERR'],
        ['rotation', [{ rotation: { interval_month: 1 } }, { rotation: { interval_month: 2 } }], 'NUM_COLLECTION_RESOURCE_ERR'],
        [undefined, [], 'NUM_COLLECTION_RESOURCE_ERR'],
        [undefined, [{ rotation: { interval_month: 0 } }], 'BAD_BODY_ERR'],
        [undefined, [{ rotation: { interval_month: 13 } }], 'BAD_BODY_ERR'],
        [undefined, [{ rotation: { interval_month: 1.5 } }], 'BAD_BODY_ERR'],
        [undefined, [{ rotation: 'monthly' }], 'BAD_BODY_ERR'],
        [undefined, [{ dualAuthDelete: { enabled: 'yes' } }], 'BAD_BODY_ERR'],
        [undefined, [{ rotation: { interval_month: 1 } }, { rotation: { interval_month: 2 } }], 'BAD_BODY_ERR'],
        [undefined, [null], 'BAD_BODY_ERR'],
        [undefined, [{}], 'BAD_BODY_ERR'],
      ];
      for (const [name, resources, code] of cases) {
        await assert.rejects(kp.policies.put(ALICE, key.id, name as 'rotation' | undefined, resources), { code }, JSON.stringify([name, resources]));
      }
      await assert.rejects(kp.policies.list(ALICE, '00000000-0000-4000-8000-000000000000', undefined), { code: 'NOT_FOUND_ERR' });
      assert.deepEqual(await kp.policies.list(ALICE, key.id, undefined), []);
    });

    it('rotates a key when its rotation policy is due, notifying its registrations, and not before', async () => {
      const key = await createRoot('rotating');
      await kp.writeRegistration(COS, 'create', key.id, 'crn:v1:bluemix:public:cloud-object-storage:global:a/1:i:bucket:r', { preventKeyDeletion: false });
      const [policy] = await kp.policies.put(ALICE, key.id, 'rotation', [{ type: 'application/vnd.ibm.kms.policy+json', rotation: { interval_month: 2 } }]);
      assert.deepEqual(policy!.rotation, { interval_month: 2 });
      assert.equal(policy!.createdBy, 'iam-alice');
      region.clock.now += 2 * MONTH - 1;
      assert.equal(await kp.policies.rotateDueKeys(), 0);
      region.clock.now += 1;
      assert.equal(await kp.policies.rotateDueKeys(), 1);
      assert.equal((await kp.keys.versions(ALICE, key.id)).length, 2);
      const rotations = await region.service.call('ListKeyRotations', { KeyId: key.id }, ALICE.caller);
      assert.equal(rotations.Rotations?.[0]?.RotationType, 'AUTOMATIC');
      const notified = (await region.store.list(topicPrefix(NOTIFICATION_TOPIC))).map((e) => (JSON.parse(e.value) as { body: Notification }).body);
      assert.equal(notified.filter((n) => n.keyId === key.id && n.event === 'rotate').length, 1);
      assert.equal(await kp.policies.rotateDueKeys(), 0, 'the next rotation is two months on');
      region.clock.now += 2 * MONTH;
      await region.service.call('DisableKey', { KeyId: key.id }, ALICE.caller);
      assert.equal(await kp.policies.rotateDueKeys(), 0, 'a disabled key is not rotated');
    });

    it('refuses a second Key Protect rotation within the hour', async () => {
      const key = await createRoot('hourly');
      await kp.rotate(ALICE, key.id, {});
      await assert.rejects(kp.rotate(ALICE, key.id, {}), { code: 'KEY_ROTATION_NOT_PERMITTED', status: 409 });
      region.clock.now += HOUR;
      await kp.rotate(ALICE, key.id, {});
    });

    it('creates keys in existing key rings, filters by ring, moves keys, and deletes only empty rings', async () => {
      await assert.rejects(createRoot('nowhere', 'ring-a'), { code: 'KEY_RING_NOT_FOUND_ERR' });
      await kp.keyRings.create(ALICE, 'ring-a');
      await assert.rejects(kp.keyRings.create(ALICE, 'ring-a'), { code: 'CONFLICT_ERR' });
      await assert.rejects(kp.keyRings.create(ALICE, 'default'), { code: 'KEY_RING_RESERVED_ERR' });
      await assert.rejects(kp.keyRings.create(ALICE, 'bad ring!'), { code: 'BAD_BODY_ERR' });
      const key = await createRoot('ringed', 'ring-a');
      assert.equal(key.keyRingID, 'ring-a');
      const listed = await kp.keys.listKeys(ALICE, { keyRing: 'ring-a' });
      assert.deepEqual(
        listed.keys.map((k) => k.id),
        [key.id],
      );
      await assert.rejects(kp.keyRings.delete(ALICE, 'ring-a'), { code: 'KEY_RING_NOT_EMPTY_ERR' });
      await kp.keyRings.moveKey(ALICE, key.id, { keyRingID: 'default' });
      await kp.keyRings.delete(ALICE, 'ring-a');
      assert.deepEqual(
        (await kp.keyRings.list(ALICE)).map((r) => r.id),
        ['default'],
      );
      await assert.rejects(kp.keyRings.delete(ALICE, 'default'), { code: 'KEY_RING_RESERVED_ERR' });
      await assert.rejects(kp.keyRings.moveKey(ALICE, key.id, { keyRingID: 'ring-a' }), { code: 'KEY_RING_NOT_FOUND_ERR' });
    });

    it('applies the instance policies: defaults of new keys, key creation access, allowed IP addresses', async () => {
      await kp.instancePolicies.put(ALICE, undefined, [
        { policy_type: 'dualAuthDelete', policy_data: { enabled: true } },
        { policy_type: 'rotation', policy_data: { enabled: true, attributes: { interval_month: 3 } } },
        { policy_type: 'keyCreateImportAccess', policy_data: { enabled: true, attributes: { create_standard_key: false } } },
        { policy_type: 'allowedIP', policy_data: { enabled: true, attributes: { allowed_ip: ['10.0.0.0/8', '2001:db8::/32'] } } },
      ]);
      const key = await createRoot('defaults');
      assert.equal((key.dualAuthDelete as { enabled: boolean }).enabled, true);
      assert.deepEqual(
        (await kp.policies.list(ALICE, key.id, 'rotation')).map((p) => p.rotation),
        [{ interval_month: 3 }],
      );
      await assert.rejects(kp.createKey(ALICE, { name: 'std', extractable: true }, undefined), { code: 'KEY_CREATE_IMPORT_ACCESS_ERR' });
      for (const ip of ['10.1.2.3', '::ffff:10.9.9.9', '2001:db8::1']) await kp.instancePolicies.requireAllowedIp(ip);
      for (const ip of ['127.0.0.1', '::1', '11.0.0.1']) await assert.rejects(kp.instancePolicies.requireAllowedIp(ip), { code: 'UNAUTHORIZED_ERR' }, ip);
      const listed = await kp.instancePolicies.list(ALICE, 'keyCreateImportAccess');
      assert.deepEqual(listed[0]!.policy_data, {
        enabled: true,
        attributes: { create_root_key: true, create_standard_key: false, import_root_key: true, import_standard_key: true, enforce_token: false },
      });
      await kp.instancePolicies.put(ALICE, 'allowedIP', [{ policy_type: 'allowedIP', policy_data: { enabled: false } }]);
      await kp.instancePolicies.requireAllowedIp('127.0.0.1');
    });

    it('refuses malformed instance policies', async () => {
      const cases: [string | undefined, unknown[], string][] = [
        ['metrics', [{ policy_type: 'dualAuthDelete', policy_data: { enabled: true } }], 'BODY_QUERY_PARAM_MISMATCH_ERR'],
        [undefined, [{ policy_type: 'nope', policy_data: { enabled: true } }], 'BAD_BODY_ERR'],
        [undefined, [{ policy_type: 'metrics', policy_data: { enabled: true, attributes: {} } }], 'BAD_BODY_ERR'],
        [undefined, [{ policy_type: 'rotation', policy_data: { enabled: true } }], 'BAD_BODY_ERR'],
        [undefined, [{ policy_type: 'rotation', policy_data: { enabled: false, attributes: { interval_month: 1 } } }], 'BAD_BODY_ERR'],
        [undefined, [{ policy_type: 'allowedIP', policy_data: { enabled: true, attributes: { allowed_ip: ['10.0.0.0/33'] } } }], 'BAD_BODY_ERR'],
        [undefined, [{ policy_type: 'allowedIP', policy_data: { enabled: true, attributes: { allowed_ip: ['10.0.0.1'] } } }], 'BAD_BODY_ERR'],
        [undefined, [{ policy_type: 'allowedIP', policy_data: { enabled: true, attributes: { allowed_ip: [] } } }], 'BAD_BODY_ERR'],
        [undefined, [{ policy_type: 'allowedNetwork', policy_data: { enabled: true, attributes: { allowed_network: 'anywhere' } } }], 'BAD_BODY_ERR'],
        [undefined, [{ policy_type: 'keyCreateImportAccess', policy_data: { enabled: true, attributes: { create_root_key: 'no' } } }], 'BAD_BODY_ERR'],
        [undefined, [{ policy_type: 'keyCreateImportAccess', policy_data: { enabled: true, attributes: { unknown: true } } }], 'BAD_BODY_ERR'],
        [
          undefined,
          [
            { policy_type: 'metrics', policy_data: { enabled: true } },
            { policy_type: 'metrics', policy_data: { enabled: false } },
          ],
          'BAD_BODY_ERR',
        ],
        [undefined, [{ policy_type: 'metrics', policy_data: null }], 'BAD_BODY_ERR'],
      ];
      for (const [name, resources, code] of cases) {
        await assert.rejects(kp.instancePolicies.put(ALICE, name as 'metrics' | undefined, resources), { code }, JSON.stringify(resources));
      }
    });
  });
