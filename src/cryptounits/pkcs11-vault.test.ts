import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { backendSuite } from './backend.suite.ts';
import { ManagedCryptoUnit } from './managed-unit.ts';
import { Pkcs11Vault } from './pkcs11-vault.ts';
import { RegionCryptoUnit } from './region-crypto-unit.ts';
import { canonicalCommand, signCommand } from './signed-command.ts';
import { SoftwareVault } from './software-vault.ts';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '1234';

/** A SoftHSM2 token of its own in a temporary directory; SoftHSM reads SOFTHSM2_CONF when the library is initialised. */
function softHsmToken(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'concord-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', PIN, '--so-pin', '5678'], { stdio: 'ignore' });
  return dir;
}

const tokenDir = softHsmToken('concord-test');
const open = (unitId: string) => Pkcs11Vault.open({ module: MODULE, tokenLabel: 'concord-test', pin: PIN, unitId });

backendSuite('PKCS#11 (SoftHSM2)', async () => {
  const vaults: Pkcs11Vault[] = [];
  return {
    storageDir: join(tokenDir, 'tokens'),
    open: async (unitId) => {
      const vault = open(unitId);
      vaults.push(vault);
      return vault;
    },
    cleanup: async () => {
      for (const vault of vaults) await vault.close();
    },
  };
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
    const toHsm = await run(software, 'mk-export', { register: 'new', importer: hsm.info().transportKey });
    await run(hsm, 'mk-load', { exporter: software.info().transportKey, wrapped: toHsm.result!.wrapped!, pattern: toHsm.result!.pattern! });
    for (const unit of [software, hsm]) {
      await run(unit, 'mk-commit');
      await run(unit, 'mk-set');
    }
    const aad = Buffer.from('key-1');
    const wrapped = await new RegionCryptoUnit([hsm]).wrap(Buffer.from('material'), aad);

    const softwareOperational = await ManagedCryptoUnit.open(SoftwareVault.open(join(softwareDir, 'op')), 'mixed-op2', 'operational');
    await run(softwareOperational, 'admin-add', { name: 'admin', publicKey });
    await run(softwareOperational, 'thresholds-set', { signature: 1, revocation: 1 });
    const back = await run(hsm, 'mk-export', { register: 'current', importer: softwareOperational.info().transportKey });
    await run(softwareOperational, 'mk-recover', { exporter: hsm.info().transportKey, wrapped: back.result!.wrapped!, pattern: back.result!.pattern! });
    assert.equal(softwareOperational.register('current').pattern, hsm.register('current').pattern);
    assert.equal((await new RegionCryptoUnit([softwareOperational]).unwrap(wrapped, aad)).toString(), 'material');
    await hsm.close();
  });
});
