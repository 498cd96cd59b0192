import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { MgmtClient } from '../../src/cli/index.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from './harness.ts';
import { REGION, requirePostgres, twoNodes } from './postgres-harness.ts';
import { softHsmToken } from './softhsm-token.ts';
import { softwareUnits, tkeOk } from './tke-harness.ts';

const serverUrl = requirePostgres('the multi-node crypto unit tests');
/** How long another node may go on using a unit after a change through one node. */
const PROPAGATION_BOUND_MS = 10_000;

interface Sealed {
  blob: Uint8Array;
  plaintext: string;
}

async function seal(client: KMSClient, plaintext: string): Promise<Sealed> {
  const KeyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  return { blob: (await client.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from(plaintext) }))).CiphertextBlob!, plaintext };
}

async function assertDecrypts(client: KMSClient, sealed: Sealed[]): Promise<void> {
  for (const s of sealed) assert.equal(Buffer.from((await client.send(new DecryptCommand({ CiphertextBlob: s.blob }))).Plaintext!).toString(), s.plaintext);
}

/** Milliseconds until Decrypt through `client` is refused with KeyUnavailableException; fails after the bound. */
async function untilRefused(client: KMSClient, sealed: Sealed): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await client.send(new DecryptCommand({ CiphertextBlob: sealed.blob }));
    } catch (error) {
      assert.equal((error as Error).name, 'KeyUnavailableException', (error as Error).message);
      return Date.now() - started;
    }
    assert.ok(Date.now() - started < PROPAGATION_BOUND_MS, `still decrypting ${PROPAGATION_BOUND_MS} ms after the zeroize`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The operational unit in a PKCS#11 token both nodes use, the recovery unit in a directory both share. */
function tokenUnits(dir: string): Record<string, unknown> {
  softHsmToken('concord-multi-node', dir);
  return {
    cryptoUnits: {
      units: [
        { id: `${REGION}-op`, role: 'operational', kind: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'concord-multi-node', pin: '1234' },
        { id: `${REGION}-rec`, role: 'recovery', kind: 'software', dir: join(dir, 'rec') },
      ],
    },
  };
}

const backends: [string, (dir: string) => Record<string, unknown>][] = [
  // The nodes share the software units' directories, as nodes of a PKCS#11 region share the token.
  ['software units in a shared directory', (dir) => softwareUnits(dir, REGION)],
  ['its operational unit in a shared PKCS#11 token', tokenUnits],
];

if (serverUrl) {
  for (const [backend, unitsIn] of backends) {
    describe(`a PostgreSQL region with ${backend}: crypto unit changes through one node reach the other`, () => {
      const cluster = twoNodes(serverUrl, 'concord-multi-node-units-', (dataDir) => ({ crypto: unitsIn(dataDir) }));
      const workspace = join(cluster.dataDir, 'workspace');
      const sealed: Sealed[] = [];
      const ok = (...args: string[]) => tkeOk(workspace, args);
      const admit = async () => {
        for (const name of ['alice', 'bob']) await ok('cryptounit-admin-add', '--sigkey', name);
        await ok('cryptounit-thrhld-set', '--signature', '2', '--revocation', '2');
      };

      it('encrypts through the second node at once after an init ceremony through the first', async () => {
        await assert.rejects(cluster.two.send(new CreateKeyCommand({})), { name: 'KeyUnavailableException' });
        for (const name of ['alice', 'bob']) await ok('sigkey-add', '--name', name);
        await ok('cryptounit-add', '--endpoint', cluster.nodes[0]!.endpoint, '--all');
        await admit();
        assert.match(await ok('auto-init'), /initialised in 2 crypto unit\(s\)/);
        sealed.push(await seal(cluster.two, 'sealed through node 2'), await seal(cluster.one, 'sealed through node 1'));
        await assertDecrypts(cluster.one, sealed);
        await assertDecrypts(cluster.two, sealed);
      });

      it('refuses cryptography through the second node soon after the first zeroizes the operational unit', async () => {
        assert.match(await ok('cryptounit-zeroize', '--unit', `${REGION}-op`), /back in imprint mode/);
        const waited = await untilRefused(cluster.two, sealed[0]!);
        process.stderr.write(`# ${backend}: node 2 refused Decrypt ${waited} ms after the zeroize through node 1\n`);
        await assert.rejects(cluster.two.send(new DecryptCommand({ CiphertextBlob: sealed[1]!.blob })), {
          name: 'KeyUnavailableException',
          message: /auto-mk-recover/,
        });
        await assert.rejects(cluster.two.send(new CreateKeyCommand({})), { name: 'KeyUnavailableException' });
        await assert.rejects(cluster.one.send(new DecryptCommand({ CiphertextBlob: sealed[0]!.blob })), { name: 'KeyUnavailableException' });
      });

      it('decrypts old ciphertext through the second node as soon as the first recovers the master key', async () => {
        await admit();
        assert.match(await ok('auto-mk-recover'), new RegExp(`Recovered master key [0-9a-f]{16} into unit ${REGION}-op`));
        await assertDecrypts(cluster.two, sealed);
        await assertDecrypts(cluster.one, sealed);
      });

      it('shows through the second node the nonce a command through the first has just moved on', async () => {
        const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
        const [viaOne, viaTwo] = cluster.nodes.map((node) => new MgmtClient(node.endpoint, credentials, REGION)) as [MgmtClient, MgmtClient];
        for (let round = 0; round < 3; round++) {
          const before = (await viaOne.unit(`${REGION}-op`)).nonce;
          await ok('cryptounit-thrhld-set', '--signature', '2', '--revocation', '2');
          const seenThroughTwo = (await viaTwo.unit(`${REGION}-op`)).nonce;
          assert.notEqual(seenThroughTwo, before);
          assert.equal(seenThroughTwo, (await viaOne.unit(`${REGION}-op`)).nonce);
        }
      });

      it('decrypts everything through both nodes after a master key rotation through the first', async () => {
        const rotation = await ok('auto-mk-rotate');
        assert.match(rotation, /stored record\(s\) re-wrapped/);
        sealed.push(await seal(cluster.two, 'sealed through node 2 after the rotation'), await seal(cluster.one, 'sealed through node 1 after the rotation'));
        await assertDecrypts(cluster.two, sealed);
        await assertDecrypts(cluster.one, sealed);
      });
    });
  }
}
