import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { SoftwareCryptoUnit } from '../../src/cryptounits/index.ts';
import { KeyService } from '../../src/kms/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { ACCOUNT, startDev } from './harness.ts';
import { devAdministrator, tkeOk } from './tke-harness.ts';
import { eventually } from './eventually.ts';

describe('crypto units of concord dev', () => {
  it('adopts the master key of an existing single-file unit through the ceremony, so old ciphertext still decrypts, and removes the file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'concord-dev-units-'));
    const legacyFile = join(dataDir, 'us-east-1', 'crypto-unit.json');
    // A region as Concord before crypto units left it: its store, and its master key in a single file.
    const store = new SqliteStore(join(dataDir, 'us-east-1', 'keys.db'));
    const legacy = new KeyService({ region: 'us-east-1', account: ACCOUNT, store, unit: SoftwareCryptoUnit.openOrInit(legacyFile) });
    const root = { account: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root` };
    const keyId = ((await legacy.call('CreateKey', {}, root)).KeyMetadata as { KeyId: string }).KeyId;
    const blob = (await legacy.call('Encrypt', { KeyId: keyId, Plaintext: Buffer.from('from the old layout') }, root)).CiphertextBlob as Buffer;
    await store.close();
    assert.equal(existsSync(legacyFile), true);

    const dev = await startDev({ regions: ['us-east-1'], dataDir });
    try {
      const out = await dev.client().send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.equal(Buffer.from(out.Plaintext!).toString(), 'from the old layout');
      assert.equal(existsSync(legacyFile), false);
      const { workspace, password } = devAdministrator(dev);
      const listing = await tkeOk(workspace, ['cryptounit-list', '--endpoint', dev.endpoint()], password);
      const patterns = [...listing.matchAll(/us-east-1-(op|rec)-1 .* normal +admins 1 thresholds 1\/1 current valid ([0-9a-f]{16})/g)].map((m) => m[2]);
      assert.equal(patterns.length, 2, listing);
      assert.equal(patterns[0], patterns[1]);
      // The log reaches the test on stdout, apart from the start banner on stderr.
      await eventually(() => {
        assert.match(dev.output(), /Loaded the master key [0-9a-f]{16} of a single-file crypto unit into recovery unit us-east-1-rec-1/);
      });
    } finally {
      await dev.stop();
    }
  });

  it('starts a fresh deployment through a ceremony signed by its administrator, whom concord tke then signs as', async () => {
    const dev = await startDev({ regions: ['us-east-1', 'us-west-2'] });
    const { workspace, password } = devAdministrator(dev);
    try {
      for (const region of dev.regions) {
        const keyId = (await dev.client(region).send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
        const blob = (await dev.client(region).send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(region) }))).CiphertextBlob!;
        assert.equal(Buffer.from((await dev.client(region).send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), region);
        const listing = await tkeOk(workspace, ['cryptounit-list', '--endpoint', dev.endpoint(region)], password);
        assert.match(listing, new RegExp(`${region}-op-1 +operational +software +normal +admins 1 thresholds 1/1 current valid`));
        assert.match(listing, new RegExp(`${region}-rec-1 +recovery +software +normal +admins 1 thresholds 1/1 current valid`));
        await tkeOk(workspace, ['cryptounit-add', '--endpoint', dev.endpoint(region), '--all'], password);
      }
      assert.match(await tkeOk(workspace, ['cryptounit-admin-list'], password), /dev-admin +[0-9a-f]{16}  \(signature key 'dev-admin' in the workspace\)/);

      const sealed = (
        await dev
          .client()
          .send(new EncryptCommand({ KeyId: (await dev.client().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!, Plaintext: Buffer.from('rotated') }))
      ).CiphertextBlob!;
      await tkeOk(workspace, ['cryptounit-rm', '--unit', 'us-west-2-op-1,us-west-2-rec-1'], password);
      assert.match(await tkeOk(workspace, ['auto-mk-rotate'], password), /Master key rotated: [0-9a-f]{16} is current in 2 crypto unit\(s\)/);
      await dev.restart();
      assert.equal(devAdministrator(dev).password, password);
      assert.equal(Buffer.from((await dev.client().send(new DecryptCommand({ CiphertextBlob: sealed }))).Plaintext!).toString(), 'rotated');
      // The restart found the units set up: no ceremony ran again (four units, two regions, before it).
      await eventually(() => {
        assert.match(dev.output(), /crypto units open[^]*crypto units open[^]*crypto units open[^]*crypto units open/);
      });
      assert.equal(dev.output().match(/left imprint mode/g)?.length, 4);
      assert.equal(dev.output().match(/Created a new master key/g)?.length, 2);
    } finally {
      await dev.stop();
    }
  });
});
