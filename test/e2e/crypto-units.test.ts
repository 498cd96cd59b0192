import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GetParametersForImportCommand, ImportKeyMaterialCommand, type KMSClient } from '@aws-sdk/client-kms';
import { readSigkey } from '../../src/cryptounits/index.ts';
import { softwareUnits, startServerRegion, tke, tkeOk, type ServerRegion } from './tke-harness.ts';

/** Keys stored when the master key is rotated. */
const STORED_KEYS = 10_000;
const ADMINS = ['alice', 'bob', 'carol'];

interface Sealed {
  keyId: string;
  blob: Uint8Array;
  plaintext: string;
}

async function createKeys(client: KMSClient, count: number, parallel = 16): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        ids.push((await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!);
      }
    }),
  );
  return ids;
}

async function seal(client: KMSClient, keyId: string, plaintext: string): Promise<Sealed> {
  const out = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(plaintext) }));
  return { keyId, blob: out.CiphertextBlob!, plaintext };
}

async function assertDecrypts(client: KMSClient, sealed: Sealed[]): Promise<void> {
  for (const s of sealed) {
    const out = await client.send(new DecryptCommand({ CiphertextBlob: s.blob }));
    assert.equal(Buffer.from(out.Plaintext!).toString(), s.plaintext);
    assert.equal(out.KeyId!.endsWith(s.keyId), true);
  }
}

/** The verification pattern on a register row of cryptounit-compare, per unit. */
function registerColumn(compare: string, register: string): string[] {
  const row = compare.split('\n').find((line) => line.slice(2).startsWith(`${register} register`))!;
  return [...row.matchAll(/valid ([0-9a-f]{16})/g)].map((m) => m[1]!);
}

describe('the master key ceremony through concord tke', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-tke-'));
  const workspace = join(dir, 'workspace');
  let east: ServerRegion;
  let west: ServerRegion | undefined;
  const sealed: Sealed[] = [];
  let pendingImport: { KeyId: string; ImportToken: Uint8Array; EncryptedKeyMaterial: Buffer } | undefined;
  const ok = (...args: string[]) => tkeOk(workspace, args);

  before(async () => {
    east = await startServerRegion(dir, 'us-east-1', softwareUnits(dir, 'us-east-1'));
  });
  after(async () => {
    await east.stop();
    await west?.stop();
  });

  it('refuses cryptography while no crypto unit holds a master key', async () => {
    await assert.rejects(east.client().send(new CreateKeyCommand({})), { name: 'KeyUnavailableException', message: /auto-mk-recover|concord tke/ });
  });

  it('runs an init ceremony with three administrators and a signature threshold of two', async () => {
    for (const name of ADMINS) assert.match(await ok('sigkey-add', '--name', name), new RegExp(`Signature key '${name}' created`));
    assert.match(await ok('cryptounit-add', '--endpoint', east.endpoint, '--all'), /us-east-1-op, us-east-1-rec/);

    const early = await tke(workspace, ['auto-init']);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /us-east-1-op is in imprint mode: add administrators with 'concord tke cryptounit-admin-add'/);

    for (const name of ADMINS) await ok('cryptounit-admin-add', '--sigkey', name);
    const wrongPassword = await tke(workspace, ['cryptounit-thrhld-set', '--signature', '2', '--revocation', '2'], 'not the password');
    assert.match(wrongPassword.stderr, /Wrong password for signature key 'alice'/);
    await ok('cryptounit-thrhld-set', '--signature', '2', '--revocation', '2');
    assert.match(await ok('auto-init'), /initialised in 2 crypto unit\(s\)/);

    const compare = await ok('cryptounit-compare');
    const [op, rec] = registerColumn(compare, 'current');
    assert.ok(op);
    assert.equal(op, rec);
    assert.doesNotMatch(compare, /^\*/m);
    const admins = await ok('cryptounit-admin-list');
    for (const name of ADMINS) assert.match(admins, new RegExp(`${name} +[0-9a-f]{16}  \\(signature key '${name}'`));

    const again = await tke(workspace, ['auto-init']);
    assert.match(again.stderr, /already holds a current master key; replace it with 'concord tke auto-mk-rotate'/);
  });

  it('encrypts with keys created after the ceremony', async () => {
    for (const keyId of await createKeys(east.client(), 3)) sealed.push(await seal(east.client(), keyId, `before rotation ${keyId}`));
    await assertDecrypts(east.client(), sealed);

    const KeyId = (await east.client().send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    const parameters = await east
      .client()
      .send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const key = createPublicKey({ key: Buffer.from(parameters.PublicKey!), format: 'der', type: 'spki' });
    const EncryptedKeyMaterial = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32));
    pendingImport = { KeyId, ImportToken: parameters.ImportToken!, EncryptedKeyMaterial };
  });

  it('refuses a rotation without a common set of administrators or without a recovery unit, saying what to do', async () => {
    const lonely = await tke(workspace, ['--sigkeys', 'alice', 'auto-mk-rotate']);
    assert.equal(lonely.code, 1);
    assert.match(lonely.stderr, /No common set of administrators can meet the signature threshold 2/);
    await ok('cryptounit-rm', '--unit', 'us-east-1-rec');
    const noRecovery = await tke(workspace, ['auto-mk-rotate']);
    assert.match(noRecovery.stderr, /None of the chosen units is a recovery unit; choose one with 'concord tke cryptounit-add/);
    await ok('cryptounit-add', '--endpoint', east.endpoint, '--unit', 'us-east-1-rec');
  });

  it(`rotates the master key with ${STORED_KEYS} stored keys, re-wrapping them all so that everything still decrypts`, async () => {
    const stored = await createKeys(east.client(), STORED_KEYS - sealed.length);
    const [before] = registerColumn(await ok('cryptounit-compare'), 'current');
    const started = Date.now();
    const rotation = await tke(workspace, ['auto-mk-rotate', '--batch', '2000']);
    process.stderr.write(`# master key rotation of ${STORED_KEYS} stored keys through concord tke: ${Date.now() - started} ms\n`);
    assert.equal(rotation.code, 0, rotation.stderr);
    const rewrapped = Number(/(\d+) stored record\(s\) re-wrapped/.exec(rotation.stdout)?.[1]);
    assert.ok(rewrapped >= STORED_KEYS, `re-wrapped ${rewrapped}`);
    assert.match(rotation.stderr, /re-wrapping .* 100% \d+\/\d+/);

    const compare = await ok('cryptounit-compare');
    const [after, afterRec] = registerColumn(compare, 'current');
    assert.notEqual(after, before);
    assert.equal(after, afterRec);
    assert.deepEqual(registerColumn(compare, 'old'), [before, before]);
    await assertDecrypts(east.client(), sealed);
    for (const keyId of stored.filter((_, i) => i % 500 === 0))
      await assertDecrypts(east.client(), [await seal(east.client(), keyId, `after rotation ${keyId}`)]);
  });

  it('finishes a rotation whose concord tke process was killed while re-wrapping, when run again', async () => {
    const [before] = registerColumn(await ok('cryptounit-compare'), 'current');
    const killed = await tke(workspace, ['auto-mk-rotate', '--batch', '100'], undefined, /re-wrapping/);
    assert.equal(killed.code, null);
    const midway = await ok('cryptounit-compare');
    const loaded = /new register +full-(?:uncommitted|committed) ([0-9a-f]{16}) +full-(?:uncommitted|committed) \1/.exec(midway);
    assert.ok(loaded, midway);
    const [keyId] = await createKeys(east.client(), 1);
    sealed.push(await seal(east.client(), keyId!, 'created during the rotation'));

    const resumed = await tke(workspace, ['auto-mk-rotate']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.doesNotMatch(resumed.stdout, /Created a new master key/);
    const compare = await ok('cryptounit-compare');
    assert.deepEqual(registerColumn(compare, 'current'), [loaded[1], loaded[1]]);
    assert.deepEqual(registerColumn(compare, 'old'), [before, before]);
    await assertDecrypts(east.client(), sealed);
  });

  it('imports key material with import parameters issued before two master key rotations', async () => {
    await east.client().send(new ImportKeyMaterialCommand({ ...pendingImport!, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    sealed.push(await seal(east.client(), pendingImport!.KeyId, 'imported after rotation'));
    await assertDecrypts(east.client(), sealed);
  });

  it('refuses cryptography once the operational unit is zeroized, and auto-mk-recover restores it', async () => {
    assert.match(await ok('cryptounit-zeroize', '--unit', 'us-east-1-op'), /back in imprint mode/);
    await assert.rejects(east.client().send(new DecryptCommand({ CiphertextBlob: sealed[0]!.blob })), {
      name: 'KeyUnavailableException',
      message: /auto-mk-recover/,
    });
    const refused = await tke(workspace, ['auto-mk-recover']);
    assert.match(refused.stderr, /us-east-1-op is in imprint mode/);
    for (const name of ADMINS) await ok('cryptounit-admin-add', '--sigkey', name);
    await ok('cryptounit-thrhld-set', '--signature', '2', '--revocation', '2');
    assert.match(await ok('auto-mk-recover'), /Recovered master key [0-9a-f]{16} into unit us-east-1-op/);
    await assertDecrypts(east.client(), sealed);
  });

  it('brings a second region to the same master key with auto-mk-recover', async () => {
    // The region sets its units up itself, signing as alice and bob, whose keys and passwords it is given.
    process.env.CONCORD_TEST_ALICE_PASSWORD = 'correct horse battery staple';
    const administrators = [
      { name: 'alice', sigkeyFile: join(workspace, 'sigkeys', 'alice.json'), passwordEnv: 'CONCORD_TEST_ALICE_PASSWORD' },
      { name: 'bob', sigkeyFile: join(workspace, 'sigkeys', 'bob.json'), password: 'correct horse battery staple' },
      { name: 'carol', publicKey: readSigkey(join(workspace, 'sigkeys', 'carol.json')).publicKey },
    ];
    west = await startServerRegion(
      dir,
      'us-west-2',
      softwareUnits(dir, 'us-west-2', { autoInit: true, administrators, thresholds: { signature: 2, revocation: 2 } }),
    );
    const westSealed = [await seal(west.client(), (await createKeys(west.client(), 1))[0]!, 'west before recovery')];
    await ok('cryptounit-add', '--endpoint', west.endpoint, '--all');
    const differing = await ok('cryptounit-compare');
    assert.match(differing, /^\* current register/m);
    // Its own ceremony gave the units the administrators and thresholds of those of us-east-1.
    assert.doesNotMatch(differing, /^\* (mode|signature threshold|revocation threshold|admin )/m);

    assert.match(await ok('auto-mk-recover', '--from', 'us-east-1-rec'), /All 4 chosen crypto unit\(s\) hold master key/);
    const compare = await ok('cryptounit-compare');
    const currents = registerColumn(compare, 'current');
    assert.equal(currents.length, 4);
    assert.equal(new Set(currents).size, 1);
    assert.doesNotMatch(compare, /^\* current register/m);
    await assertDecrypts(west.client(), westSealed);
    await assertDecrypts(east.client(), sealed);
  });

  it('refuses to rotate units whose signature thresholds differ, and removes an administrator under the revocation threshold', async () => {
    await ok('sigkey-add', '--name', 'dave');
    await ok('cryptounit-admin-add', '--sigkey', 'dave');
    await ok('cryptounit-rm', '--unit', 'us-east-1-op,us-east-1-rec,us-west-2-rec');
    await ok('cryptounit-thrhld-set', '--signature', '3', '--revocation', '2');
    await ok('cryptounit-add', '--endpoint', east.endpoint, '--all');
    await ok('cryptounit-add', '--endpoint', west!.endpoint, '--unit', 'us-west-2-rec');
    assert.match(await ok('cryptounit-compare'), /^\* signature threshold +3 +2 +2 +2$/m);
    const refused = await tke(workspace, ['auto-mk-rotate']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /different signature thresholds \(us-west-2-op: 3, us-east-1-op: 2.*\); make them equal with 'concord tke cryptounit-thrhld-set'/,
    );

    assert.match(await ok('cryptounit-admin-list'), /dave/);
    const removed = await ok('cryptounit-admin-rm', '--sigkey', 'dave');
    assert.equal(removed.match(/Removed administrator dave/g)?.length, 4);
    assert.doesNotMatch(await ok('cryptounit-admin-list'), /dave/);
  });
});
