import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { acquirePkcs11Library, pkcs11js, releasePkcs11Library } from '../../src/cryptounits/index.ts';
import { encZero, Pkcs11Adapter, WRAPPING_KEY_LABEL } from '../../src/uko/index.ts';
import { SOFTHSM_MODULE, SOFTHSM_PIN, softHsmToken } from '../e2e/softhsm-token.ts';

const TOKEN = 'wrapping-key-substitution';

/** Someone with a session on the token plants an RSA public key of their own under the label of Concord's wrapping key. */
function plantPublicKey(): void {
  const p11 = pkcs11js();
  const { lib } = acquirePkcs11Library(SOFTHSM_MODULE);
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === TOKEN)!;
    const session = lib.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION);
    lib.C_Login(session, p11.CKU_USER, SOFTHSM_PIN);
    const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    lib.C_CreateObject(session, [
      { type: p11.CKA_CLASS, value: p11.CKO_PUBLIC_KEY },
      { type: p11.CKA_KEY_TYPE, value: p11.CKK_RSA },
      { type: p11.CKA_TOKEN, value: true },
      { type: p11.CKA_LABEL, value: WRAPPING_KEY_LABEL },
      { type: p11.CKA_MODULUS, value: Buffer.from(jwk.n!, 'base64url') },
      { type: p11.CKA_PUBLIC_EXPONENT, value: Buffer.from(jwk.e!, 'base64url') },
    ]);
    lib.C_CloseSession(session);
  } finally {
    releasePkcs11Library(SOFTHSM_MODULE);
  }
}

describe("a public key planted under the label of a pkcs11 keystore's wrapping key (wrapping key substitution)", () => {
  it('does not receive the material: Concord encrypts under the public half read from its own private key object', async () => {
    softHsmToken(TOKEN);
    const adapter = new Pkcs11Adapter({ pkcs11_module: SOFTHSM_MODULE, pkcs11_token_label: TOKEN, pkcs11_pin: SOFTHSM_PIN });
    const first = randomBytes(32);
    await adapter.create({ managedKeyId: randomUUID(), version: 1, label: 'before', description: '', material: first });
    plantPublicKey();
    const material = randomBytes(32);
    const keyId = (await adapter.create({ managedKeyId: randomUUID(), version: 1, label: 'after', description: '', material })).keyIdInKeystore;
    assert.equal(await adapter.describe(keyId, encZero(material)), 'enabled');
  });
});
