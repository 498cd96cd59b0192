import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { softHsmToken } from './softhsm-token.ts';
import { startServerRegion, tkeOk, type ServerRegion } from './tke-harness.ts';

describe('a region whose operational crypto unit is a PKCS#11 token (SoftHSM2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-pkcs11-e2e-'));
  const workspace = join(dir, 'workspace');
  let region: ServerRegion | undefined;
  after(async () => region?.stop());

  it('goes through the ceremony, encrypts, and decrypts again after a restart', async () => {
    softHsmToken('concord-e2e', dir);
    const crypto = {
      cryptoUnits: {
        units: [
          { id: 'hsm-op', role: 'operational', kind: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'concord-e2e', pin: '1234' },
          { id: 'soft-rec', role: 'recovery', kind: 'software', dir: join(dir, 'rec') },
        ],
      },
    };
    region = await startServerRegion(dir, 'eu-west-1', crypto);
    for (const name of ['alice', 'bob']) await tkeOk(workspace, ['sigkey-add', '--name', name]);
    await tkeOk(workspace, ['cryptounit-add', '--endpoint', region.endpoint, '--all']);
    assert.match(await tkeOk(workspace, ['cryptounit-list', '--endpoint', region.endpoint]), /hsm-op +operational +pkcs11 +imprint/);
    for (const name of ['alice', 'bob']) await tkeOk(workspace, ['cryptounit-admin-add', '--sigkey', name]);
    await tkeOk(workspace, ['cryptounit-thrhld-set', '--signature', '2', '--revocation', '1']);
    await tkeOk(workspace, ['auto-init']);

    const keyId = (await region.client().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blob = (await region.client().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('in the token') }))).CiphertextBlob!;
    await tkeOk(workspace, ['auto-mk-rotate']);
    await region.stop();
    region = await startServerRegion(dir, 'eu-west-1', crypto);
    const out = await region.client().send(new DecryptCommand({ CiphertextBlob: blob }));
    assert.equal(Buffer.from(out.Plaintext!).toString(), 'in the token');
  });
});
