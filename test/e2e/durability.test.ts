import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { startDev, type DevDeployment } from './harness.ts';

const LOOPS = 4;
const MAX_ITERATIONS_PER_LOOP = 300;
const KILL_AFTER_ENCRYPTS = 40;
const KILL_AFTER_MS = 5000;

describe('durability of keys and ciphertexts', () => {
  let dev: DevDeployment;
  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
  });
  after(async () => {
    await dev.stop();
  });

  it('keeps keys across a clean restart on the same data directory', async () => {
    const kms = dev.client();
    const { KeyId } = (await kms.send(new CreateKeyCommand({ Description: 'survives restart' }))).KeyMetadata!;
    const plaintext = Buffer.from('still here after a restart');
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId, Plaintext: plaintext, EncryptionContext: { run: 'restart' } }));

    assert.equal(await dev.stop('SIGTERM'), 0);
    await dev.restart();

    const after = dev.client();
    const described = (await after.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
    assert.equal(described.Description, 'survives restart');
    assert.equal(described.KeyState, 'Enabled');
    const decrypted = await after.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { run: 'restart' } }));
    assert.deepEqual(Buffer.from(decrypted.Plaintext!), plaintext);
  });

  it('keeps every acknowledged CreateKey and Encrypt when the server is killed with SIGKILL mid-load', async (t) => {
    const kms = dev.client();
    const createdKeys: string[] = [];
    const ciphertexts: { keyId: string; plaintext: Buffer; blob: Uint8Array }[] = [];
    let killed = false;
    // Read through a call: it changes while a request of the loop awaits.
    const killedYet = (): boolean => killed;

    const loop = async (): Promise<void> => {
      for (let i = 0; i < MAX_ITERATIONS_PER_LOOP && !killed; i += 1) {
        try {
          const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
          createdKeys.push(keyId);
          const plaintext = randomBytes(64);
          const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
          ciphertexts.push({ keyId, plaintext, blob: CiphertextBlob! });
        } catch (error) {
          if (!killedYet()) throw error;
        }
      }
    };
    const load = Promise.all(Array.from({ length: LOOPS }, loop));

    const started = Date.now();
    while (ciphertexts.length < KILL_AFTER_ENCRYPTS && Date.now() - started < KILL_AFTER_MS) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    killed = true;
    const exitCode = await dev.stop('SIGKILL');
    await load;
    assert.equal(exitCode, null);
    assert.ok(ciphertexts.length >= 10, `only ${ciphertexts.length} encryptions succeeded before the kill`);

    t.diagnostic(`${createdKeys.length} CreateKey and ${ciphertexts.length} Encrypt calls acknowledged before SIGKILL`);
    await dev.restart();
    const after = dev.client();
    for (const keyId of createdKeys) {
      const described = (await after.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
      assert.equal(described.KeyState, 'Enabled', keyId);
    }
    for (const { keyId, plaintext, blob } of ciphertexts) {
      const decrypted = await after.send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.deepEqual(Buffer.from(decrypted.Plaintext!), plaintext);
      assert.match(decrypted.KeyId!, new RegExp(`key/${keyId}$`));
    }
  });

  it('exits cleanly with code 0 on Ctrl-C (SIGINT)', async () => {
    await dev.client().send(new CreateKeyCommand({}));
    assert.equal(await dev.stop('SIGINT'), 0);
  });
});
