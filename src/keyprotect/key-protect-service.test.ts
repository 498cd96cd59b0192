import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { topicPrefix } from '../outbox/index.ts';
import { NOTIFICATION_TOPIC, type Notification } from './notifications.ts';
import { TEST_ACCOUNT as ACCOUNT, testCaller, testKeyProtect } from './test-key-protect.ts';

const ADMIN = testCaller('admin');
const SERVICE = testCaller('cos');
const crn = (name: string) => `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:instance:bucket:${name}`;

describe('KeyProtectService', () => {
  const { store, service, outbox, kp, clock } = testKeyProtect(
    [
      { caller: ADMIN, actions: ['kms:*'] },
      { caller: SERVICE, actions: ['concord:WriteKeyProtectRegistration'] },
    ],
    { syncIntervalMs: 60_000 },
  );
  // Closed, the outbox delivers nothing and keeps what is queued, which is what these tests read.
  before(() => outbox.close());
  const admin = { caller: ADMIN, iamId: 'iam-admin' };
  const cos = { caller: SERVICE, iamId: 'iam-cos' };
  const queued = async (): Promise<Notification[]> =>
    (await store.list(topicPrefix(NOTIFICATION_TOPIC))).map((entry) => (JSON.parse(entry.value) as { body: Notification }).body);
  after(() => store.close());

  it('queues one notification per registration for a change made through the AWS operations, in the same transaction', async () => {
    const key = await kp.keys.createKey(admin, { name: 'k1' });
    await kp.writeRegistration(cos, 'create', key.id, crn('a'), { preventKeyDeletion: false });
    await kp.writeRegistration(cos, 'create', key.id, crn('b'), { preventKeyDeletion: false });
    await service.call('DisableKey', { KeyId: key.id }, ADMIN);
    const events = (await queued()).filter((n) => n.keyId === key.id);
    assert.deepEqual(
      events.map((n) => [n.event, n.resourceCrn, n.keyState]),
      [
        ['disable', crn('a'), 2],
        ['disable', crn('b'), 2],
      ],
    );
    const registration = (await kp.registrations.ofKey(key.id))[0]!;
    assert.equal(registration.lastNotification?.eventId, events[0]!.eventId);
    assert.deepEqual(registration.unacknowledgedEvents, [events[0]!.eventId]);
  });

  it('refuses ScheduleKeyDeletion while a registration prevents deletion, and registrations to key users', async () => {
    const key = await kp.keys.createKey(admin, { name: 'k2' });
    await assert.rejects(kp.writeRegistration(admin, 'create', key.id, crn('c'), { preventKeyDeletion: true }), { code: 'SERVICE_ONLY_ERR' });
    await kp.writeRegistration(cos, 'create', key.id, crn('c'), { preventKeyDeletion: true });
    await assert.rejects(service.call('ScheduleKeyDeletion', { KeyId: key.id }, ADMIN), {
      code: 'KMSInvalidStateException',
      message: /PROTECTED_RESOURCE_ERR/,
    });
    await assert.rejects(kp.keys.deleteKey(admin, key.id, true), { code: 'PROTECTED_RESOURCE_ERR' });
    assert.equal((await service.call('DescribeKey', { KeyId: key.id }, ADMIN)).KeyMetadata?.KeyState, 'Enabled');
  });

  it('refuses actions/sync within the interval after the last lifecycle action, then renotifies every registration', async () => {
    const key = await kp.keys.createKey(admin, { name: 'k3' });
    await kp.writeRegistration(cos, 'create', key.id, crn('d'), { preventKeyDeletion: false });
    await assert.rejects(kp.sync(admin, key.id), { code: 'REQ_TOO_EARLY_ERR', status: 409 });
    clock.now += 60_000;
    await kp.sync(admin, key.id);
    assert.equal((await queued()).filter((n) => n.keyId === key.id && n.event === 'sync').length, 1);
    await assert.rejects(kp.sync(admin, key.id), { code: 'REQ_TOO_EARLY_ERR' });
  });

  it('takes an acknowledgement once, from a service, and filters registrations by CRN patterns', async () => {
    const event = (await queued()).find((n) => n.event === 'sync')!;
    await assert.rejects(kp.acknowledge(admin, { eventId: event.eventId, adopterKeyState: 1, timestamp: 't' }), { code: 'SERVICE_ONLY_ERR' });
    await kp.acknowledge(cos, { eventId: event.eventId, adopterKeyState: 1, timestamp: 't', keyStateData: { keyVersion: event.keyVersion } });
    await assert.rejects(kp.acknowledge(cos, { eventId: event.eventId, adopterKeyState: 1, timestamp: 't' }), { code: 'NOT_FOUND_ERR' });
    const [registration] = await kp.registrations.ofKey(event.keyId);
    assert.equal(registration!.lastAcknowledgement?.keyVersion, event.keyVersion);
    assert.deepEqual(registration!.unacknowledgedEvents, []);
    const pattern = `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:instance:bucket:*`;
    assert.equal((await kp.registrations.list(undefined, { urlEncodedResourceCRN: pattern })).total, 4);
    assert.equal((await kp.registrations.list(undefined, { urlEncodedResourceCRN: crn('a'), preventKeyDeletion: false })).total, 1);
  });

  it('purges a deleted key only 4 hours after its deletion; it answers KEY_DELETED_ERR before and NOT_FOUND_ERR after', async () => {
    const key = await kp.keys.createKey(admin, { name: 'purged' });
    await kp.keys.deleteKey(admin, key.id, false);
    await assert.rejects(kp.keys.deleteKey(admin, key.id, false), { code: 'KEY_DELETED_ERR', status: 410 });
    await assert.rejects(kp.keys.purgeKey(admin, key.id), { code: 'REQ_TOO_EARLY_ERR' });
    clock.now += 4 * 3600_000;
    assert.equal((await kp.keys.getKey(admin, key.id)).purgeAllowed, true);
    await kp.keys.purgeKey(admin, key.id);
    await assert.rejects(kp.keys.getKey(admin, key.id), { code: 'NOT_FOUND_ERR', status: 404 });
    assert.ok(!(await kp.keys.listKeys(admin, { states: [5] })).keys.some((k) => k.id === key.id));
  });

  it('imports a root key payload, and needs a new one to rotate it', async () => {
    const payload = Buffer.alloc(32, 3);
    const key = await kp.keys.createKey(admin, { name: 'imported', payload: payload.toString('base64') });
    assert.equal(key.imported, true);
    assert.equal(key.state, 1);
    await assert.rejects(kp.keys.rotate(admin, key.id, {}), { code: 'KEY_PAYLOAD_REQ_ERR' });
    await kp.keys.rotate(admin, key.id, { payload: Buffer.alloc(32, 4).toString('base64') });
    assert.equal((await kp.keys.versions(admin, key.id)).length, 2);
  });

  it('keeps a standard key payload only wrapped in the store, and refuses root-key actions on it', async () => {
    const payload = Buffer.from('standard key payload, 32 bytes!!');
    const key = await kp.keys.createKey(admin, { name: 'standard', extractable: true, payload: payload.toString('base64') });
    assert.equal((await kp.keys.getKey(admin, key.id)).payload, payload.toString('base64'));
    const everything = (await store.list('')).map((entry) => entry.value).join('\n');
    assert.ok(!everything.includes(payload.toString('base64')) && !everything.includes(payload.toString('utf8')));
    await assert.rejects(kp.keys.wrap(admin, key.id, {}), { code: 'KEY_ROOT_REQ_ERR' });
    await assert.rejects(kp.writeRegistration(cos, 'create', key.id, crn('s'), { preventKeyDeletion: false }), { code: 'KEY_ROOT_REQ_REG_ERR' });
    await assert.rejects(kp.keys.getKey(cos, key.id), { code: 'AccessDeniedException' });
  });
});
