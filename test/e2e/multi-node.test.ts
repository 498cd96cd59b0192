import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
} from '@aws-sdk/client-kms';
import { backgroundJobs, requirePostgres, twoNodes, type RegionNode } from './postgres-harness.ts';

const serverUrl = requirePostgres('the multi-node tests');

if (serverUrl) {
  describe('two nodes of one region on one PostgreSQL database', () => {
    const cluster = twoNodes(serverUrl, 'concord-multi-node-', () => ({ backgroundIntervalMs: 200, logLevel: 'debug' }));

    const tagsOf = async (KeyId: string) =>
      Object.fromEntries(((await cluster.one.send(new ListResourceTagsCommand({ KeyId, Limit: 50 }))).Tags ?? []).map((t) => [t.TagKey!, t.TagValue]));

    it('uses a key created through one node through the other at once', async () => {
      const { KeyMetadata } = await cluster.one.send(new CreateKeyCommand({ Description: 'made on node 1' }));
      const KeyId = KeyMetadata!.KeyId!;
      const { CiphertextBlob } = await cluster.two.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('across nodes') }));
      const { Plaintext } = await cluster.one.send(new DecryptCommand({ CiphertextBlob }));
      assert.equal(Buffer.from(Plaintext!).toString(), 'across nodes');
      assert.equal((await cluster.two.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata?.Description, 'made on node 1');
    });

    it('refuses Encrypt through one node as soon as the other disables the key', async () => {
      const KeyId = (await cluster.two.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      await cluster.two.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
      await cluster.one.send(new DisableKeyCommand({ KeyId }));
      await assert.rejects(cluster.two.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })), { name: 'DisabledException' });
      await cluster.two.send(new EnableKeyCommand({ KeyId }));
      await cluster.one.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
    });

    it('keeps all of 20 concurrent TagResource calls spread over both nodes', async () => {
      const KeyId = (await cluster.one.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? cluster.one : cluster.two).send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: `tag-${i}`, TagValue: String(i) }] })),
        ),
      );
      const tags = await tagsOf(KeyId);
      assert.deepEqual(Object.keys(tags).sort(), Array.from({ length: 20 }, (_, i) => `tag-${i}`).sort());
    });

    it('loses no change when tags, description and state change through both nodes at once', async () => {
      const KeyId = (await cluster.one.send(new CreateKeyCommand({ Description: 'before' }))).KeyMetadata!.KeyId!;
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? cluster.two : cluster.one).send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: `t${i}`, TagValue: 'v' }] })),
        ),
        cluster.two.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'after' })),
        cluster.one.send(new DisableKeyCommand({ KeyId })),
      ]);
      const described = (await cluster.two.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
      assert.equal(described.Description, 'after');
      assert.equal(described.KeyState, 'Disabled');
      assert.equal(Object.keys(await tagsOf(KeyId)).length, 10);

      await Promise.all([
        cluster.two.send(new EnableKeyCommand({ KeyId })),
        ...Array.from({ length: 5 }, (_, i) => (i % 2 === 0 ? cluster.one : cluster.two).send(new UntagResourceCommand({ KeyId, TagKeys: [`t${i}`] }))),
        cluster.one.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'last' })),
      ]);
      const final = (await cluster.one.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
      assert.equal(final.KeyState, 'Enabled');
      assert.equal(final.Description, 'last');
      assert.deepEqual(Object.keys(await tagsOf(KeyId)).sort(), ['t5', 't6', 't7', 't8', 't9']);
    });

    it('runs each background job on one node only, the other leaving it', async () => {
      const [first, second] = cluster.nodes as [RegionNode, RegionNode];
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
        const ranOn = cluster.nodes.filter((node) => backgroundJobs(node).ran.has(job)).map((node) => node.name);
        assert.equal(ranOn.length, 1, `${job} ran on ${ranOn.join(' and ') || 'no node'}`);
        const other = cluster.nodes.find((node) => node.name !== ranOn[0])!;
        assert.ok(backgroundJobs(other).left.has(job), `${other.name} left ${job} to ${ranOn[0]}`);
      }
    });
  });
}
