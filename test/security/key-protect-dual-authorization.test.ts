import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { instanceIdOf } from '../../src/keyprotect/index.ts';
import { ACCOUNT } from '../e2e/harness.ts';
import {
  json,
  keyPolicies,
  POLICY_TYPE,
  KP_ADMIN,
  KP_ADMIN_2_APIKEY,
  KP_APIKEYS,
  kpClient,
  kpRequest,
  policyRegionConfig,
  reasonCode,
  rejectsWith,
  type KeyProtectV2,
} from '../e2e/key-protect-client.ts';
import { startRegionServers, type RegionServers } from '../e2e/region-servers.ts';

const REGION = 'us-east-1';
const INSTANCE = instanceIdOf(ACCOUNT, REGION);
const dualAuth = keyPolicies([{ type: POLICY_TYPE, dualAuthDelete: { enabled: true } }]);

describe('Key Protect dual authorization and policies: one user acting as two, other surfaces, key users', () => {
  let region: RegionServers;
  let admin: KeyProtectV2;
  let admin2: KeyProtectV2;
  let wrapper: KeyProtectV2;
  const bluemixInstance = INSTANCE;
  const dualAuthKey = async (): Promise<string> => {
    const created = await admin.createKey({ bluemixInstance, body: json({ resources: [{ name: 'guarded', extractable: false }] }) });
    const id = (created.result as unknown as { resources: { id: string }[] }).resources[0]!.id;
    await admin.putPolicy({ id, bluemixInstance, policy: 'dualAuthDelete', setKeyPoliciesOneOf: dualAuth });
    return id;
  };

  before(async () => {
    region = await startRegionServers([REGION], policyRegionConfig({}));
    admin = kpClient(region.endpoint(REGION), KP_APIKEYS.admin);
    admin2 = kpClient(region.endpoint(REGION), KP_ADMIN_2_APIKEY);
    wrapper = kpClient(region.endpoint(REGION), KP_APIKEYS.wrapper);
  });
  after(async () => {
    await region.stopAll();
  });

  it('refuses a dual-auth deletion by the principal who authorized it (one user acting as both)', async () => {
    const id = await dualAuthKey();
    await admin.setKeyForDeletion({ id, bluemixInstance });
    await admin.setKeyForDeletion({ id, bluemixInstance });
    await rejectsWith(admin.deleteKey({ id, bluemixInstance }), 409, 'AUTHORIZATIONS_NOT_MET');
    await rejectsWith(admin.deleteKey({ id, bluemixInstance, force: true }), 409, 'AUTHORIZATIONS_NOT_MET');
    // The second user authorizing too replaces the first: then the first may delete, never the same one twice.
    await admin2.setKeyForDeletion({ id, bluemixInstance });
    await rejectsWith(admin2.deleteKey({ id, bluemixInstance }), 409, 'AUTHORIZATIONS_NOT_MET');
    assert.equal((await admin.deleteKey({ id, bluemixInstance })).status, 204);
  });

  it('refuses to delete a dual-auth key through the AWS surface, even once one user has authorized it', async () => {
    const id = await dualAuthKey();
    await admin.setKeyForDeletion({ id, bluemixInstance });
    await assert.rejects(region.client(REGION).send(new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 7 })), {
      name: 'KMSInvalidStateException',
      message: /AUTHORIZATIONS_NOT_MET/,
    });
  });

  it('refuses to switch dual authorization off to skip the second user', async () => {
    const id = await dualAuthKey();
    await rejectsWith(
      admin.putPolicy({
        id,
        bluemixInstance,
        policy: 'dualAuthDelete',
        setKeyPoliciesOneOf: keyPolicies([{ type: POLICY_TYPE, dualAuthDelete: { enabled: false } }]),
      }),
      409,
      'KEY_ACTION_INVALID_STATE_ERR',
    );
  });

  it('refuses key users the policy, authorization, key ring and instance policy operations, and tells them nothing of a key’s rotations', async () => {
    const id = await dualAuthKey();
    await admin.rotateKey({ id, bluemixInstance });
    await rejectsWith(wrapper.rotateKey({ id, bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
    await rejectsWith(wrapper.setKeyForDeletion({ id, bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
    await rejectsWith(wrapper.unsetKeyForDeletion({ id, bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
    await rejectsWith(wrapper.getPolicy({ id, bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
    await rejectsWith(wrapper.putPolicy({ id, bluemixInstance, setKeyPoliciesOneOf: dualAuth }), 401, 'UNAUTHORIZED_ERR');
    await rejectsWith(wrapper.getInstancePolicy({ bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
    await rejectsWith(
      wrapper.putInstancePolicy({
        bluemixInstance,
        setInstancePoliciesOneOf: keyPolicies([{ policy_type: 'dualAuthDelete', policy_data: { enabled: false } }]),
      }),
      401,
      'UNAUTHORIZED_ERR',
    );
    await rejectsWith(wrapper.createKeyRing({ keyRingId: 'wrappers', bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
    await rejectsWith(wrapper.listKeyRings({ bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
  });

  it('refuses a key policy change the key’s own policy denies, whatever the identity policies allow', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: KP_ADMIN }, Action: ['kms:EnableKeyRotation', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion'], Resource: '*' },
      ],
    };
    const created = await region.client(REGION).send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }));
    const id = created.KeyMetadata!.KeyId!;
    await rejectsWith(
      admin.putPolicy({ id, bluemixInstance, policy: 'rotation', setKeyPoliciesOneOf: keyPolicies([{ type: POLICY_TYPE, rotation: { interval_month: 1 } }]) }),
      401,
      'UNAUTHORIZED_ERR',
    );
    await rejectsWith(admin.putPolicy({ id, bluemixInstance, policy: 'dualAuthDelete', setKeyPoliciesOneOf: dualAuth }), 401, 'UNAUTHORIZED_ERR');
    await admin2.putPolicy({ id, bluemixInstance, policy: 'dualAuthDelete', setKeyPoliciesOneOf: dualAuth });
    await rejectsWith(admin.setKeyForDeletion({ id, bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
  });

  it('refuses a valid bearer token sent from outside the instance’s allowed IP ranges (last: it locks this client out)', async () => {
    await admin.putInstancePolicy({
      bluemixInstance,
      policy: 'allowedIP',
      setInstancePoliciesOneOf: keyPolicies([
        { policy_type: 'allowedIP', policy_data: { enabled: true, attributes: { allowed_ip: ['192.0.2.0/24', '2001:db8::/32'] } } },
      ]),
    });
    for (const client of [admin, admin2, wrapper]) await rejectsWith(client.getKeys({ bluemixInstance }), 401, 'UNAUTHORIZED_ERR');
    // Services are exempt, as IBM exempts its own: an acknowledgement of an unknown event is still answered as such.
    const ack = await kpRequest(region.endpoint(REGION), INSTANCE, KP_APIKEYS.service, 'POST', '/event_ack', {
      body: JSON.stringify({ eventId: '00000000-0000-4000-8000-000000000000', adopterKeyState: 1, timestamp: new Date().toISOString() }),
    });
    assert.equal(reasonCode(ack.body), 'NOT_FOUND_ERR');
  });
});
