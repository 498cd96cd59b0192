import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CreateKeyCommand, DescribeKeyCommand, KMSClient, ReplicateKeyCommand } from '@aws-sdk/client-kms';
import { eventually } from './eventually.ts';
import { isolatedAwsEnv } from './isolated-aws-env.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';

const [EAST, WEST] = ['us-east-1', 'us-west-2'] as const;
const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

describe("every region of the deployment through any region's endpoint", () => {
  let dev: DevDeployment;
  before(async () => {
    dev = await startDev({ regions: [EAST, WEST] });
  });
  after(async () => {
    await dev.stop();
  });

  /** An SDK client signing for `region` that sends to `endpointRegion`'s endpoint. */
  const client = (region: string, endpointRegion: string) => new KMSClient({ region, endpoint: dev.endpoint(endpointRegion), credentials, maxAttempts: 1 });

  it("serves a request signed for the second region at the first region's endpoint as the second region", async () => {
    const { KeyMetadata } = await client(WEST, EAST).send(new CreateKeyCommand({ Description: 'made through the first endpoint' }));
    assert.match(KeyMetadata!.Arn!, new RegExp(`^arn:aws:kms:${WEST}:`));
    assert.equal(
      (await dev.client(WEST).send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).KeyMetadata?.Description,
      'made through the first endpoint',
    );
    await assert.rejects(dev.client(EAST).send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId })), { name: 'NotFoundException' });
  });

  it("replicates as Terraform does: ReplicateKey signed for the primary's region, sent to the replica region's endpoint", async () => {
    const KeyId = (await dev.client(EAST).send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.KeyId!;
    const answer = await client(EAST, WEST).send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST }));
    assert.equal(answer.ReplicaKeyMetadata?.Arn, `arn:aws:kms:${WEST}:111122223333:key/${KeyId}`);
    await eventually(async () => {
      assert.equal((await dev.client(WEST).send(new DescribeKeyCommand({ KeyId }))).KeyMetadata?.KeyState, 'Enabled');
    });
  });

  it('lets the AWS CLI use one AWS_ENDPOINT_URL with any --region of the deployment, and names the regions for any other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-any-region-'));
    const aws = (region: string) =>
      promisify(execFile)('aws', ['kms', 'create-key', '--region', region, '--output', 'json'], {
        env: isolatedAwsEnv(dir, { AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY, AWS_ENDPOINT_URL: dev.endpoint(EAST) }),
      });
    for (const region of [EAST, WEST]) {
      const { stdout } = await aws(region);
      assert.match((JSON.parse(stdout) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn, new RegExp(`^arn:aws:kms:${region}:`));
    }
    await assert.rejects(aws('ap-south-1'), (error: { stderr: string }) => {
      assert.match(error.stderr, /InvalidSignatureException/);
      assert.ok(error.stderr.includes(`This deployment's regions: ${EAST} (this endpoint), ${WEST} (${dev.endpoint(WEST)}).`), error.stderr);
      return true;
    });
  });
});
