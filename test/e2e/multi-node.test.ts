import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  ListResourceTagsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateKeyDescriptionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { backgroundJobs, freshSchema, requirePostgres, startNode, type RegionNode, type TestSchema } from './postgres-harness.ts';

const serverUrl = requirePostgres('the multi-node tests');

if (serverUrl) {
  describe('two nodes of one region on one PostgreSQL database', () => {
    let schema: TestSchema;
    const dataDir = mkdtempSync(join(tmpdir(), 'concord-multi-node-'));
    const nodes: RegionNode[] = [];
    let one: KMSClient;
    let two: KMSClient;
    before(async () => {
      schema = await freshSchema(serverUrl);
      const common = { store: { kind: 'postgres' as const, url: schema.url }, dataDir, backgroundIntervalMs: 200, logLevel: 'debug' };
      nodes.push(await startNode({ ...common, name: 'node-1' }));
      nodes.push(await startNode({ ...common, name: 'node-2' }));
      [one, two] = nodes.map((node) => node.client()) as [KMSClient, KMSClient];
    });
    after(async () => {
      await Promise.all(nodes.map((node) => node.stop()));
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const tagsOf = async (KeyId: string) =>
      Object.fromEntries(((await one.send(new ListResourceTagsCommand({ KeyId, Limit: 50 }))).Tags ?? []).map((t) => [t.TagKey, t.TagValue]));

    it('uses a key created through one node through the other at once', async () => {
      const { KeyMetadata } = await one.send(new CreateKeyCommand({ Description: 'made on node 1' }));
      const KeyId = KeyMetadata!.KeyId!;
      const { CiphertextBlob } = await two.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('across nodes') }));
      const { Plaintext } = await one.send(new DecryptCommand({ CiphertextBlob }));
      assert.equal(Buffer.from(Plaintext!).toString(), 'across nodes');
      assert.equal((await two.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata?.Description, 'made on node 1');
    });

    it('refuses Encrypt through one node as soon as the other disables the key', async () => {
      const KeyId = (await two.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      await two.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
      await one.send(new DisableKeyCommand({ KeyId }));
      await assert.rejects(two.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })), { name: 'DisabledException' });
      await two.send(new EnableKeyCommand({ KeyId }));
      await one.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
    });

    it('keeps all of 20 concurrent TagResource calls spread over both nodes', async () => {
      const KeyId = (await one.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? one : two).send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: `tag-${i}`, TagValue: String(i) }] })),
        ),
      );
      const tags = await tagsOf(KeyId);
      assert.deepEqual(Object.keys(tags).sort(), Array.from({ length: 20 }, (_, i) => `tag-${i}`).sort());
    });

    it('loses no change when tags, description and state change through both nodes at once', async () => {
      const KeyId = (await one.send(new CreateKeyCommand({ Description: 'before' }))).KeyMetadata!.KeyId!;
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? two : one).send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: `t${i}`, TagValue: 'v' }] })),
        ),
        two.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'after' })),
        one.send(new DisableKeyCommand({ KeyId })),
      ]);
      const described = (await two.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
      assert.equal(described.Description, 'after');
      assert.equal(described.KeyState, 'Disabled');
      assert.equal(Object.keys(await tagsOf(KeyId)).length, 10);

      await Promise.all([
        two.send(new EnableKeyCommand({ KeyId })),
        ...Array.from({ length: 5 }, (_, i) => (i % 2 === 0 ? one : two).send(new UntagResourceCommand({ KeyId, TagKeys: [`t${i}`] }))),
        one.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'last' })),
      ]);
      const final = (await one.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
      assert.equal(final.KeyState, 'Enabled');
      assert.equal(final.Description, 'last');
      assert.deepEqual(Object.keys(await tagsOf(KeyId)).sort(), ['t5', 't6', 't7', 't8', 't9']);
    });

    it('runs each background job on one node only, the other leaving it', async () => {
      const [first, second] = nodes as [RegionNode, RegionNode];
      let jobs: string[] = [];
      const settled = () => {
        const [a, b] = [backgroundJobs(first), backgroundJobs(second)];
        jobs = [...new Set([...a.ran, ...a.left, ...b.ran, ...b.left])];
        return jobs.length > 0 && jobs.every((job) => (a.ran.has(job) && b.left.has(job)) || (b.ran.has(job) && a.left.has(job)));
      };
      const deadline = Date.now() + 10000;
      while (!settled() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(jobs.includes('deletion sweeper'), `jobs seen: ${jobs.join(', ')}`);
      for (const job of jobs) {
        const ranOn = nodes.filter((node) => backgroundJobs(node).ran.has(job)).map((node) => node.name);
        assert.equal(ranOn.length, 1, `${job} ran on ${ranOn.join(' and ') || 'no node'}`);
        const other = nodes.find((node) => node.name !== ranOn[0])!;
        assert.ok(backgroundJobs(other).left.has(job), `${other.name} left ${job} to ${ranOn[0]}`);
      }
    });
  });
}
