import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { ACCOUNT, rawRequest, startDev, type DevDeployment } from '../e2e/harness.ts';

const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const KEY_POLICY_QUOTA = 32 * 1024;
/** A regular expression compiled from it backtracks through every way of placing ten stars. */
const BACKTRACKING_PATTERN = '*a*a*a*a*a*a*a*a*a*a*b';

const rootDelegation = { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' };
const policy = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
/** A valid key policy of exactly `bytes` bytes: the root delegation, its Sid padded. */
const policyOfSize = (bytes: number): string => {
  const bare = policy({ ...rootDelegation, Sid: '' });
  return policy({ ...rootDelegation, Sid: 'x'.repeat(bytes - Buffer.byteLength(bare)) });
};

describe('hostile input: bounded work, bounded sizes', () => {
  let dev: DevDeployment;
  let kms: KMSClient;

  before(async () => {
    dev = await startDev({ regions: ['us-east-1', 'us-west-2'] });
    kms = dev.client();
  });
  after(async () => {
    await dev.stop();
  });

  const createKey = async (Policy?: string, MultiRegion?: boolean): Promise<string> =>
    (await kms.send(new CreateKeyCommand({ Policy, MultiRegion }))).KeyMetadata!.KeyId!;

  // A generous timeout: the old regular expression did not answer this within hours, the matcher within milliseconds.
  it('answers a StringLike condition with a backtracking pattern against a 4 KiB context value', { timeout: 120_000 }, async () => {
    const KeyId = await createKey(
      policy(rootDelegation, {
        Sid: 'Encrypt only documents whose name matches',
        Effect: 'Deny',
        Principal: '*',
        Action: 'kms:Encrypt',
        Resource: '*',
        Condition: { StringNotLike: { 'kms:EncryptionContext:document': BACKTRACKING_PATTERN } },
      }),
    );
    const encrypt = (document: string) => kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x'), EncryptionContext: { document } }));

    await assert.rejects(encrypt('a'.repeat(4096)), {
      name: 'AccessDeniedException',
      message: `User: ${ADMIN} is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:${ACCOUNT}:key/${KeyId} with an explicit deny in a resource-based policy`,
    });
    assert.ok((await encrypt(`${'a'.repeat(4095)}b`)).CiphertextBlob);
    // The region still answers everyone else.
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState, 'Enabled');
  });

  it('refuses a key policy over 32 KiB in CreateKey and PutKeyPolicy with LimitExceededException', async () => {
    const oversized = policyOfSize(KEY_POLICY_QUOTA + 1);
    await assert.rejects(kms.send(new CreateKeyCommand({ Policy: oversized })), { name: 'LimitExceededException' });

    const KeyId = await createKey(policyOfSize(KEY_POLICY_QUOTA));
    await assert.rejects(kms.send(new PutKeyPolicyCommand({ KeyId, PolicyName: 'default', Policy: oversized })), { name: 'LimitExceededException' });
    assert.equal(Buffer.byteLength((await kms.send(new GetKeyPolicyCommand({ KeyId, PolicyName: 'default' }))).Policy!), KEY_POLICY_QUOTA);
  });

  it('refuses a key policy over 32 KiB for a new replica in ReplicateKey', async () => {
    const KeyId = await createKey(undefined, true);
    await assert.rejects(kms.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: 'us-west-2', Policy: policyOfSize(KEY_POLICY_QUOTA + 1) })), {
      name: 'LimitExceededException',
    });
  });

  it('refuses an encryption context of more than 8192 characters', async () => {
    const KeyId = await createKey();
    const encrypt = (EncryptionContext: Record<string, string>) => kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x'), EncryptionContext }));
    assert.ok((await encrypt({ k: 'v'.repeat(8191) })).CiphertextBlob);
    await assert.rejects(encrypt({ k: 'v'.repeat(8192) }), {
      name: 'ValidationException',
      message: /at 'encryptionContext' failed to satisfy constraint: Member must have keys and values of total length less than or equal to 8192$/,
    });
    const manyPairs = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key-${i}`, 'value']));
    await assert.rejects(encrypt(manyPairs), { name: 'ValidationException' });
  });

  it('keeps an encryption context pair named __proto__ bound to the ciphertext and in a grant constraint, instead of dropping it', async () => {
    const KeyId = await createKey();
    // Written by hand: a JavaScript object literal cannot hold an own __proto__ member, JSON can.
    const call = (operation: string, body: string) => rawRequest(dev.endpoint(), { operation, body });
    const encrypted = await call('Encrypt', `{"KeyId":"${KeyId}","Plaintext":"c2VjcmV0","EncryptionContext":{"__proto__":"tenant-a"}}`);
    assert.equal(encrypted.status, 200, encrypted.text);
    const blob = String(encrypted.json.CiphertextBlob);
    for (const context of ['', ',"EncryptionContext":{"__proto__":"tenant-b"}']) {
      const refused = await call('Decrypt', `{"CiphertextBlob":"${blob}"${context}}`);
      assert.equal(refused.json.__type, 'InvalidCiphertextException', `Decrypt with ${context || 'no context'}: ${refused.text}`);
    }
    const decrypted = await call('Decrypt', `{"CiphertextBlob":"${blob}","EncryptionContext":{"__proto__":"tenant-a"}}`);
    assert.equal(decrypted.json.Plaintext, 'c2VjcmV0');

    const granted = await call(
      'CreateGrant',
      `{"KeyId":"${KeyId}","GranteePrincipal":"${ADMIN}","Operations":["Decrypt"],"Constraints":{"EncryptionContextSubset":{"__proto__":"tenant-a"}}}`,
    );
    assert.equal(granted.status, 200, granted.text);
    const listed = await call('ListGrants', `{"KeyId":"${KeyId}"}`);
    assert.equal(listed.text.includes('"Constraints":{"EncryptionContextSubset":{"__proto__":"tenant-a"}}'), true, listed.text);
  });

  it('refuses a grant constraint of more than 8 pairs or 384 characters', async () => {
    const KeyId = await createKey();
    const grant = (Constraints: object) => kms.send(new CreateGrantCommand({ KeyId, GranteePrincipal: ADMIN, Operations: ['Decrypt'], Constraints }));
    const pairs = (count: number, valueLength: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v'.repeat(valueLength)]));

    assert.ok((await grant({ EncryptionContextSubset: pairs(8, 40) })).GrantId);
    await assert.rejects(grant({ EncryptionContextSubset: pairs(9, 1) }), {
      name: 'ValidationException',
      message: /at 'constraints.encryptionContextSubset' failed to satisfy constraint: Member must have length less than or equal to 8$/,
    });
    await assert.rejects(grant({ EncryptionContextEquals: pairs(1, 400) }), {
      name: 'ValidationException',
      message:
        /at 'constraints.encryptionContextEquals' failed to satisfy constraint: Member must have keys and values of total length less than or equal to 384$/,
    });
  });
});
