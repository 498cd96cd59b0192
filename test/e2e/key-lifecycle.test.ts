import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  ListAliasesCommand,
  ListKeyPoliciesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { ACCOUNT, startDev, type DevDeployment } from './harness.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const UNKNOWN_KEY = '00000000-1111-2222-3333-444444444444';
const ROOT_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
});

describe('key lifecycle through the AWS SDK', () => {
  let dev: DevDeployment;
  let kms: KMSClient;
  const newKey = async (input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) => (await kms.send(new CreateKeyCommand(input))).KeyMetadata!;
  const stateOf = async (KeyId: string) => (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState;

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
    kms = dev.client();
  });
  after(async () => {
    await dev.stop();
  });

  describe('CreateKey and DescribeKey', () => {
    it('stores the description, tags and policy a key is created with', async () => {
      const key = await newKey({ Description: 'payroll', Tags: [{ TagKey: 'team', TagValue: 'finance' }], Policy: ROOT_POLICY });
      assert.equal(key.Description, 'payroll');
      assert.equal(key.KeyUsage, 'ENCRYPT_DECRYPT');
      assert.equal(key.Origin, 'AWS_KMS');
      assert.equal(key.KeyState, 'Enabled');
      assert.equal(key.Enabled, true);
      assert.equal(key.MultiRegion, false);
      assert.equal(key.AWSAccountId, ACCOUNT);
      assert.equal(key.Arn, `arn:aws:kms:us-east-1:${ACCOUNT}:key/${key.KeyId}`);
      assert.match(key.KeyId!, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      const tags = await kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
      assert.deepEqual(tags.Tags, [{ TagKey: 'team', TagValue: 'finance' }]);
      const stored = await kms.send(new GetKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default' }));
      assert.deepEqual(JSON.parse(stored.Policy!), JSON.parse(ROOT_POLICY));
    });

    it('accepts an explicit ENCRYPT_DECRYPT key usage and refuses one the key spec cannot have', async () => {
      assert.equal((await newKey({ KeyUsage: 'ENCRYPT_DECRYPT' })).KeyUsage, 'ENCRYPT_DECRYPT');
      await assert.rejects(kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY' })), { name: 'ValidationException' });
    });

    it('creates a key with origin EXTERNAL in the PendingImport state', async () => {
      const key = await newKey({ Origin: 'EXTERNAL' });
      assert.equal(key.Origin, 'EXTERNAL');
      assert.equal(key.KeyState, 'PendingImport');
      assert.equal(key.Enabled, false);
    });

    it('refuses more than 50 tags at creation with LimitExceededException', async () => {
      const Tags = Array.from({ length: 51 }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' }));
      await assert.rejects(kms.send(new CreateKeyCommand({ Tags })), { name: 'LimitExceededException' });
    });

    it('describes a key by key ID, key ARN, alias name and alias ARN', async () => {
      const key = await newKey({ Description: 'four names' });
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/four-names', TargetKeyId: key.KeyId }));
      for (const KeyId of [key.KeyId!, key.Arn!, 'alias/four-names', `arn:aws:kms:us-east-1:${ACCOUNT}:alias/four-names`]) {
        const described = await kms.send(new DescribeKeyCommand({ KeyId }));
        assert.equal(described.KeyMetadata?.KeyId, key.KeyId, KeyId);
        assert.equal(described.KeyMetadata?.Description, 'four names');
      }
    });

    it('answers NotFoundException for unknown keys, unknown aliases, malformed IDs and other regions', async () => {
      for (const KeyId of [
        UNKNOWN_KEY,
        'alias/no-such-alias',
        'not-a-key-id',
        `arn:aws:kms:us-east-1:${ACCOUNT}:key/${UNKNOWN_KEY}`,
        `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${UNKNOWN_KEY}`,
      ]) {
        await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId })), { name: 'NotFoundException' }, KeyId);
      }
    });
  });

  it('pages through ListKeys with Limit and Marker without repeating or losing a key', async () => {
    const created = new Set<string>();
    for (let i = 0; i < 7; i += 1) created.add((await newKey()).KeyId!);
    const seen: string[] = [];
    let Marker: string | undefined;
    let pages = 0;
    do {
      const page = await kms.send(new ListKeysCommand({ Limit: 3, Marker }));
      assert.ok(page.Keys!.length <= 3);
      for (const entry of page.Keys!) {
        assert.equal(entry.KeyArn, `arn:aws:kms:us-east-1:${ACCOUNT}:key/${entry.KeyId}`);
        seen.push(entry.KeyId!);
      }
      assert.equal(page.Truncated, page.NextMarker !== undefined);
      Marker = page.NextMarker;
      pages += 1;
    } while (Marker !== undefined);
    assert.ok(pages >= 3);
    assert.equal(new Set(seen).size, seen.length);
    for (const keyId of created) assert.ok(seen.includes(keyId));
    const everything = await kms.send(new ListKeysCommand({}));
    assert.deepEqual(
      everything.Keys!.map((k) => k.KeyId),
      seen,
    );
  });

  it('updates a key description', async () => {
    const key = await newKey({ Description: 'before' });
    await kms.send(new UpdateKeyDescriptionCommand({ KeyId: key.KeyId, Description: 'after' }));
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.Description, 'after');
  });

  it('disables and enables a key, and both are idempotent', async () => {
    const { KeyId } = await newKey();
    await kms.send(new DisableKeyCommand({ KeyId }));
    await kms.send(new DisableKeyCommand({ KeyId }));
    const disabled = (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
    assert.equal(disabled.KeyState, 'Disabled');
    assert.equal(disabled.Enabled, false);
    await kms.send(new EnableKeyCommand({ KeyId }));
    await kms.send(new EnableKeyCommand({ KeyId }));
    assert.equal(await stateOf(KeyId!), 'Enabled');
  });

  describe('ScheduleKeyDeletion and CancelKeyDeletion', () => {
    it('schedules deletion 30 days ahead by default', async () => {
      const { KeyId, Arn } = await newKey();
      const before = Date.now();
      const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId }));
      assert.equal(scheduled.KeyId, Arn);
      assert.equal(scheduled.KeyState, 'PendingDeletion');
      assert.equal(scheduled.PendingWindowInDays, 30);
      const deletion = scheduled.DeletionDate!.getTime();
      assert.ok(deletion >= before + 30 * DAY_MS - 2000 && deletion <= Date.now() + 30 * DAY_MS + 2000);
      const described = (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
      assert.equal(described.KeyState, 'PendingDeletion');
      assert.equal(described.DeletionDate?.getTime(), deletion);
    });

    it('accepts waiting periods of 7 and 30 days', async () => {
      for (const days of [7, 30]) {
        const { KeyId } = await newKey();
        const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: days }));
        assert.equal(scheduled.PendingWindowInDays, days);
        assert.ok(Math.abs(scheduled.DeletionDate!.getTime() - (Date.now() + days * DAY_MS)) < 5000);
      }
    });

    it('refuses waiting periods of 6 and 31 days with ValidationException and leaves the key enabled', async () => {
      const { KeyId } = await newKey();
      for (const days of [6, 31]) {
        await assert.rejects(kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: days })), {
          name: 'ValidationException',
          message: /1 validation error detected: .*pendingWindowInDays/,
        });
      }
      assert.equal(await stateOf(KeyId!), 'Enabled');
    });

    it('cancels a scheduled deletion, leaving the key Disabled without a deletion date', async () => {
      const { KeyId, Arn } = await newKey();
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      const cancelled = await kms.send(new CancelKeyDeletionCommand({ KeyId }));
      assert.equal(cancelled.KeyId, Arn);
      const described = (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
      assert.equal(described.KeyState, 'Disabled');
      assert.equal(described.DeletionDate, undefined);
      await kms.send(new EnableKeyCommand({ KeyId }));
      assert.equal(await stateOf(KeyId!), 'Enabled');
    });
  });

  describe('the key state table', () => {
    const plaintext = Buffer.from('key state table');

    it('answers DisabledException for cryptography with a Disabled key and allows management', async () => {
      const { KeyId } = await newKey();
      const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId, Plaintext: plaintext }));
      const { KeyId: otherKey } = await newKey();
      await kms.send(new DisableKeyCommand({ KeyId }));
      for (const command of [
        new EncryptCommand({ KeyId, Plaintext: plaintext }),
        new DecryptCommand({ CiphertextBlob }),
        new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' }),
        new ReEncryptCommand({ CiphertextBlob, DestinationKeyId: otherKey }),
      ]) {
        await assert.rejects(kms.send(command as never), { name: 'DisabledException' }, command.constructor.name);
      }
      await assert.rejects(kms.send(new CancelKeyDeletionCommand({ KeyId })), { name: 'KMSInvalidStateException' });
      await kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'still manageable' }));
      await kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'state', TagValue: 'disabled' }] }));
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/disabled-key', TargetKeyId: KeyId }));
      await kms.send(new PutKeyPolicyCommand({ KeyId, PolicyName: 'default', Policy: ROOT_POLICY }));
      assert.equal(await stateOf(KeyId!), 'Disabled');
    });

    it('answers KMSInvalidStateException for a key pending deletion, except the operations AWS allows, and moves aliases only away from it', async () => {
      const { KeyId } = await newKey();
      const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId, Plaintext: plaintext }));
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/pending-deletion', TargetKeyId: KeyId }));
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/pending-deletion-moved', TargetKeyId: KeyId }));
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      const { KeyId: otherKey } = await newKey();
      for (const command of [
        new EncryptCommand({ KeyId, Plaintext: plaintext }),
        new DecryptCommand({ CiphertextBlob }),
        new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' }),
        new ReEncryptCommand({ CiphertextBlob, DestinationKeyId: otherKey }),
        new EnableKeyCommand({ KeyId }),
        new DisableKeyCommand({ KeyId }),
        new UpdateKeyDescriptionCommand({ KeyId, Description: 'x' }),
        new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'a', TagValue: 'b' }] }),
        new UntagResourceCommand({ KeyId, TagKeys: ['a'] }),
        new CreateAliasCommand({ AliasName: 'alias/too-late', TargetKeyId: KeyId }),
        new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }),
      ]) {
        await assert.rejects(kms.send(command as never), { name: 'KMSInvalidStateException', message: /pending deletion/ }, command.constructor.name);
      }
      await kms.send(new GetKeyPolicyCommand({ KeyId, PolicyName: 'default' }));
      await kms.send(new PutKeyPolicyCommand({ KeyId, PolicyName: 'default', Policy: ROOT_POLICY }));
      await kms.send(new ListResourceTagsCommand({ KeyId }));
      await kms.send(new ListKeyPoliciesCommand({ KeyId }));
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/elsewhere', TargetKeyId: otherKey }));
      await assert.rejects(kms.send(new UpdateAliasCommand({ AliasName: 'alias/elsewhere', TargetKeyId: KeyId })), {
        name: 'KMSInvalidStateException',
      });
      await kms.send(new UpdateAliasCommand({ AliasName: 'alias/pending-deletion-moved', TargetKeyId: otherKey }));
      assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/pending-deletion-moved' }))).KeyMetadata?.KeyId, otherKey);
      await kms.send(new DeleteAliasCommand({ AliasName: 'alias/pending-deletion' }));
      assert.equal(await stateOf(KeyId!), 'PendingDeletion');
    });

    it('answers KMSInvalidStateException for a key pending import, which may still be managed and scheduled for deletion', async () => {
      const { KeyId } = await newKey({ Origin: 'EXTERNAL' });
      for (const command of [
        new EncryptCommand({ KeyId, Plaintext: plaintext }),
        new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' }),
        new EnableKeyCommand({ KeyId }),
        new DisableKeyCommand({ KeyId }),
        new CancelKeyDeletionCommand({ KeyId }),
      ]) {
        await assert.rejects(kms.send(command as never), { name: 'KMSInvalidStateException' }, command.constructor.name);
      }
      await kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'awaiting material' }));
      await kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'origin', TagValue: 'external' }] }));
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/pending-import', TargetKeyId: KeyId }));
      assert.equal(await stateOf(KeyId!), 'PendingImport');
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      assert.equal(await stateOf(KeyId!), 'PendingDeletion');
    });

    it('answers NotFoundException for every key operation on an unknown key', async () => {
      for (const command of [
        new EncryptCommand({ KeyId: UNKNOWN_KEY, Plaintext: plaintext }),
        new EnableKeyCommand({ KeyId: UNKNOWN_KEY }),
        new DisableKeyCommand({ KeyId: UNKNOWN_KEY }),
        new UpdateKeyDescriptionCommand({ KeyId: UNKNOWN_KEY, Description: 'x' }),
        new ScheduleKeyDeletionCommand({ KeyId: UNKNOWN_KEY }),
        new CancelKeyDeletionCommand({ KeyId: UNKNOWN_KEY }),
        new TagResourceCommand({ KeyId: UNKNOWN_KEY, Tags: [{ TagKey: 'a', TagValue: 'b' }] }),
        new ListResourceTagsCommand({ KeyId: UNKNOWN_KEY }),
        new GetKeyPolicyCommand({ KeyId: UNKNOWN_KEY }),
        new ListKeyPoliciesCommand({ KeyId: UNKNOWN_KEY }),
        new CreateAliasCommand({ AliasName: 'alias/for-nothing', TargetKeyId: UNKNOWN_KEY }),
        new ListAliasesCommand({ KeyId: UNKNOWN_KEY }),
      ]) {
        await assert.rejects(kms.send(command as never), { name: 'NotFoundException' }, command.constructor.name);
      }
    });
  });

  describe('aliases', () => {
    it('creates, lists, updates and deletes an alias', async () => {
      const first = await newKey();
      const second = await newKey();
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/app/primary', TargetKeyId: first.KeyId }));
      const listed = (await kms.send(new ListAliasesCommand({}))).Aliases!.find((a) => a.AliasName === 'alias/app/primary');
      assert.equal(listed?.TargetKeyId, first.KeyId);
      assert.equal(listed?.AliasArn, `arn:aws:kms:us-east-1:${ACCOUNT}:alias/app/primary`);
      assert.ok(listed.CreationDate instanceof Date);

      await kms.send(new UpdateAliasCommand({ AliasName: 'alias/app/primary', TargetKeyId: second.Arn }));
      assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/app/primary' }))).KeyMetadata?.KeyId, second.KeyId);

      await kms.send(new DeleteAliasCommand({ AliasName: 'alias/app/primary' }));
      await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId: 'alias/app/primary' })), { name: 'NotFoundException' });
      const after = (await kms.send(new ListAliasesCommand({}))).Aliases!;
      assert.equal(
        after.some((a) => a.AliasName === 'alias/app/primary'),
        false,
      );
      await assert.rejects(kms.send(new DeleteAliasCommand({ AliasName: 'alias/app/primary' })), { name: 'NotFoundException' });
      await assert.rejects(kms.send(new UpdateAliasCommand({ AliasName: 'alias/app/primary', TargetKeyId: first.KeyId })), {
        name: 'NotFoundException',
      });
    });

    it('refuses an alias name that exists, is reserved, or lacks the alias/ prefix', async () => {
      const { KeyId } = await newKey();
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: KeyId }));
      await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: KeyId })), { name: 'AlreadyExistsException' });
      await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: KeyId })), {
        name: 'InvalidAliasNameException',
      });
      await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'no-prefix', TargetKeyId: KeyId })), { name: 'ValidationException' });
    });

    it('refuses an alias as the target of another alias', async () => {
      const { KeyId } = await newKey();
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/base', TargetKeyId: KeyId }));
      await assert.rejects(kms.send(new CreateAliasCommand({ AliasName: 'alias/chained', TargetKeyId: 'alias/base' })), {
        name: 'NotFoundException',
      });
    });

    it('lists only the aliases of one key when ListAliases names a KeyId, paging with Limit and Marker', async () => {
      const { KeyId, Arn } = await newKey();
      const names = ['alias/by-key/a', 'alias/by-key/b', 'alias/by-key/c'];
      for (const AliasName of names) await kms.send(new CreateAliasCommand({ AliasName, TargetKeyId: KeyId }));
      const all = (await kms.send(new ListAliasesCommand({ KeyId: Arn }))).Aliases!;
      assert.deepEqual(all.map((a) => a.AliasName).sort(), names);
      assert.ok(all.every((a) => a.TargetKeyId === KeyId));

      const paged: string[] = [];
      let Marker: string | undefined;
      do {
        const page = await kms.send(new ListAliasesCommand({ KeyId, Limit: 2, Marker }));
        paged.push(...page.Aliases!.map((a) => a.AliasName!));
        Marker = page.Truncated ? page.NextMarker : undefined;
      } while (Marker !== undefined);
      assert.deepEqual(paged.sort(), names);
    });
  });

  describe('tags', () => {
    it('tags, retags, untags and lists tags', async () => {
      const { KeyId } = await newKey();
      await kms.send(
        new TagResourceCommand({
          KeyId,
          Tags: [
            { TagKey: 'env', TagValue: 'dev' },
            { TagKey: 'owner', TagValue: 'ana' },
          ],
        }),
      );
      await kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'env', TagValue: 'prod' }] }));
      const tags = (await kms.send(new ListResourceTagsCommand({ KeyId }))).Tags!;
      assert.deepEqual(tags, [
        { TagKey: 'env', TagValue: 'prod' },
        { TagKey: 'owner', TagValue: 'ana' },
      ]);
      await kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['owner'] }));
      assert.deepEqual((await kms.send(new ListResourceTagsCommand({ KeyId }))).Tags, [{ TagKey: 'env', TagValue: 'prod' }]);
    });

    it('refuses the reserved aws: prefix with TagException', async () => {
      const { KeyId } = await newKey();
      await assert.rejects(kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'aws:owner', TagValue: 'me' }] })), { name: 'TagException' });
      await assert.rejects(kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'aws:owner', TagValue: 'me' }] })), { name: 'TagException' });
      assert.deepEqual((await kms.send(new ListResourceTagsCommand({ KeyId }))).Tags, []);
    });

    it('refuses a 51st tag with LimitExceededException and keeps the first 50', async () => {
      const { KeyId } = await newKey();
      const fifty = Array.from({ length: 50 }, (_, i) => ({ TagKey: `tag-${String(i).padStart(2, '0')}`, TagValue: String(i) }));
      await kms.send(new TagResourceCommand({ KeyId, Tags: fifty }));
      await assert.rejects(kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'one-more', TagValue: 'x' }] })), {
        name: 'LimitExceededException',
      });
      const listed = await kms.send(new ListResourceTagsCommand({ KeyId }));
      assert.equal(listed.Tags!.length, 50);
      assert.equal(
        listed.Tags!.some((t) => t.TagKey === 'one-more'),
        false,
      );
    });
  });

  describe('key policies', () => {
    it('gives a new key a default policy that lets the account root do everything', async () => {
      const { KeyId } = await newKey();
      const { Policy, PolicyName } = await kms.send(new GetKeyPolicyCommand({ KeyId }));
      assert.equal(PolicyName, 'default');
      const statements = (JSON.parse(Policy!) as { Statement: unknown }).Statement as { Effect: string; Principal: { AWS: string }; Action: string }[];
      assert.ok(statements.some((s) => s.Effect === 'Allow' && s.Principal.AWS === `arn:aws:iam::${ACCOUNT}:root` && s.Action === 'kms:*'));
      assert.deepEqual((await kms.send(new ListKeyPoliciesCommand({ KeyId }))).PolicyNames, ['default']);
    });

    it('replaces the policy with PutKeyPolicy', async () => {
      const { KeyId } = await newKey();
      const policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Sid: 'replaced', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
      });
      await kms.send(new PutKeyPolicyCommand({ KeyId, Policy: policy }));
      assert.equal(
        (JSON.parse((await kms.send(new GetKeyPolicyCommand({ KeyId, PolicyName: 'default' }))).Policy!) as { Statement: { Sid?: string }[] }).Statement[0]!
          .Sid,
        'replaced',
      );
    });

    it('refuses a malformed policy with MalformedPolicyDocumentException and keeps the old one', async () => {
      const { KeyId } = await newKey();
      const before = (await kms.send(new GetKeyPolicyCommand({ KeyId }))).Policy;
      for (const Policy of ['{not json', '["a list"]', '{"Version":"2012-10-17"}']) {
        await assert.rejects(kms.send(new PutKeyPolicyCommand({ KeyId, Policy })), { name: 'MalformedPolicyDocumentException' }, Policy);
      }
      await assert.rejects(kms.send(new CreateKeyCommand({ Policy: '{not json' })), { name: 'MalformedPolicyDocumentException' });
      assert.equal((await kms.send(new GetKeyPolicyCommand({ KeyId }))).Policy, before);
    });

    it('answers NotFoundException for a policy name other than default', async () => {
      const { KeyId } = await newKey();
      await assert.rejects(kms.send(new GetKeyPolicyCommand({ KeyId, PolicyName: 'other' })), { name: 'NotFoundException' });
    });
  });
});
