import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManagedCryptoUnit } from './managed-unit.ts';
import { RegionCryptoUnit } from './region-crypto-unit.ts';
import { canonicalCommand, signCommand, type CommandArgs, type CommandName } from './signed-command.ts';
import { SoftwareCryptoUnit } from './software-unit.ts';
import { SoftwareVault } from './software-vault.ts';
import { StartupCeremony, type StartupPlan } from './startup-ceremony.ts';
import { CryptoUnitError } from './unit-error.ts';
import { REGISTER_NAMES } from './unit-state.ts';

const keyPair = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const publicKeyOf = (key: KeyObject) => signCommand(key, Buffer.alloc(0)).publicKey;

async function openUnits(): Promise<ManagedCryptoUnit[]> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-startup-ceremony-'));
  return [
    await ManagedCryptoUnit.open(SoftwareVault.open(join(dir, 'op')), 'op', 'operational'),
    await ManagedCryptoUnit.open(SoftwareVault.open(join(dir, 'rec')), 'rec', 'recovery'),
  ];
}

async function run(unit: ManagedCryptoUnit, command: CommandName, args: CommandArgs, signers: KeyObject[]) {
  const nonce = unit.info().nonce;
  const message = canonicalCommand(unit.id, nonce, command, args);
  return unit.execute({ command, args, nonce, signatures: signers.map((key) => signCommand(key, message)) });
}

describe('the ceremony a region runs on its own units as it starts', () => {
  const alice = keyPair();
  const bob = keyPair();
  const plan = (more: Partial<StartupPlan> = {}): StartupPlan => ({
    admins: [
      { name: 'alice', publicKey: publicKeyOf(alice) },
      { name: 'bob', publicKey: publicKeyOf(bob) },
    ],
    thresholds: { signature: 1, revocation: 2 },
    autoInit: true,
    ...more,
  });

  it('gives units the configured administrators only, sets their thresholds, then a master key created in the recovery unit', async () => {
    const units = await openUnits();
    const stranger = keyPair();
    await run(units[0]!, 'admin-add', { name: 'stranger', publicKey: publicKeyOf(stranger) }, []);
    await new StartupCeremony(units, [alice], () => undefined).setUp(plan());
    for (const unit of units) {
      const info = unit.info();
      assert.deepEqual([info.mode, info.signatureThreshold, info.revocationThreshold, info.admins.map((a) => a.name)], ['normal', 1, 2, ['alice', 'bob']]);
      assert.equal(info.registers.current.state, 'valid');
    }
    assert.equal(units[0]!.register('current').pattern, units[1]!.register('current').pattern);
    const region = new RegionCryptoUnit(units);
    assert.equal((await region.unwrap(await region.wrap(Buffer.from('secret'), Buffer.from('aad')), Buffer.from('aad'))).toString(), 'secret');
  });

  it("takes over a single-file unit's master key, so its ciphertext unwraps", async () => {
    const units = await openUnits();
    const single = SoftwareCryptoUnit.openOrInit(join(mkdtempSync(join(tmpdir(), 'concord-single-')), 'crypto-unit.json'));
    const wrapped = await single.wrap(Buffer.from('from the single file'), Buffer.from('aad'));
    await new StartupCeremony(units, [alice], () => undefined).setUp(plan({ autoInit: false, adopt: single }));
    for (const unit of units) assert.equal(unit.register('current').pattern, single.pattern);
    assert.equal((await new RegionCryptoUnit(units).unwrap(wrapped, Buffer.from('aad'))).toString(), 'from the single file');
  });

  it('finishes an initialisation a start stopped half way, with the master key it had created', async () => {
    const units = await openUnits();
    await new StartupCeremony(units, [alice], () => undefined).setUp(plan({ autoInit: false }));
    const pattern = (await run(units[1]!, 'mk-generate', {}, [alice])).info.registers.new.pattern;
    await new StartupCeremony(units, [alice], () => undefined).setUp(plan());
    for (const unit of units) assert.deepEqual([unit.register('current').pattern, unit.register('new').state], [pattern, 'empty']);
  });

  it('leaves a unit its administrators zeroized empty while the others hold a master key', async () => {
    const units = await openUnits();
    await new StartupCeremony(units, [alice], () => undefined).setUp(plan());
    await run(units[0]!, 'zeroize', {}, [alice]);
    const said: string[] = [];
    await new StartupCeremony(units, [alice], (line) => said.push(line)).setUp(plan());
    assert.equal(units[0]!.info().mode, 'normal');
    for (const name of REGISTER_NAMES) assert.equal(units[0]!.register(name).state, 'empty');
    assert.match(said.join('\n'), /Unit\(s\) op hold no current master key; recover it with 'concord tke auto-mk-recover'/);
  });

  it('refuses to load a master key into units whose administrators it cannot sign for', async () => {
    const units = await openUnits();
    await new StartupCeremony(units, [alice], () => undefined).setUp(plan({ autoInit: false, thresholds: { signature: 1, revocation: 1 } }));
    await run(units[1]!, 'admin-remove', { publicKey: publicKeyOf(alice) }, [bob]);
    await assert.rejects(
      new StartupCeremony(units, [alice], () => undefined).setUp(plan()),
      (error: unknown) => error instanceof CryptoUnitError && /No common set of administrators can meet the signature threshold 1/.test(error.message),
    );
    for (const unit of units) assert.equal(unit.register('new').state, 'empty');
  });
});
