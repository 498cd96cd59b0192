import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { SOFTHSM_MODULE, SOFTHSM_PIN, softHsmToken } from '../../test/e2e/softhsm-token.ts';
import { acquirePkcs11Library, pkcs11js, releasePkcs11Library } from '../cryptounits/index.ts';
import { encZero } from './key-material.ts';
import { KeystoreUnreachableError } from './keystore-adapter.ts';
import { keystoreAdapterSuite } from './keystore-adapter.suite.ts';
import { Pkcs11Adapter, WRAPPING_KEY_LABEL } from './pkcs11-adapter.ts';

const TOKEN = 'uko-adapter';
const dir = softHsmToken(TOKEN);
softHsmToken('uko-adapter-2', dir);
const connection = { pkcs11_module: SOFTHSM_MODULE, pkcs11_token_label: TOKEN, pkcs11_pin: SOFTHSM_PIN };
const adapter = new Pkcs11Adapter(connection);

keystoreAdapterSuite('pkcs11 (a SoftHSM2 token)', () =>
  Promise.resolve({
    adapter,
    unreachable: new Pkcs11Adapter({ ...connection, pkcs11_token_label: 'no-such-token' }),
    unknownKeyId: `uko/${randomUUID()}/v1`,
    deletesAtOnce: true,
    verifiesMaterial: true,
    close: () => Promise.resolve(),
  }),
);

/** Reads the token directly, as its owner would with pkcs11-tool. */
function inspect<T>(label: string, read: (attributes: (type: number) => Buffer) => T, objectClass = pkcs11js().CKO_SECRET_KEY): T {
  const p11 = pkcs11js();
  const { lib } = acquirePkcs11Library(SOFTHSM_MODULE);
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === TOKEN)!;
    const session = lib.C_OpenSession(slot, p11.CKF_SERIAL_SESSION);
    lib.C_Login(session, p11.CKU_USER, SOFTHSM_PIN);
    lib.C_FindObjectsInit(session, [
      { type: p11.CKA_LABEL, value: label },
      { type: p11.CKA_CLASS, value: objectClass },
    ]);
    const objects = lib.C_FindObjects(session, 10);
    lib.C_FindObjectsFinal(session);
    try {
      assert.ok(objects.length > 0, `no object labelled ${label}`);
      return read((type) => lib.C_GetAttributeValue(session, objects[0]!, [{ type }])[0]!.value);
    } finally {
      lib.C_CloseSession(session);
    }
  } finally {
    releasePkcs11Library(SOFTHSM_MODULE);
  }
}

describe('pkcs11 keystore adapter, what is particular to PKCS#11', () => {
  const p11 = pkcs11js();

  it('unwraps the material into a sensitive, never extractable AES key labelled with its key_id_in_keystore', async () => {
    const material = randomBytes(32);
    const managedKeyId = randomUUID();
    const keyId = (await adapter.create({ managedKeyId, version: 3, label: 'guarded', description: '', material })).keyIdInKeystore;
    assert.equal(keyId, `uko/${managedKeyId}/v3`);
    inspect(keyId, (attribute) => {
      assert.equal(attribute(p11.CKA_SENSITIVE)[0], 1);
      assert.equal(attribute(p11.CKA_EXTRACTABLE)[0], 0);
      assert.equal(attribute(p11.CKA_KEY_TYPE).readUInt32LE(0), p11.CKK_AES);
    });
    assert.equal(await adapter.describe(keyId, encZero(material)), 'enabled');
  });

  it("keeps the wrapping key's private half in the token, usable only to unwrap", () => {
    inspect(
      WRAPPING_KEY_LABEL,
      (attribute) => {
        assert.equal(attribute(p11.CKA_SENSITIVE)[0], 1);
        assert.equal(attribute(p11.CKA_EXTRACTABLE)[0], 0);
        assert.equal(attribute(p11.CKA_UNWRAP)[0], 1);
        assert.equal(attribute(p11.CKA_DECRYPT)[0], 0);
      },
      p11.CKO_PRIVATE_KEY,
    );
  });

  it('disables a key by clearing CKA_ENCRYPT and CKA_DECRYPT', async () => {
    const keyId = (await adapter.create({ managedKeyId: randomUUID(), version: 1, label: 'off', description: '', material: randomBytes(16) })).keyIdInKeystore;
    await adapter.disable(keyId);
    inspect(keyId, (attribute) => {
      assert.equal(attribute(p11.CKA_ENCRYPT)[0], 0);
      assert.equal(attribute(p11.CKA_DECRYPT)[0], 0);
    });
  });

  it('puts a key that was deleted from the token back', async () => {
    const material = randomBytes(32);
    const keyId = (await adapter.create({ managedKeyId: randomUUID(), version: 1, label: 'back', description: '', material })).keyIdInKeystore;
    await adapter.scheduleDeletion(keyId);
    await adapter.importMaterial(keyId, material);
    assert.equal(await adapter.describe(keyId, encZero(material)), 'enabled');
  });

  it('tells a token that refuses the PIN, and a library that is not there, by KeystoreUnreachableError naming the cause', async () => {
    await assert.rejects(new Pkcs11Adapter({ ...connection, pkcs11_pin: '0000' }).check(), (error: Error) => {
      assert.ok(error instanceof KeystoreUnreachableError);
      assert.match(error.message, /refuses the PIN \(CKR_PIN_INCORRECT\)/);
      assert.ok(!error.message.includes('0000'));
      return true;
    });
    await assert.rejects(new Pkcs11Adapter({ ...connection, pkcs11_module: `${dir}/missing.so` }).check(), /the library .*missing\.so cannot be loaded/);
  });

  it('keeps the keys of one token apart from another token of the same library', async () => {
    const keyId = (await adapter.create({ managedKeyId: randomUUID(), version: 1, label: 'apart', description: '', material: randomBytes(32) }))
      .keyIdInKeystore;
    assert.equal(await new Pkcs11Adapter({ ...connection, pkcs11_token_label: 'uko-adapter-2' }).describe(keyId), 'absent');
  });
});
