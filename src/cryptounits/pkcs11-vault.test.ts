import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SOFTHSM_MODULE as MODULE, SOFTHSM_PIN as PIN, SOFTHSM_SO_PIN as SO_PIN, softHsmToken } from '../../test/e2e/softhsm-token.ts';
import { backendSuite } from './backend.suite.ts';
import { MasterKeyUnavailableError } from './crypto-unit.ts';
import { ManagedCryptoUnit } from './managed-unit.ts';
import { Pkcs11Vault } from './pkcs11-vault.ts';
import { RegionCryptoUnit } from './region-crypto-unit.ts';
import { canonicalCommand, signCommand } from './signed-command.ts';
import { SoftwareVault } from './software-vault.ts';
import { CryptoUnitError } from './unit-error.ts';

const tokenDir = softHsmToken('concord-test');
const binding = { exporter: 'exporter', importer: 'importer', nonce: '0'.repeat(32) };
const open = (unitId: string) => Pkcs11Vault.open({ module: MODULE, tokenLabel: 'concord-test', pin: PIN, soPin: SO_PIN, unitId });

backendSuite('PKCS#11 (SoftHSM2)', () => {
  const vaults: Pkcs11Vault[] = [];
  return Promise.resolve({
    storageDir: join(tokenDir, 'tokens'),
    open: (unitId) => {
      const vault = open(unitId);
      vaults.push(vault);
      return Promise.resolve(vault);
    },
    cleanup: async () => {
      for (const vault of vaults) await vault.close();
    },
  });
});

type Pkcs11Module = typeof import('pkcs11js');
const p11 = createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;

/** A session of our own on the test token, logged in as the user, to ask the token directly. */
function userSession() {
  const lib = new p11.PKCS11();
  lib.load(MODULE);
  const tolerate = (work: () => void, code: number) => {
    try {
      work();
    } catch (error) {
      if ((error as { code?: number }).code !== code) throw error;
    }
  };
  // The vaults' open sessions already initialised the library and logged the user in.
  tolerate(() => {
    lib.C_Initialize();
  }, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED);
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === 'concord-test')!;
  const session = lib.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION);
  tolerate(() => {
    lib.C_Login(session, p11.CKU_USER, PIN);
  }, p11.CKR_USER_ALREADY_LOGGED_IN);
  const masterKey = (unitId: string) => {
    lib.C_FindObjectsInit(session, [{ type: p11.CKA_LABEL, value: `concord/${unitId}/master-key` }]);
    const [key] = lib.C_FindObjects(session, 1);
    lib.C_FindObjectsFinal(session);
    return key!;
  };
  const flag = (object: Buffer, type: number) => lib.C_GetAttributeValue(session, object, [{ type }])[0]!.value[0] === 1;
  return {
    lib,
    session,
    masterKey,
    flag,
    close: () => {
      lib.C_CloseSession(session);
    },
  };
}

describe('master keys in a PKCS#11 token', () => {
  const aesSessionKey = [
    { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
    { type: p11.CKA_KEY_TYPE, value: p11.CKK_AES },
    { type: p11.CKA_VALUE_LEN, value: 32 },
    { type: p11.CKA_TOKEN, value: false },
    { type: p11.CKA_WRAP, value: true },
  ];

  it('cannot be read, wrapped under a key the user makes, or made wrappable again, even by the logged-in user', async () => {
    const vault = open('guarded');
    const probe = userSession();
    try {
      await vault.generateKey();
      const key = probe.masterKey('guarded');
      assert.equal(probe.flag(key, p11.CKA_SENSITIVE), true);
      assert.equal(probe.flag(key, p11.CKA_ALWAYS_SENSITIVE), true);
      assert.equal(probe.flag(key, p11.CKA_WRAP_WITH_TRUSTED), true);
      assert.throws(() => probe.lib.C_GetAttributeValue(probe.session, key, [{ type: p11.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
      const userKey = probe.lib.C_GenerateKey(probe.session, { mechanism: p11.CKM_AES_KEY_GEN }, aesSessionKey);
      assert.throws(() => probe.lib.C_WrapKey(probe.session, { mechanism: p11.CKM_AES_KEY_WRAP_PAD }, userKey, key, Buffer.alloc(64)), /CKR_KEY_NOT_WRAPPABLE/);
      assert.throws(() => {
        probe.lib.C_SetAttributeValue(probe.session, key, [{ type: p11.CKA_WRAP_WITH_TRUSTED, value: false }]);
      }, /CKR_ATTRIBUTE_READ_ONLY/);
      assert.throws(
        () => probe.lib.C_GenerateKey(probe.session, { mechanism: p11.CKM_AES_KEY_GEN }, [...aesSessionKey, { type: p11.CKA_TRUSTED, value: true }]),
        /CKR_ATTRIBUTE_READ_ONLY/,
      );
    } finally {
      probe.close();
      await vault.close();
    }
  });

  it('report a key destroyed through another session as unavailable at once, though the vault remembered its handle', async () => {
    const [one, two] = [open('remembered'), open('remembered')];
    try {
      const { handle } = await one.generateKey();
      const aad = Buffer.from('aad');
      const sealed = two.encrypt(handle, Buffer.from('record'), aad);
      await one.zeroize();
      assert.throws(() => two.decrypt(handle, sealed, aad), MasterKeyUnavailableError);
      assert.throws(() => two.encrypt(handle, Buffer.from('more'), aad), MasterKeyUnavailableError);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('still move to another unit, which keeps serving its own key across the Security Officer login', async () => {
    const exporter = open('guarded-exporter');
    const importer = open('guarded-importer');
    const probe = userSession();
    try {
      const { handle, pattern } = await exporter.generateKey();
      const imported = await importer.importKey(
        await exporter.transportKey(),
        await exporter.exportKey(handle, await importer.transportKey(), binding),
        binding,
      );
      assert.equal(probe.flag(probe.masterKey('guarded-importer'), p11.CKA_WRAP_WITH_TRUSTED), true);
      const aad = Buffer.from('key-1');
      const sealed = exporter.encrypt(handle, Buffer.from('material'), aad);
      await exporter.exportKey(handle, await importer.transportKey(), binding);
      assert.equal(importer.decrypt(imported, sealed, aad)?.toString(), 'material');
      assert.equal((await importer.generateKey()).pattern.length, pattern.length);
    } finally {
      probe.close();
      await exporter.close();
      await importer.close();
    }
  });

  it('stay in a unit configured without a Security Officer PIN, or with a wrong one, which keeps working', async () => {
    const peer = open('guarded-peer');
    for (const soPin of [undefined, '0000']) {
      const vault = Pkcs11Vault.open({ module: MODULE, tokenLabel: 'concord-test', pin: PIN, soPin, unitId: 'guarded-no-so' });
      try {
        await vault.transportKey();
        const { handle } = await vault.generateKey();
        await assert.rejects(
          vault.exportKey(handle, await peer.transportKey(), binding),
          (error: unknown) => error instanceof CryptoUnitError && (soPin ? /refused its Security Officer PIN/ : /no soPin or soPinEnv/).test(error.message),
        );
        const sealed = vault.encrypt(handle, Buffer.from('still here'), Buffer.alloc(0));
        assert.equal(vault.decrypt(handle, sealed, Buffer.alloc(0))?.toString(), 'still here');
      } finally {
        await vault.close();
      }
    }
    await peer.close();
  });

  it('finds its token by slot ID as by label, and says which slot holds none', async () => {
    const listing = execFileSync('softhsm2-util', ['--show-slots'], { encoding: 'utf8' });
    const slot = Number(/^Slot (\d+)\n(?:(?!^Slot ).*\n)*?\s+Label:\s+concord-test\s*$/m.exec(listing)![1]);
    const byLabel = open('by-slot');
    const bySlot = Pkcs11Vault.open({ module: MODULE, slot, pin: PIN, unitId: 'by-slot' });
    try {
      await byLabel.saveState('seen through either');
      assert.equal(await bySlot.loadState(), 'seen through either');
      assert.throws(() => Pkcs11Vault.open({ module: MODULE, slot: 424242, pin: PIN, unitId: 'nowhere' }), /no PKCS#11 token in slot 424242/);
    } finally {
      await byLabel.close();
      await bySlot.close();
    }
  });

  it('takes its PINs from environment variables when configured so, and says which variable is missing', async () => {
    process.env.CONCORD_TEST_PKCS11_PIN = PIN;
    process.env.CONCORD_TEST_PKCS11_SO_PIN = SO_PIN;
    const fromEnv = { module: MODULE, tokenLabel: 'concord-test', pinEnv: 'CONCORD_TEST_PKCS11_PIN', soPinEnv: 'CONCORD_TEST_PKCS11_SO_PIN' };
    const exporter = Pkcs11Vault.open({ ...fromEnv, unitId: 'env-exporter' });
    const importer = open('env-importer');
    try {
      const { handle } = await exporter.generateKey();
      await importer.importKey(await exporter.transportKey(), await exporter.exportKey(handle, await importer.transportKey(), binding), binding);
      assert.throws(
        () => Pkcs11Vault.open({ ...fromEnv, pinEnv: 'CONCORD_TEST_PKCS11_UNSET', unitId: 'env-missing' }),
        /CONCORD_TEST_PKCS11_UNSET, which should hold the PIN of crypto unit env-missing, is not set/,
      );
    } finally {
      await exporter.close();
      await importer.close();
    }
  });
});

describe('PKCS#11 and software crypto units together', () => {
  const softwareDir = mkdtempSync(join(tmpdir(), 'concord-mixed-'));
  after(() => {
    rmSync(softwareDir, { recursive: true, force: true });
    rmSync(tokenDir, { recursive: true, force: true });
  });

  it('moves a master key from a software recovery unit into a PKCS#11 operational unit and back, same pattern, same material', async () => {
    const admin = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const publicKey = signCommand(admin, Buffer.alloc(0)).publicKey;
    const software = await ManagedCryptoUnit.open(SoftwareVault.open(join(softwareDir, 'rec')), 'mixed-rec', 'recovery');
    const hsm = await ManagedCryptoUnit.open(open('mixed-op'), 'mixed-op', 'operational');
    const run = async (unit: ManagedCryptoUnit, command: Parameters<typeof canonicalCommand>[2], args: Record<string, string | number> = {}) => {
      const nonce = unit.info().nonce;
      const signatures = command === 'admin-add' ? [] : [signCommand(admin, canonicalCommand(unit.id, nonce, command, args))];
      return unit.execute({ command, args, nonce, signatures });
    };
    for (const unit of [software, hsm]) {
      await run(unit, 'admin-add', { name: 'admin', publicKey });
      await run(unit, 'thresholds-set', { signature: 1, revocation: 1 });
    }
    await run(software, 'mk-generate');
    const toHsm = await run(software, 'mk-export', {
      register: 'new',
      importer: hsm.info().transportKey,
      importerUnit: hsm.id,
      importerNonce: hsm.info().nonce,
    });
    await run(hsm, 'mk-load', {
      exporter: software.info().transportKey,
      exporterUnit: software.id,
      wrapped: toHsm.result!.wrapped!,
      pattern: toHsm.result!.pattern!,
    });
    for (const unit of [software, hsm]) {
      await run(unit, 'mk-commit');
      await run(unit, 'mk-set');
    }
    const aad = Buffer.from('key-1');
    const wrapped = await new RegionCryptoUnit([hsm]).wrap(Buffer.from('material'), aad);

    const softwareOperational = await ManagedCryptoUnit.open(SoftwareVault.open(join(softwareDir, 'op')), 'mixed-op2', 'operational');
    await run(softwareOperational, 'admin-add', { name: 'admin', publicKey });
    await run(softwareOperational, 'thresholds-set', { signature: 1, revocation: 1 });
    const back = await run(hsm, 'mk-export', {
      register: 'current',
      importer: softwareOperational.info().transportKey,
      importerUnit: softwareOperational.id,
      importerNonce: softwareOperational.info().nonce,
    });
    await run(softwareOperational, 'mk-recover', {
      exporter: hsm.info().transportKey,
      exporterUnit: hsm.id,
      wrapped: back.result!.wrapped!,
      pattern: back.result!.pattern!,
    });
    assert.equal(softwareOperational.register('current').pattern, hsm.register('current').pattern);
    assert.equal((await new RegionCryptoUnit([softwareOperational]).unwrap(wrapped, aad)).toString(), 'material');
    await hsm.close();
  });
});
