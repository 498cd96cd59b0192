import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SoftwareCryptoUnit } from '../../src/cryptounits/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { etagOf, Uko, UkoError } from '../../src/uko/index.ts';
import { SOFTHSM_MODULE, SOFTHSM_PIN, softHsmToken } from '../e2e/softhsm-token.ts';

const CALLER = { account: '111122223333', arn: 'arn:aws:iam::111122223333:user/keystore-admin' };
const TOKEN = 'module-loading';

/**
 * Loading a PKCS#11 library runs its code in the region's process, so a caller allowed to
 * create keystores must not be able to make the region load any library on the host.
 */
describe('a pkcs11 keystore naming a library the region does not allow (arbitrary library loading)', () => {
  softHsmToken(TOKEN);
  const dir = mkdtempSync(join(tmpdir(), 'concord-module-loading-'));
  const store = new SqliteStore(join(dir, 'keys.db'));
  const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
  const keystore = (vaultId: string, pkcs11_module: string) => ({
    type: 'pkcs11',
    vault: { id: vaultId },
    name: 'hsm',
    groups: ['g'],
    pkcs11_module,
    pkcs11_token_label: TOKEN,
    pkcs11_pin: SOFTHSM_PIN,
  });
  const notAllowed = (error: unknown) => error instanceof UkoError && error.code === 'pkcs11_module_not_allowed';

  it('is refused, on creation, dry run and update, before the library is loaded, when the configuration allows no library or others', async () => {
    for (const pkcs11Modules of [undefined, ['/opt/vendor/libvendor-pkcs11.so']]) {
      const uko = new Uko({ store, unit, pkcs11Modules });
      const vault = await uko.createVault({ name: 'v' }, CALLER);
      await assert.rejects(uko.createKeystore(keystore(vault.id, SOFTHSM_MODULE), false, CALLER), notAllowed);
      await assert.rejects(uko.createKeystore(keystore(vault.id, SOFTHSM_MODULE), true, CALLER), notAllowed);
    }
    const allowing = new Uko({ store, unit, pkcs11Modules: [SOFTHSM_MODULE] });
    const vault = await allowing.createVault({ name: 'v' }, CALLER);
    const created = await allowing.createKeystore(keystore(vault.id, SOFTHSM_MODULE), false, CALLER);
    const read = await allowing.keystores.get(created.id);
    await assert.rejects(allowing.updateKeystore(created.id, etagOf(read), { pkcs11_module: '/usr/lib/x86_64-linux-gnu/libc.so.6' }, CALLER), notAllowed);
  });

  it('is not loaded any more once the configuration stops allowing its library: the keystore reports not_responding', async () => {
    const vault = await new Uko({ store, unit, pkcs11Modules: [SOFTHSM_MODULE] }).createVault({ name: 'v' }, CALLER);
    const created = await new Uko({ store, unit, pkcs11Modules: [SOFTHSM_MODULE] }).createKeystore(keystore(vault.id, SOFTHSM_MODULE), false, CALLER);
    const health = await new Uko({ store, unit }).keystoreStatus(created.id);
    assert.equal(health.health_status, 'not_responding');
    assert.match(health.message, /no longer allows the PKCS#11 library/);
  });
});
