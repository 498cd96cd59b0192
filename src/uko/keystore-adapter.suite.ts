import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { encZero } from './key-material.ts';
import { KeystoreUnreachableError, type KeystoreAdapter } from './keystore-adapter.ts';

export interface AdapterFixture {
  /** An adapter connected to a live keystore. */
  adapter: KeystoreAdapter;
  /** An adapter of the same type whose keystore does not answer. */
  unreachable: KeystoreAdapter;
  /** A key ID in the keystore's format that names no key there. */
  unknownKeyId: string;
  /** The keystore deletes a key at once rather than scheduling its deletion (PKCS#11). */
  deletesAtOnce?: boolean;
  /** The keystore computes a key's verification pattern, so describe tells a key holding other material. */
  verifiesMaterial?: boolean;
  close(): Promise<void>;
}

/** What every keystore adapter does, run by each implementation's test against a real keystore. */
export function keystoreAdapterSuite(name: string, open: () => Promise<AdapterFixture>): void {
  describe(`${name} keystore adapter`, () => {
    let fixture: AdapterFixture;
    before(async () => {
      fixture = await open();
    });
    after(async () => {
      await fixture.close();
    });
    const create = () =>
      fixture.adapter
        .create({
          managedKeyId: randomUUID(),
          version: 1,
          label: 'suite key',
          description: 'created by the adapter suite',
          material: randomBytes(32),
        })
        .then((created) => created.keyIdInKeystore);

    it('reaches a live keystore with its connection details', async () => {
      await fixture.adapter.check();
    });

    it('tells a keystore that does not answer by KeystoreUnreachableError', async () => {
      await assert.rejects(fixture.unreachable.check(), KeystoreUnreachableError);
      await assert.rejects(fixture.unreachable.describe(fixture.unknownKeyId), KeystoreUnreachableError);
    });

    it('reports a key it does not hold as absent', async () => {
      assert.equal(await fixture.adapter.describe(fixture.unknownKeyId), 'absent');
    });

    it('creates an enabled key holding the given material, each time a new one', async () => {
      const [first, second] = [await create(), await create()];
      assert.notEqual(first, second);
      assert.equal(await fixture.adapter.describe(first), 'enabled');
    });

    it('says, when it says what it made, the state the keystore then reports', async () => {
      const created = await fixture.adapter.create({ managedKeyId: randomUUID(), version: 1, label: 'reported', description: '', material: randomBytes(32) });
      if (created.observed !== undefined) assert.equal(created.observed, await fixture.adapter.describe(created.keyIdInKeystore));
    });

    it('finds the key made for the same version of a managed key again rather than making a second one (relinking)', async () => {
      const key = { managedKeyId: randomUUID(), version: 1, label: 'relinked', description: '', material: randomBytes(32) };
      const first = (await fixture.adapter.create(key)).keyIdInKeystore;
      assert.equal((await fixture.adapter.create(key)).keyIdInKeystore, first);
      assert.notEqual((await fixture.adapter.create({ ...key, version: 2 })).keyIdInKeystore, first);
    });

    it('disables and enables a key', async () => {
      const keyId = await create();
      await fixture.adapter.disable(keyId);
      assert.equal(await fixture.adapter.describe(keyId), 'disabled');
      await fixture.adapter.enable(keyId);
      assert.equal(await fixture.adapter.describe(keyId), 'enabled');
    });

    it('schedules a deletion and takes it back, leaving the key disabled; or deletes at once where the keystore does', async () => {
      const keyId = await create();
      await fixture.adapter.scheduleDeletion(keyId);
      if (fixture.deletesAtOnce) {
        assert.equal(await fixture.adapter.describe(keyId), 'absent');
        await assert.rejects(fixture.adapter.cancelDeletion(keyId));
        return;
      }
      assert.equal(await fixture.adapter.describe(keyId), 'pending_deletion');
      await fixture.adapter.cancelDeletion(keyId);
      assert.equal(await fixture.adapter.describe(keyId), 'disabled');
    });

    it("tells a key holding other material than the managed key's by its verification pattern, where the keystore computes one", async () => {
      const material = randomBytes(32);
      const keyId = (await fixture.adapter.create({ managedKeyId: randomUUID(), version: 1, label: 'checked', description: '', material })).keyIdInKeystore;
      assert.equal(await fixture.adapter.describe(keyId, encZero(material)), 'enabled');
      assert.equal(await fixture.adapter.describe(keyId, encZero(randomBytes(32))), fixture.verifiesMaterial ? 'wrong_key' : 'enabled');
      await fixture.adapter.disable(keyId);
      assert.equal(await fixture.adapter.describe(keyId, encZero(material)), 'disabled');
    });

    it('refuses to act on a key it does not hold, as a refusal rather than an unreachable keystore', async () => {
      const refused = await fixture.adapter.enable(fixture.unknownKeyId).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(refused instanceof Error);
      assert.ok(!(refused instanceof KeystoreUnreachableError));
    });
  });
}
