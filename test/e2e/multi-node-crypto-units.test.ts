import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { freshSchema, REGION, requirePostgres, startNode, type RegionNode, type TestSchema } from './postgres-harness.ts';
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

if (serverUrl) {
  describe('crypto unit changes through one node of a PostgreSQL region reach the other', () => {
    let schema: TestSchema;
    const dataDir = mkdtempSync(join(tmpdir(), 'concord-multi-node-units-'));
    const workspace = join(dataDir, 'workspace');
    const nodes: RegionNode[] = [];
    let one: KMSClient;
    let two: KMSClient;
    const sealed: Sealed[] = [];
    const ok = (...args: string[]) => tkeOk(workspace, args);
    const admit = async () => {
      for (const name of ['alice', 'bob']) await ok('cryptounit-admin-add', '--sigkey', name);
      await ok('cryptounit-thrhld-set', '--signature', '2', '--revocation', '2');
    };

    before(async () => {
      schema = await freshSchema(serverUrl);
      // The nodes share the units' directories, as nodes of a PKCS#11 region share the token.
      const common = { store: { kind: 'postgres' as const, url: schema.url }, dataDir, crypto: softwareUnits(dataDir, REGION) };
      nodes.push(await startNode({ ...common, name: 'node-1' }));
      nodes.push(await startNode({ ...common, name: 'node-2' }));
      [one, two] = nodes.map((node) => node.client()) as [KMSClient, KMSClient];
    });
    after(async () => {
      await Promise.all(nodes.map((node) => node.stop()));
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('encrypts through the second node at once after an init ceremony through the first', async () => {
      await assert.rejects(two.send(new CreateKeyCommand({})), { name: 'KeyUnavailableException' });
      for (const name of ['alice', 'bob']) await ok('sigkey-add', '--name', name);
      await ok('cryptounit-add', '--endpoint', nodes[0]!.endpoint, '--all');
      await admit();
      assert.match(await ok('auto-init'), /initialised in 2 crypto unit\(s\)/);
      sealed.push(await seal(two, 'sealed through node 2'), await seal(one, 'sealed through node 1'));
      await assertDecrypts(one, sealed);
      await assertDecrypts(two, sealed);
    });

    it('refuses cryptography through the second node soon after the first zeroizes the operational unit', async () => {
      assert.match(await ok('cryptounit-zeroize', '--unit', `${REGION}-op`), /back in imprint mode/);
      const waited = await untilRefused(two, sealed[0]!);
      process.stderr.write(`# node 2 refused Decrypt ${waited} ms after the zeroize through node 1\n`);
      await assert.rejects(two.send(new DecryptCommand({ CiphertextBlob: sealed[1]!.blob })), { name: 'KeyUnavailableException', message: /auto-mk-recover/ });
      await assert.rejects(two.send(new CreateKeyCommand({})), { name: 'KeyUnavailableException' });
      await assert.rejects(one.send(new DecryptCommand({ CiphertextBlob: sealed[0]!.blob })), { name: 'KeyUnavailableException' });
    });

    it('decrypts old ciphertext through the second node as soon as the first recovers the master key', async () => {
      await admit();
      assert.match(await ok('auto-mk-recover'), new RegExp(`Recovered master key [0-9a-f]{16} into unit ${REGION}-op`));
      await assertDecrypts(two, sealed);
      await assertDecrypts(one, sealed);
    });

    it('decrypts everything through both nodes after a master key rotation through the first', async () => {
      const rotation = await ok('auto-mk-rotate');
      assert.match(rotation, /stored record\(s\) re-wrapped/);
      sealed.push(await seal(two, 'sealed through node 2 after the rotation'), await seal(one, 'sealed through node 1 after the rotation'));
      await assertDecrypts(two, sealed);
      await assertDecrypts(one, sealed);
    });
  });
}
