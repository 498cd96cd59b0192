import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pkcs11Vault } from '../../src/cryptounits/index.ts';
import { KeystoreUnreachableError, Pkcs11Adapter } from '../../src/uko/index.ts';
import { SOFTHSM_MODULE, SOFTHSM_PIN, softHsmToken } from '../e2e/softhsm-token.ts';

const TOKEN = 'shared-login';

/**
 * PKCS#11 logs in an application, not a session: while a crypto unit of the region holds its
 * token logged in, C_Login with any PIN answers CKR_USER_ALREADY_LOGGED_IN. A keystore naming that
 * token with a PIN it does not know must not get in on the crypto unit's login.
 */
describe("a pkcs11 keystore naming the token a crypto unit is logged in to, with a wrong PIN (riding the unit's login)", () => {
  it('is refused as unreachable, and never touches the token', async () => {
    softHsmToken(TOKEN);
    const vault = Pkcs11Vault.open({ module: SOFTHSM_MODULE, tokenLabel: TOKEN, pin: SOFTHSM_PIN, unitId: 'op' });
    try {
      for (const pin of ['0000', SOFTHSM_PIN]) {
        const keystore = new Pkcs11Adapter({ pkcs11_module: SOFTHSM_MODULE, pkcs11_token_label: TOKEN, pkcs11_pin: pin });
        await assert.rejects(
          keystore.check(),
          (error: Error) => error instanceof KeystoreUnreachableError && /logged in by another part of this process/.test(error.message),
        );
      }
    } finally {
      await vault.close();
    }
    await new Pkcs11Adapter({ pkcs11_module: SOFTHSM_MODULE, pkcs11_token_label: TOKEN, pkcs11_pin: SOFTHSM_PIN }).check();
  });
});
