import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ReplicateKeyCommand,
  RevokeGrantCommand,
  UpdatePrimaryRegionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { addGrant, GRANTS_PER_KEY } from '../../src/kms/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { eventually } from '../e2e/eventually.ts';
import { ACCOUNT, startDev, type DevDeployment } from '../e2e/harness.ts';

const [EAST, WEST] = ['us-east-1', 'us-west-2'] as const;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const OPERATOR = `arn:aws:iam::${ACCOUNT}:user/operator`;
const APP = `arn:aws:iam::${ACCOUNT}:user/app`;
const OPERATOR_CREDENTIALS = { accessKeyId: 'AKIAOPERATOR00000001', secretAccessKey: 'operator-secret-access-key-00001' };
const APP_CREDENTIALS = { accessKeyId: 'AKIAAPPLICATION00001', secretAccessKey: 'application-secret-access-key-0001' };

/** The operator may do anything with KMS except create keys in us-west-2 (as AWS scopes IAM permissions to a Region). */
const OPERATOR_IDENTITY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 'kms:*', Resource: '*' },
    { Effect: 'Deny', Action: 'kms:CreateKey', Resource: '*', Condition: { StringEquals: { 'aws:RequestedRegion': WEST } } },
  ],
};

const rootDelegation = { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' };
const policy = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const keyArn = (region: string, KeyId: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/${KeyId}`;

describe('authorization bypass attempts', () => {
  let dev: DevDeployment;
  let admin: Record<string, KMSClient>;
  let operator: KMSClient;
  let app: KMSClient;

  before(async () => {
    const principalsFile = join(mkdtempSync(join(tmpdir(), 'concord-authz-bypass-')), 'principals.yaml');
    writeFileSync(
      principalsFile,
      JSON.stringify([
        { arn: OPERATOR, ...OPERATOR_CREDENTIALS, identityPolicies: [OPERATOR_IDENTITY_POLICY] },
        { arn: APP, ...APP_CREDENTIALS },
      ]),
    );
    dev = await startDev({ regions: [EAST, WEST], extraArgs: ['--principals-file', principalsFile] });
    admin = { [EAST]: dev.client(EAST), [WEST]: dev.client(WEST) };
    operator = dev.client(EAST, OPERATOR_CREDENTIALS);
    app = dev.client(EAST, APP_CREDENTIALS);
  });
  after(async () => {
    await dev.stop();
  });

  const createKey = async (input: { Policy?: string; MultiRegion?: boolean } = {}): Promise<string> =>
    (await admin[EAST]!.send(new CreateKeyCommand(input))).KeyMetadata!.KeyId!;
  const describeIn = async (region: string, KeyId: string) => (await admin[region]!.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
  const encrypt = (client: KMSClient, KeyId: string, EncryptionContext: Record<string, string>) =>
    client.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('payroll'), EncryptionContext }));

  describe('multi-Region keys', () => {
    it("refuses UpdatePrimaryRegion when the replica's key policy denies it, leaving the primary where it was", async () => {
      const KeyId = await createKey({ MultiRegion: true });
      const replicaPolicy = policy(rootDelegation, {
        Sid: 'The replica stays a replica',
        Effect: 'Deny',
        Principal: '*',
        Action: 'kms:UpdatePrimaryRegion',
        Resource: '*',
      });
      await admin[EAST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST, Policy: replicaPolicy }));
      await eventually(async () => {
        assert.equal((await describeIn(WEST, KeyId)).KeyState, 'Enabled');
      });

      await assert.rejects(admin[EAST]!.send(new UpdatePrimaryRegionCommand({ KeyId, PrimaryRegion: WEST })), {
        name: 'AccessDeniedException',
        message: `User: ${ADMIN} is not authorized to perform: kms:UpdatePrimaryRegion on resource: ${keyArn(WEST, KeyId)} with an explicit deny in a resource-based policy`,
      });
      for (const region of [EAST, WEST]) {
        const metadata = await describeIn(region, KeyId);
        assert.equal(metadata.KeyState, 'Enabled');
        assert.equal(metadata.MultiRegionConfiguration?.PrimaryKey?.Region, EAST);
      }
    });

    it('refuses UpdatePrimaryRegion to a caller the replica key policy does not allow, though the primary key policy does', async () => {
      const KeyId = await createKey({
        MultiRegion: true,
        Policy: policy(rootDelegation, { Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:UpdatePrimaryRegion', Resource: '*' }),
      });
      await admin[EAST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST }));
      await eventually(async () => {
        assert.equal((await describeIn(WEST, KeyId)).KeyState, 'Enabled');
      });

      await assert.rejects(app.send(new UpdatePrimaryRegionCommand({ KeyId, PrimaryRegion: WEST })), {
        name: 'AccessDeniedException',
        message: `User: ${APP} is not authorized to perform: kms:UpdatePrimaryRegion on resource: ${keyArn(WEST, KeyId)} because no identity-based policy allows the kms:UpdatePrimaryRegion action`,
      });
      assert.equal((await describeIn(EAST, KeyId)).MultiRegionConfiguration?.MultiRegionKeyType, 'PRIMARY');
    });

    it('refuses ReplicateKey to a caller without kms:CreateKey in the replica region, creating no replica', async () => {
      const KeyId = await createKey({ MultiRegion: true });
      await assert.rejects(operator.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST })), {
        name: 'AccessDeniedException',
        message: `User: ${OPERATOR} is not authorized to perform: kms:CreateKey on resource: * with an explicit deny in an identity-based policy`,
      });
      assert.deepEqual((await describeIn(EAST, KeyId)).MultiRegionConfiguration?.ReplicaKeys, []);
      await assert.rejects(describeIn(WEST, KeyId), { name: 'NotFoundException' });
      // The operator creates keys in us-east-1, where its identity policy allows it.
      await operator.send(new CreateKeyCommand({}));
    });

    it('refuses ReplicateKey to a region the key policy excludes by kms:ReplicaRegion', async () => {
      const KeyId = await createKey({
        MultiRegion: true,
        Policy: policy(rootDelegation, {
          Effect: 'Deny',
          Principal: '*',
          Action: 'kms:ReplicateKey',
          Resource: '*',
          Condition: { StringEquals: { 'kms:ReplicaRegion': WEST } },
        }),
      });
      await assert.rejects(admin[EAST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST })), {
        name: 'AccessDeniedException',
        message: `User: ${ADMIN} is not authorized to perform: kms:ReplicateKey on resource: ${keyArn(EAST, KeyId)} with an explicit deny in a resource-based policy`,
      });
      await assert.rejects(describeIn(WEST, KeyId), { name: 'NotFoundException' });
    });
  });

  describe('encryption context keys differing only in case', () => {
    const grantedTo = async (Constraints: { EncryptionContextEquals?: Record<string, string>; EncryptionContextSubset?: Record<string, string> }) => {
      const KeyId = await createKey();
      await admin[EAST]!.send(new CreateGrantCommand({ KeyId, GranteePrincipal: APP, Operations: ['Encrypt', 'Decrypt'], Constraints }));
      return KeyId;
    };
    const refused = (KeyId: string, action: string) => ({
      name: 'AccessDeniedException',
      message: `User: ${APP} is not authorized to perform: kms:${action} on resource: ${keyArn(EAST, KeyId)} because no identity-based policy allows the kms:${action} action`,
    });

    it('cannot widen a grant with EncryptionContextEquals by adding a case variant of its key', async () => {
      const KeyId = await grantedTo({ EncryptionContextEquals: { dept: 'a' } });
      await encrypt(app, KeyId, { DEPT: 'a' });
      for (const context of [
        { Dept: 'b', dept: 'a' },
        { dept: 'a', Dept: 'b' },
        { dept: 'a', Dept: 'a' },
      ] as Record<string, string>[]) {
        await assert.rejects(encrypt(app, KeyId, context), refused(KeyId, 'Encrypt'));
        const { CiphertextBlob } = await encrypt(admin[EAST]!, KeyId, context);
        await assert.rejects(app.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })), refused(KeyId, 'Decrypt'));
      }
    });

    it('cannot widen a grant with EncryptionContextSubset by adding a case variant of its key', async () => {
      const KeyId = await grantedTo({ EncryptionContextSubset: { dept: 'a' } });
      await encrypt(app, KeyId, { Dept: 'a', file: 'x' });
      for (const context of [
        { Dept: 'b', dept: 'a', file: 'x' },
        { dept: 'a', DEPT: 'b' },
      ] as Record<string, string>[]) {
        await assert.rejects(encrypt(app, KeyId, context), refused(KeyId, 'Encrypt'));
      }
    });

    it('matches a key policy Deny on kms:EncryptionContext:dept against the Dept variant, in whatever order the pairs come', async () => {
      const KeyId = await createKey({
        Policy: policy(rootDelegation, {
          Sid: 'No secrets',
          Effect: 'Deny',
          Principal: '*',
          Action: 'kms:*',
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:dept': 'secret' } },
        }),
      });
      await encrypt(admin[EAST]!, KeyId, { dept: 'open', Dept: 'Secret' });
      for (const context of [{ Dept: 'secret', dept: 'open' }, { dept: 'open', Dept: 'secret' }, { DEPT: 'secret' }] as Record<string, string>[]) {
        await assert.rejects(encrypt(admin[EAST]!, KeyId, context), {
          name: 'AccessDeniedException',
          message: `User: ${ADMIN} is not authorized to perform: kms:Encrypt on resource: ${keyArn(EAST, KeyId)} with an explicit deny in a resource-based policy`,
        });
      }
    });

    it('does not let one case variant satisfy a key policy Allow on kms:EncryptionContext:dept while another violates it', async () => {
      const KeyId = await createKey({
        Policy: policy(rootDelegation, {
          Effect: 'Allow',
          Principal: { AWS: APP },
          Action: 'kms:Encrypt',
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:dept': 'a' } },
        }),
      });
      await encrypt(app, KeyId, { Dept: 'a' });
      for (const context of [
        { Dept: 'b', dept: 'a' },
        { dept: 'a', Dept: 'b' },
      ] as Record<string, string>[]) {
        await assert.rejects(encrypt(app, KeyId, context), refused(KeyId, 'Encrypt'));
      }
    });
  });

  describe('grant quota', () => {
    it(`refuses grant ${GRANTS_PER_KEY + 1} on a key with LimitExceededException`, async () => {
      const KeyId = await createKey();
      const { GrantId } = await admin[EAST]!.send(new CreateGrantCommand({ KeyId, GranteePrincipal: APP, Operations: ['Encrypt'] }));
      // The other grants go straight into the region's store while it is stopped: the refusal is what goes through the API.
      await dev.stop();
      const store = new SqliteStore(join(dev.dataDir, EAST, 'keys.db'));
      await store.transaction(async (tx) => {
        for (let n = 1; n < GRANTS_PER_KEY; n++) {
          await addGrant({ region: EAST, account: ACCOUNT }, tx, {
            grantId: randomBytes(32).toString('hex'),
            keyId: KeyId,
            granteePrincipal: `arn:aws:iam::${ACCOUNT}:role/worker-${n}`,
            issuingAccount: ACCOUNT,
            operations: ['Decrypt'],
            createdAt: Date.now(),
          });
        }
      });
      await store.close();
      await dev.restart();

      const another = new CreateGrantCommand({ KeyId, GranteePrincipal: APP, Operations: ['Decrypt'] });
      await assert.rejects(admin[EAST]!.send(another), {
        name: 'LimitExceededException',
        message: `${keyArn(EAST, KeyId)} has reached the limit of ${GRANTS_PER_KEY} grants.`,
      });
      await encrypt(app, KeyId, {});
      await admin[EAST]!.send(new RevokeGrantCommand({ KeyId, GrantId }));
      await admin[EAST]!.send(another);
    });
  });
});
