import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { startDev } from './harness.ts';
import { startServerRegion, tkeOk } from './tke-harness.ts';

describe('crypto units of concord dev', () => {
  it('adopts the master key of an existing single-file unit, so old ciphertext still decrypts, and removes the file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'concord-dev-units-'));
    const legacyFile = join(dataDir, 'us-east-1', 'crypto-unit.json');
    const legacy = await startServerRegion(join(dataDir), 'us-east-1', { cryptoUnit: { kind: 'software', path: legacyFile } });
    const keyId = (await legacy.client().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blob = (await legacy.client().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('from the old layout') }))).CiphertextBlob!;
    await legacy.stop();
    assert.equal(existsSync(legacyFile), true);

    const dev = await startDev({ regions: ['us-east-1'], dataDir });
    try {
      const out = await dev.client().send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.equal(Buffer.from(out.Plaintext!).toString(), 'from the old layout');
      assert.equal(existsSync(legacyFile), false);
      const listing = await tkeOk(join(dataDir, 'workspace'), ['cryptounit-list', '--endpoint', dev.endpoint()]);
      const patterns = [...listing.matchAll(/us-east-1-(op|rec)-1 .* imprint .* current valid ([0-9a-f]{16})/g)].map((m) => m[2]);
      assert.equal(patterns.length, 2, listing);
      assert.equal(patterns[0], patterns[1]);
    } finally {
      await dev.stop();
    }
  });

  it('starts a fresh deployment with a master key in one operational and one recovery unit per region', async () => {
    const dev = await startDev({ regions: ['us-east-1', 'us-west-2'] });
    try {
      for (const region of dev.regions) {
        const keyId = (await dev.client(region).send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
        const blob = (await dev.client(region).send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(region) }))).CiphertextBlob!;
        assert.equal(Buffer.from((await dev.client(region).send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), region);
        const listing = await tkeOk(join(dev.dataDir, 'workspace'), ['cryptounit-list', '--endpoint', dev.endpoint(region)]);
        assert.match(listing, new RegExp(`${region}-op-1 +operational +software +imprint`));
        assert.match(listing, new RegExp(`${region}-rec-1 +recovery +software +imprint`));
      }
    } finally {
      await dev.stop();
    }
  });
});
