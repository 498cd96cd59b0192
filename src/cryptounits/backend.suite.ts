import assert from 'node:assert/strict';
import { createECDH, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aesKeyUnwrapPad } from '../crypto/index.ts';
import { SqliteStore } from '../store/index.ts';
import { MasterKeyUnavailableError } from './crypto-unit.ts';
import { transferKey } from './key-transfer.ts';
import { ManagedCryptoUnit, type CommandOutcome } from './managed-unit.ts';
import { RegionCryptoUnit } from './region-crypto-unit.ts';
import { Rewrapper, type WrappedRecords } from './rewrapper.ts';
import { canonicalCommand, signCommand, type CommandArgs, type CommandName } from './signed-command.ts';
import { CryptoUnitError } from './unit-error.ts';
import type { UnitRole } from './unit-state.ts';
import type { UnitVault } from './unit-vault.ts';

export interface BackendUnderTest {
  /** Opens the vault of a unit; opening the same ID again sees what was stored before. */
  open(unitId: string): Promise<UnitVault>;
  /** A directory holding everything the backend stores, searched for leaked key values. */
  storageDir: string;
  cleanup(): Promise<void>;
}

const admin = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const publicKeyOf = (key: KeyObject) => signCommand(key, Buffer.alloc(0)).publicKey;

async function run(unit: ManagedCryptoUnit, command: CommandName, args: CommandArgs, signers: KeyObject[]) {
  const nonce = unit.info().nonce;
  const message = canonicalCommand(unit.id, nonce, command, args);
  return unit.execute({ command, args, nonce, signatures: signers.map((key) => signCommand(key, message)) });
}

async function rejects(work: Promise<unknown>, kind: CryptoUnitError['kind'], pattern: RegExp) {
  await assert.rejects(work, (error: unknown) => error instanceof CryptoUnitError && error.kind === kind && pattern.test(error.message));
}

/** The same behaviour asked of every crypto unit backend. */
export function backendSuite(name: string, makeBackend: () => Promise<BackendUnderTest>): void {
  describe(`crypto units on the ${name} backend`, () => {
    let backend: BackendUnderTest;
    const admins = [admin(), admin(), admin()];
    const [alice, bob, carol] = admins as [KeyObject, KeyObject, KeyObject];

    before(async () => {
      backend = await makeBackend();
    });
    after(async () => backend.cleanup());

    const openUnit = async (id: string, role: UnitRole) => ManagedCryptoUnit.open(await backend.open(id), id, role);

    async function ceremony(unit: ManagedCryptoUnit): Promise<void> {
      for (const [i, key] of admins.entries()) await run(unit, 'admin-add', { name: `admin-${i}`, publicKey: publicKeyOf(key) }, []);
      await run(unit, 'thresholds-set', { signature: 2, revocation: 2 }, [alice, bob]);
    }

    /** mk-export's arguments for a transfer to `to`'s next command. */
    const exportTo = (to: ManagedCryptoUnit, register: 'new' | 'current') => ({
      register,
      importer: to.info().transportKey,
      importerUnit: to.id,
      importerNonce: to.info().nonce,
    });

    /** mk-load's or mk-recover's arguments for what `from` exported. */
    const takeFrom = (from: ManagedCryptoUnit, exported: CommandOutcome) => ({
      exporter: from.info().transportKey,
      exporterUnit: from.id,
      wrapped: exported.result!.wrapped!,
      pattern: exported.result!.pattern!,
    });

    async function transfer(from: ManagedCryptoUnit, register: 'new' | 'current', to: ManagedCryptoUnit, command: 'mk-load' | 'mk-recover') {
      const exported = await run(from, 'mk-export', exportTo(to, register), [alice, bob]);
      await run(to, command, takeFrom(from, exported), [alice, carol]);
    }

    async function initialise(units: ManagedCryptoUnit[]): Promise<string> {
      const recovery = units.find((u) => u.role === 'recovery')!;
      await run(recovery, 'mk-generate', {}, [alice, bob]);
      for (const unit of units) if (unit !== recovery) await transfer(recovery, 'new', unit, 'mk-load');
      for (const unit of units) await run(unit, 'mk-commit', {}, [bob, carol]);
      for (const unit of units) await run(unit, 'mk-set', {}, [alice, carol]);
      return recovery.register('current').pattern!;
    }

    it('reports a master key that another node zeroized as unavailable once it reloads, not as a backend failure', async () => {
      const [one, two] = [await backend.open('shared'), await backend.open('shared')];
      const { handle } = await one.generateKey();
      const aad = Buffer.from('aad');
      const sealed = one.encrypt(handle, Buffer.from('record'), aad);
      await two.reload();
      assert.equal(two.decrypt(handle, sealed, aad)?.toString(), 'record');
      await one.zeroize();
      await two.reload();
      assert.throws(() => two.decrypt(handle, sealed, aad), MasterKeyUnavailableError);
      assert.throws(() => two.encrypt(handle, Buffer.from('more'), aad), /auto-mk-recover/);
    });

    it('starts a unit in imprint mode with empty registers and keeps its state across a reopen', async () => {
      const unit = await openUnit('fresh', 'operational');
      assert.equal(unit.info().mode, 'imprint');
      assert.deepEqual(unit.info().registers, { new: { state: 'empty' }, current: { state: 'empty' }, old: { state: 'empty' } });
      await run(unit, 'admin-add', { name: 'alice', publicKey: publicKeyOf(alice) }, []);
      const reopened = await openUnit('fresh', 'operational');
      assert.deepEqual(reopened.info().admins, [{ name: 'alice', publicKey: publicKeyOf(alice) }]);
      assert.equal(reopened.info().transportKey, unit.info().transportKey);
    });

    it('leaves imprint mode only when thresholds are signed by as many administrators as the new threshold', async () => {
      const unit = await openUnit('imprint', 'operational');
      for (const [i, key] of admins.entries()) await run(unit, 'admin-add', { name: `admin-${i}`, publicKey: publicKeyOf(key) }, []);
      await rejects(run(unit, 'mk-commit', {}, []), 'InvalidState', /imprint mode.*cryptounit-admin-add/);
      await rejects(run(unit, 'thresholds-set', { signature: 2, revocation: 2 }, [alice]), 'SignatureRequired', /needs signatures from 2.*has 1/);
      await rejects(run(unit, 'thresholds-set', { signature: 4, revocation: 1 }, admins), 'InvalidRequest', /3 administrator\(s\)/);
      const { info } = await run(unit, 'thresholds-set', { signature: 2, revocation: 3 }, [alice, bob]);
      assert.equal(info.mode, 'normal');
      assert.equal(info.signatureThreshold, 2);
      await rejects(run(unit, 'admin-add', { name: 'dave', publicKey: publicKeyOf(admin()) }, [alice]), 'SignatureRequired', /needs signatures from 2/);
      await rejects(run(unit, 'admin-remove', { publicKey: publicKeyOf(carol) }, [alice, bob]), 'SignatureRequired', /needs signatures from 3/);
      await rejects(run(unit, 'admin-remove', { publicKey: publicKeyOf(carol) }, admins), 'InvalidState', /fewer administrators than its thresholds/);
    });

    it('refuses replayed nonces, signatures of strangers and forged signatures', async () => {
      const unit = await openUnit('signatures', 'operational');
      await ceremony(unit);
      const nonce = unit.info().nonce;
      const args = { name: 'dave', publicKey: publicKeyOf(admin()) };
      const message = canonicalCommand(unit.id, nonce, 'admin-add', args);
      const signed = { command: 'admin-add' as const, args, nonce, signatures: [signCommand(alice, message), signCommand(bob, message)] };
      await unit.execute(signed);
      await rejects(unit.execute(signed), 'StaleNonce', /another nonce/);
      const fresh = unit.info().nonce;
      const other = { name: 'erin', publicKey: publicKeyOf(admin()) };
      const otherMessage = canonicalCommand(unit.id, fresh, 'admin-add', other);
      await rejects(
        unit.execute({ command: 'admin-add', args: other, nonce: fresh, signatures: [signCommand(alice, otherMessage), signCommand(admin(), otherMessage)] }),
        'SignatureRequired',
        /not an administrator/,
      );
      const forLater = canonicalCommand('another-unit', fresh, 'admin-add', other);
      await rejects(
        unit.execute({ command: 'admin-add', args: other, nonce: fresh, signatures: [signCommand(alice, otherMessage), signCommand(bob, forLater)] }),
        'SignatureRequired',
        /does not verify/,
      );
    });

    it('checks administrator names, keys and the limit of eight', async () => {
      const unit = await openUnit('admins', 'recovery');
      await rejects(run(unit, 'admin-add', { name: 'x'.repeat(31), publicKey: publicKeyOf(alice) }, []), 'InvalidRequest', /1 to 30 characters/);
      await rejects(run(unit, 'admin-add', { name: 'rsa', publicKey: randomBytes(91).toString('base64') }, []), 'InvalidRequest', /P-256/);
      for (let i = 0; i < 8; i++) await run(unit, 'admin-add', { name: `a${i}`, publicKey: publicKeyOf(i === 0 ? alice : admin()) }, []);
      await rejects(run(unit, 'admin-add', { name: 'dup', publicKey: publicKeyOf(alice) }, []), 'InvalidRequest', /already an administrator/);
      await rejects(run(unit, 'admin-add', { name: 'ninth', publicKey: publicKeyOf(admin()) }, []), 'InvalidRequest', /already has 8/);
    });

    it('creates a master key in a recovery unit, transfers it wrapped and serves it from the current registers', async () => {
      const operational = await openUnit('op-init', 'operational');
      const recovery = await openUnit('rec-init', 'recovery');
      for (const unit of [operational, recovery]) await ceremony(unit);
      await rejects(run(operational, 'mk-generate', {}, [alice, bob]), 'InvalidState', /created in a recovery unit/);
      await rejects(run(operational, 'mk-set', {}, [alice, bob]), 'InvalidState', /new master key register .* is empty/);
      const pattern = await initialise([operational, recovery]);
      assert.equal(operational.register('current').pattern, pattern);
      assert.equal(operational.info().registers.current.state, 'valid');
      const region = new RegionCryptoUnit([operational, recovery]);
      const aad = Buffer.from('key-1');
      const wrapped = await region.wrap(Buffer.from('material'), aad);
      assert.equal((await region.unwrap(wrapped, aad)).toString(), 'material');
      await assert.rejects(region.unwrap(wrapped, Buffer.from('key-2')), /failed authentication/);
      const reopened = new RegionCryptoUnit([await openUnit('op-init', 'operational')]);
      assert.equal((await reopened.unwrap(wrapped, aad)).toString(), 'material');
    });

    it('refuses a wrapped master key made for another unit', async () => {
      const recovery = await openUnit('rec-wrong', 'recovery');
      const target = await openUnit('op-wrong', 'operational');
      const bystander = await openUnit('op-bystander', 'operational');
      for (const unit of [recovery, target, bystander]) await ceremony(unit);
      await run(recovery, 'mk-generate', {}, [alice, bob]);
      const exported = await run(recovery, 'mk-export', exportTo(target, 'new'), [alice, bob]);
      await rejects(run(bystander, 'mk-load', takeFrom(recovery, exported), [alice, bob]), 'InvalidRequest', /not made for this unit/);
      // Told it comes from another unit, the target derives another wrapping key.
      await rejects(
        run(target, 'mk-load', { ...takeFrom(recovery, exported), exporterUnit: bystander.id }, [alice, bob]),
        'InvalidRequest',
        /not made for this unit/,
      );
      await run(target, 'mk-load', takeFrom(recovery, exported), [alice, bob]);
    });

    it('refuses a wrapped master key replayed into a later command of the unit it was made for', async () => {
      const recovery = await openUnit('rec-replay', 'recovery');
      const target = await openUnit('op-replay', 'operational');
      for (const unit of [recovery, target]) await ceremony(unit);
      await initialise([target, recovery]);
      await run(target, 'zeroize', {}, [alice, bob]);
      await ceremony(target);
      const exported = await run(recovery, 'mk-export', exportTo(target, 'current'), [alice, bob]);
      await run(target, 'mk-recover', takeFrom(recovery, exported), [alice, bob]);
      // The same wrapped value, signed again for the unit's next nonce, no longer opens.
      await rejects(run(target, 'mk-recover', takeFrom(recovery, exported), [alice, bob]), 'InvalidRequest', /not made for this unit/);
    });

    it('refuses a transfer whose binding arguments are missing or malformed', async () => {
      const recovery = await openUnit('rec-args', 'recovery');
      await ceremony(recovery);
      await run(recovery, 'mk-generate', {}, [alice, bob]);
      const { importer } = exportTo(recovery, 'new');
      await rejects(run(recovery, 'mk-export', { register: 'new', importer }, [alice, bob]), 'InvalidRequest', /'importerUnit' must be a string/);
      await rejects(
        run(recovery, 'mk-export', { register: 'new', importer, importerUnit: '', importerNonce: 'ab' }, [alice, bob]),
        'InvalidRequest',
        /crypto unit ID/,
      );
      await rejects(
        run(recovery, 'mk-export', { register: 'new', importer, importerUnit: 'x', importerNonce: 'ab' }, [alice, bob]),
        'InvalidRequest',
        /crypto unit nonce/,
      );
    });

    it('never stores a master key value where it can be read', async () => {
      const recovery = await openUnit('rec-leak', 'recovery');
      await ceremony(recovery);
      await run(recovery, 'mk-generate', {}, [alice, bob]);
      const probe = createECDH('prime256v1');
      probe.generateKeys();
      const binding = { exporter: recovery.id, importer: 'probe', nonce: randomBytes(16).toString('hex') };
      const exported = await run(
        recovery,
        'mk-export',
        { register: 'new', importer: probe.getPublicKey().toString('base64'), importerUnit: binding.importer, importerNonce: binding.nonce },
        [alice, bob],
      );
      const kek = transferKey(probe.getPrivateKey(), Buffer.from(recovery.info().transportKey, 'base64'), binding);
      const value = aesKeyUnwrapPad(kek, Buffer.from(exported.result!.wrapped!, 'base64'))!;
      assert.equal(value.length, 32);
      for (const file of filesUnder(backend.storageDir)) {
        const content = readFileSync(file);
        assert.equal(content.includes(value), false, `${file} holds the master key in the clear`);
        assert.equal(content.includes(Buffer.from(value.toString('base64'))), false, `${file} holds the master key in base64`);
      }
    });

    it('rotates: the old register still unwraps, stored records are re-wrapped in batches, and a zeroized unit is recovered', async () => {
      const operational = await openUnit('op-rotate', 'operational');
      const recovery = await openUnit('rec-rotate', 'recovery');
      for (const unit of [operational, recovery]) await ceremony(unit);
      const first = await initialise([operational, recovery]);
      const region = new RegionCryptoUnit([operational, recovery]);
      const store = new SqliteStore(':memory:');
      const records: WrappedRecords = {
        prefix: 'thing/',
        async rewrap(value, reseal) {
          const record = JSON.parse(value) as { id: string; wrapped: string };
          const wrapped = await reseal(Buffer.from(record.wrapped, 'base64'), Buffer.from(record.id));
          return JSON.stringify({ ...record, wrapped: wrapped.toString('base64') });
        },
      };
      await store.transaction(async (tx) => {
        for (let i = 0; i < 25; i++) {
          const id = `t${String(i).padStart(3, '0')}`;
          tx.put(`thing/${id}`, JSON.stringify({ id, wrapped: (await region.wrap(Buffer.from(`secret ${i}`), Buffer.from(id))).toString('base64') }));
        }
      });
      const generationBefore = region.generation;

      await run(recovery, 'mk-generate', {}, [alice, bob]);
      const rewrapper = new Rewrapper(store, region, [records]);
      assert.equal(await rewrapper.count(), 25);
      const pattern = recovery.register('new').pattern!;
      assert.notEqual(pattern, first);
      await transfer(recovery, 'new', operational, 'mk-load');
      assert.equal(region.wrapPattern(), pattern);
      let cursor: string | undefined;
      let rewrapped = 0;
      do {
        const progress = await rewrapper.batch(pattern, cursor, 10);
        rewrapped += progress.rewrapped;
        cursor = progress.cursor;
      } while (cursor !== undefined);
      assert.equal(rewrapped, 25);
      assert.equal((await rewrapper.batch(pattern, undefined, 100)).rewrapped, 0);
      for (const unit of [operational, recovery]) await run(unit, 'mk-commit', {}, [alice, bob]);
      for (const unit of [operational, recovery]) await run(unit, 'mk-set', {}, [alice, bob]);
      assert.equal(operational.register('old').pattern, first);
      assert.ok(region.generation > generationBefore);
      const rows = await store.list('thing/');
      for (const [i, row] of rows.entries()) {
        const record = JSON.parse(row.value) as { id: string; wrapped: string };
        assert.equal((await region.unwrap(Buffer.from(record.wrapped, 'base64'), Buffer.from(record.id))).toString(), `secret ${i}`);
      }

      await run(operational, 'zeroize', {}, [alice, bob]);
      assert.equal(operational.info().mode, 'imprint');
      const sample = JSON.parse(rows[0]!.value) as { id: string; wrapped: string };
      await assert.rejects(region.unwrap(Buffer.from(sample.wrapped, 'base64'), Buffer.from(sample.id)), MasterKeyUnavailableError);
      await ceremony(operational);
      await transfer(recovery, 'current', operational, 'mk-recover');
      assert.equal((await region.unwrap(Buffer.from(sample.wrapped, 'base64'), Buffer.from(sample.id))).toString(), 'secret 0');
      await store.close();
    });
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
