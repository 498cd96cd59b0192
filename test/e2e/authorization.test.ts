import assert from 'node:assert/strict';
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
  GetKeyPolicyCommand,
  ListGrantsCommand,
  ListKeysCommand,
  ListRetirableGrantsCommand,
  PutKeyPolicyCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { ACCOUNT, startDev, type DevDeployment } from './harness.ts';

const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const APP = `arn:aws:iam::${ACCOUNT}:user/app`;
const AUDITOR = `arn:aws:iam::${ACCOUNT}:user/auditor`;
const APP_CREDENTIALS = { accessKeyId: 'AKIAAPPLICATION00001', secretAccessKey: 'application-secret-access-key-0001' };
const AUDITOR_CREDENTIALS = { accessKeyId: 'AKIAAUDITOR000000001', secretAccessKey: 'auditor-secret-access-key-000001' };

/** The application may encrypt, describe and list through delegation, and may never schedule deletion. */
const APP_IDENTITY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Describe*', 'kms:ListKeys'], Resource: '*' },
    { Effect: 'Deny', Action: 'kms:ScheduleKeyDeletion', Resource: '*' },
  ],
};

const rootDelegation = { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' };
const policy = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });

const denied = (principal: string, action: string, resource: string, why: string) => ({
  name: 'AccessDeniedException',
  message: `User: ${principal} is not authorized to perform: kms:${action} on resource: ${resource} ${why}`,
});
const noResourcePolicy = (action: string) => `because no resource-based policy allows the kms:${action} action`;
const noIdentityPolicy = (action: string) => `because no identity-based policy allows the kms:${action} action`;

describe('authorization by key policies, identity policies and grants', () => {
  let dev: DevDeployment;
  let admin: KMSClient;
  let app: KMSClient;
  let auditor: KMSClient;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-authz-'));
    const principalsFile = join(dir, 'principals.yaml');
    writeFileSync(
      principalsFile,
      JSON.stringify([
        { arn: APP, ...APP_CREDENTIALS, identityPolicies: [APP_IDENTITY_POLICY] },
        { arn: AUDITOR, ...AUDITOR_CREDENTIALS },
      ]),
    );
    dev = await startDev({ regions: ['us-east-1'], extraArgs: ['--principals-file', principalsFile] });
    admin = dev.client();
    app = dev.client(undefined, APP_CREDENTIALS);
    auditor = dev.client(undefined, AUDITOR_CREDENTIALS);
  });
  after(async () => {
    await dev.stop();
  });

  const createKey = async (Policy?: string): Promise<{ KeyId: string; Arn: string }> => {
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Policy }));
    return { KeyId: KeyMetadata!.KeyId!, Arn: KeyMetadata!.Arn! };
  };
  const encrypt = async (client: KMSClient, KeyId: string, EncryptionContext?: Record<string, string>) =>
    (await client.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('payroll'), EncryptionContext }))).CiphertextBlob!;

  describe('the default key policy delegating to identity policies', () => {
    it('lets the administrator do everything and the application only what its identity policy allows', async () => {
      const key = await createKey();
      const blob = await encrypt(app, key.KeyId);
      assert.equal((await app.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.Arn, key.Arn);
      await assert.rejects(app.send(new DecryptCommand({ CiphertextBlob: blob })), denied(APP, 'Decrypt', key.Arn, noIdentityPolicy('Decrypt')));
      assert.equal(Buffer.from((await admin.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'payroll');
    });

    it('gives a principal without identity policies nothing, not even DescribeKey', async () => {
      const key = await createKey();
      await assert.rejects(
        auditor.send(new DescribeKeyCommand({ KeyId: key.KeyId })),
        denied(AUDITOR, 'DescribeKey', key.Arn, noIdentityPolicy('DescribeKey')),
      );
    });

    it('decides CreateKey and ListKeys by identity policies alone', async () => {
      await assert.rejects(app.send(new CreateKeyCommand({})), denied(APP, 'CreateKey', '*', noIdentityPolicy('CreateKey')));
      assert.ok((await app.send(new ListKeysCommand({}))).Keys!.length > 0);
      await assert.rejects(auditor.send(new ListKeysCommand({})), denied(AUDITOR, 'ListKeys', '*', noIdentityPolicy('ListKeys')));
    });

    it('lets an explicit deny in an identity policy win over a key policy that names the principal', async () => {
      const key = await createKey(policy(rootDelegation, { Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:*', Resource: '*' }));
      await assert.rejects(
        app.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 })),
        denied(APP, 'ScheduleKeyDeletion', key.Arn, 'with an explicit deny in an identity-based policy'),
      );
      await app.send(new GetKeyPolicyCommand({ KeyId: key.KeyId }));
    });
  });

  describe('key policies naming principals', () => {
    it('allows a principal the key policy names directly, without any identity policy', async () => {
      const key = await createKey(policy(rootDelegation, { Effect: 'Allow', Principal: { AWS: AUDITOR }, Action: 'kms:DescribeKey', Resource: '*' }));
      assert.equal((await auditor.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.KeyId, key.KeyId);
      await assert.rejects(
        auditor.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
        denied(AUDITOR, 'Encrypt', key.Arn, noIdentityPolicy('Encrypt')),
      );
    });

    it('allows Decrypt only with the encryption context the condition requires', async () => {
      const key = await createKey(
        policy(rootDelegation, {
          Sid: 'Billing only',
          Effect: 'Allow',
          Principal: { AWS: [APP] },
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: {
            StringEquals: { 'kms:EncryptionContext:purpose': 'billing' },
            'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['purpose', 'tenant'] },
          },
        }),
      );
      const billing = await encrypt(app, key.KeyId, { purpose: 'billing', tenant: 't1' });
      const other = await encrypt(app, key.KeyId, { purpose: 'marketing' });
      const extraKey = await encrypt(app, key.KeyId, { purpose: 'billing', owner: 'x' });
      const plain = await encrypt(app, key.KeyId);
      const decrypted = await app.send(new DecryptCommand({ CiphertextBlob: billing, EncryptionContext: { purpose: 'billing', tenant: 't1' } }));
      assert.equal(Buffer.from(decrypted.Plaintext!).toString(), 'payroll');
      const refused = denied(APP, 'Decrypt', key.Arn, noIdentityPolicy('Decrypt'));
      await assert.rejects(app.send(new DecryptCommand({ CiphertextBlob: other, EncryptionContext: { purpose: 'marketing' } })), refused);
      await assert.rejects(app.send(new DecryptCommand({ CiphertextBlob: extraKey, EncryptionContext: { purpose: 'billing', owner: 'x' } })), refused);
      await assert.rejects(app.send(new DecryptCommand({ CiphertextBlob: plain })), refused);
    });

    it('lets an explicit deny in the key policy win over every allow', async () => {
      const key = await createKey(
        policy(
          rootDelegation,
          { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' },
          { Sid: 'No app encryption', Effect: 'Deny', Principal: { AWS: APP }, Action: 'kms:Encrypt', Resource: '*' },
        ),
      );
      await assert.rejects(encrypt(app, key.KeyId), denied(APP, 'Encrypt', key.Arn, 'with an explicit deny in a resource-based policy'));
      await encrypt(admin, key.KeyId);
      await encrypt(auditor, key.KeyId);
    });
  });

  describe('the policy lockout safety check', () => {
    const appOnly = policy({ Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:*', Resource: '*' });

    it('refuses a key policy that would stop the caller from changing it, unless the caller bypasses the check', async () => {
      const key = await createKey();
      await assert.rejects(admin.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: appOnly })), {
        name: 'MalformedPolicyDocumentException',
        message: 'The new key policy will not allow you to update the key policy in the future.',
      });
      await admin.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: appOnly, BypassPolicyLockoutSafetyCheck: true }));
      await assert.rejects(admin.send(new GetKeyPolicyCommand({ KeyId: key.KeyId })), denied(ADMIN, 'GetKeyPolicy', key.Arn, noResourcePolicy('GetKeyPolicy')));
      assert.equal((await app.send(new GetKeyPolicyCommand({ KeyId: key.KeyId }))).Policy, appOnly);
    });

    it('applies the same check to CreateKey with a policy', async () => {
      await assert.rejects(admin.send(new CreateKeyCommand({ Policy: appOnly })), { name: 'MalformedPolicyDocumentException' });
      const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Policy: appOnly, BypassPolicyLockoutSafetyCheck: true }));
      await assert.rejects(admin.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId })), { name: 'AccessDeniedException' });
    });

    it('refuses principals of the account that do not exist but accepts other accounts', async () => {
      const key = await createKey();
      const naming = (arn: string) => policy(rootDelegation, { Effect: 'Allow', Principal: { AWS: arn }, Action: 'kms:Decrypt', Resource: '*' });
      await assert.rejects(admin.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: naming(`arn:aws:iam::${ACCOUNT}:user/nobody`) })), {
        name: 'MalformedPolicyDocumentException',
        message: 'Policy contains a statement with one or more invalid principals.',
      });
      await admin.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: naming('arn:aws:iam::444455556666:role/partner') }));
      await assert.rejects(admin.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: naming('partner') })), { name: 'MalformedPolicyDocumentException' });
    });
  });

  describe('grants', () => {
    it('allow the grantee its operations under the encryption context constraint (keys case-insensitive), at once with the grant token', async () => {
      const key = await createKey();
      const { GrantToken, GrantId } = await admin.send(
        new CreateGrantCommand({
          KeyId: key.KeyId,
          GranteePrincipal: AUDITOR,
          Operations: ['Decrypt', 'Encrypt'],
          Constraints: { EncryptionContextSubset: { Tenant: 'acme' } },
        }),
      );
      assert.match(GrantId!, /^[0-9a-f]{64}$/);
      const inside = await encrypt(auditor, key.KeyId, { tenant: 'acme', file: 'a.txt' });
      const decrypted = await auditor.send(
        new DecryptCommand({ CiphertextBlob: inside, EncryptionContext: { tenant: 'acme', file: 'a.txt' }, GrantTokens: [GrantToken!] }),
      );
      assert.equal(Buffer.from(decrypted.Plaintext!).toString(), 'payroll');
      await assert.rejects(encrypt(auditor, key.KeyId, { tenant: 'other' }), denied(AUDITOR, 'Encrypt', key.Arn, noIdentityPolicy('Encrypt')));
      await assert.rejects(encrypt(auditor, key.KeyId), { name: 'AccessDeniedException' });
      await assert.rejects(auditor.send(new DescribeKeyCommand({ KeyId: key.KeyId })), { name: 'AccessDeniedException' });
    });

    it('refuses a grant token this service did not issue', async () => {
      const key = await createKey();
      await assert.rejects(admin.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), GrantTokens: ['not-a-token'] })), {
        name: 'InvalidGrantTokenException',
      });
    });

    it('returns the same grant for a retried CreateGrant with the same name and parameters', async () => {
      const key = await createKey();
      const request = { KeyId: key.KeyId, GranteePrincipal: APP, Operations: ['Decrypt' as const, 'Encrypt' as const], Name: 'app-access' };
      const first = await admin.send(new CreateGrantCommand(request));
      const again = await admin.send(new CreateGrantCommand({ ...request, Operations: ['Encrypt', 'Decrypt'] }));
      const changed = await admin.send(new CreateGrantCommand({ ...request, Operations: ['Decrypt'] }));
      assert.equal(again.GrantId, first.GrantId);
      assert.notEqual(again.GrantToken, first.GrantToken);
      assert.notEqual(changed.GrantId, first.GrantId);
      const { Grants } = await admin.send(new ListGrantsCommand({ KeyId: key.KeyId }));
      assert.equal(Grants!.length, 2);
      const listed = Grants!.find((grant) => grant.GrantId === first.GrantId)!;
      assert.deepEqual(
        {
          KeyId: listed.KeyId,
          Name: listed.Name,
          GranteePrincipal: listed.GranteePrincipal,
          IssuingAccount: listed.IssuingAccount,
          Operations: listed.Operations,
        },
        { KeyId: key.Arn, Name: 'app-access', GranteePrincipal: APP, IssuingAccount: ROOT, Operations: ['Decrypt', 'Encrypt'] },
      );
    });

    it('lists grants page by page and filtered by grantee', async () => {
      const key = await createKey();
      for (const grantee of [APP, APP, AUDITOR]) {
        await admin.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: grantee, Operations: ['DescribeKey'] }));
      }
      const first = await admin.send(new ListGrantsCommand({ KeyId: key.KeyId, Limit: 2 }));
      assert.equal(first.Grants!.length, 2);
      assert.equal(first.Truncated, true);
      const second = await admin.send(new ListGrantsCommand({ KeyId: key.KeyId, Limit: 2, Marker: first.NextMarker }));
      assert.equal(second.Grants!.length, 1);
      assert.equal(second.Truncated, false);
      assert.equal((await admin.send(new ListGrantsCommand({ KeyId: key.KeyId, GranteePrincipal: AUDITOR }))).Grants!.length, 1);
      await assert.rejects(app.send(new ListGrantsCommand({ KeyId: key.KeyId })), denied(APP, 'ListGrants', key.Arn, noIdentityPolicy('ListGrants')));
    });

    it('stop allowing once retired by the retiring principal', async () => {
      const key = await createKey();
      const { GrantToken, GrantId } = await admin.send(
        new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: AUDITOR, RetiringPrincipal: APP, Operations: ['DescribeKey'] }),
      );
      await auditor.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
      const retirable = await admin.send(new ListRetirableGrantsCommand({ RetiringPrincipal: APP }));
      assert.ok(retirable.Grants!.some((grant) => grant.GrantId === GrantId && grant.RetiringPrincipal === APP));
      await assert.rejects(auditor.send(new RetireGrantCommand({ GrantToken })), { name: 'AccessDeniedException' });
      await app.send(new RetireGrantCommand({ GrantToken }));
      await assert.rejects(
        auditor.send(new DescribeKeyCommand({ KeyId: key.KeyId })),
        denied(AUDITOR, 'DescribeKey', key.Arn, noIdentityPolicy('DescribeKey')),
      );
      await assert.rejects(app.send(new RetireGrantCommand({ KeyId: key.Arn, GrantId })), { name: 'NotFoundException' });
    });

    it('may be retired by a grantee holding RetireGrant, by key and grant ID', async () => {
      const key = await createKey();
      const { GrantId } = await admin.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: AUDITOR, Operations: ['DescribeKey', 'RetireGrant'] }));
      await auditor.send(new RetireGrantCommand({ KeyId: key.Arn, GrantId }));
      assert.equal((await admin.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants!.length, 0);
    });

    it('stop allowing once revoked, and only a principal allowed RevokeGrant may revoke', async () => {
      const key = await createKey();
      const { GrantId } = await admin.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: AUDITOR, Operations: ['Encrypt'] }));
      await encrypt(auditor, key.KeyId);
      await assert.rejects(
        app.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId })),
        denied(APP, 'RevokeGrant', key.Arn, noIdentityPolicy('RevokeGrant')),
      );
      await admin.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId }));
      await assert.rejects(encrypt(auditor, key.KeyId), denied(AUDITOR, 'Encrypt', key.Arn, noIdentityPolicy('Encrypt')));
      await assert.rejects(admin.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId })), { name: 'NotFoundException' });
    });

    it('do not override an explicit deny in the key policy', async () => {
      const key = await createKey(policy(rootDelegation, { Effect: 'Deny', Principal: { AWS: AUDITOR }, Action: 'kms:Encrypt', Resource: '*' }));
      await admin.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: AUDITOR, Operations: ['Encrypt'] }));
      await assert.rejects(encrypt(auditor, key.KeyId), denied(AUDITOR, 'Encrypt', key.Arn, 'with an explicit deny in a resource-based policy'));
    });

    it('let a grantee holding CreateGrant pass on only its operations, under a constraint at least as strict', async () => {
      const key = await createKey();
      await admin.send(
        new CreateGrantCommand({
          KeyId: key.KeyId,
          GranteePrincipal: AUDITOR,
          Operations: ['CreateGrant', 'Decrypt'],
          Constraints: { EncryptionContextSubset: { tenant: 'acme' } },
        }),
      );
      const wider = { KeyId: key.KeyId, GranteePrincipal: APP };
      await assert.rejects(
        auditor.send(new CreateGrantCommand({ ...wider, Operations: ['Decrypt', 'Encrypt'], Constraints: { EncryptionContextEquals: { tenant: 'acme' } } })),
        { name: 'AccessDeniedException' },
      );
      await assert.rejects(auditor.send(new CreateGrantCommand({ ...wider, Operations: ['Decrypt'] })), { name: 'AccessDeniedException' });
      await assert.rejects(
        auditor.send(new CreateGrantCommand({ ...wider, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { tenant: 'other' } } })),
        { name: 'AccessDeniedException' },
      );
      await auditor.send(new CreateGrantCommand({ ...wider, Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: { tenant: 'acme' } } }));
      const exact = await encrypt(admin, key.KeyId, { tenant: 'acme' });
      const more = await encrypt(admin, key.KeyId, { tenant: 'acme', file: 'b.txt' });
      assert.equal(
        Buffer.from((await app.send(new DecryptCommand({ CiphertextBlob: exact, EncryptionContext: { tenant: 'acme' } }))).Plaintext!).toString(),
        'payroll',
      );
      await assert.rejects(
        app.send(new DecryptCommand({ CiphertextBlob: more, EncryptionContext: { tenant: 'acme', file: 'b.txt' } })),
        denied(APP, 'Decrypt', key.Arn, noIdentityPolicy('Decrypt')),
      );
    });

    it('refuse operations the key cannot perform', async () => {
      const key = await createKey();
      await assert.rejects(admin.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: APP, Operations: ['Sign'] })), {
        name: 'ValidationException',
      });
    });
  });
});
