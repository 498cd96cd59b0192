import { createPublicKey, type KeyObject } from 'node:crypto';
import type { CommandOutcome, ManagedCryptoUnit } from './managed-unit.ts';
import { MasterKeyCeremony, signersFor, type CeremonySession, type UnitView } from './master-key-ceremony.ts';
import { canonicalCommand, signCommand, type CommandArgs, type CommandName } from './signed-command.ts';
import type { SoftwareCryptoUnit } from './software-unit.ts';
import { CryptoUnitError } from './unit-error.ts';
import type { Admin } from './unit-state.ts';

/** The exporter a single-file unit's key is bound to as it moves into a managed unit (adopt). */
const SINGLE_FILE_UNIT = 'single-file-unit';

export interface StartupPlan {
  /** Every unit in imprint mode gets exactly these administrators, then these thresholds. */
  admins: Admin[];
  thresholds: { signature: number; revocation: number };
  /** When no unit holds a master key: create one in a recovery unit. */
  autoInit: boolean;
  /** When no unit holds a master key: take over this single-file unit's (before autoInit). */
  adopt?: SoftwareCryptoUnit;
}

/**
 * The ceremony a region runs on its own units as it starts (`concord dev`, a server with
 * `cryptoUnits.administrators`): the same signed commands `concord tke` would send, signed in
 * process with administrator keys the region was given, so no unit ever holds a master key in
 * imprint mode and none leaves it but through its thresholds. The caller holds the region's
 * units exclusively (UnitSync) while it runs.
 */
export class StartupCeremony implements CeremonySession<ManagedCryptoUnit> {
  private readonly signers: { publicKey: string; key: KeyObject }[];
  private readonly steps: MasterKeyCeremony<ManagedCryptoUnit>;

  constructor(
    private readonly units: readonly ManagedCryptoUnit[],
    signers: KeyObject[],
    private readonly say: (line: string) => void,
  ) {
    this.signers = signers.map((key) => ({ publicKey: createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('base64'), key }));
    this.steps = new MasterKeyCeremony(this, say);
  }

  chosen(): Promise<UnitView<ManagedCryptoUnit>[]> {
    return Promise.resolve(this.units.map((unit) => ({ ref: unit, info: unit.info() })));
  }

  async run(unit: ManagedCryptoUnit, command: CommandName, args: CommandArgs = {}): Promise<CommandOutcome> {
    const info = unit.info();
    const { needed, signers } = signersFor(info, command, args, this.signers);
    if (signers.length < needed) {
      throw new CryptoUnitError(
        'SignatureRequired',
        `Command ${command} on unit ${unit.id} needs signatures from ${needed} of its administrators; the region holds the keys of ${signers.length}.`,
      );
    }
    const message = canonicalCommand(unit.id, info.nonce, command, args);
    return unit.execute({ command, args, nonce: info.nonce, signatures: signers.map(({ key }) => signCommand(key, message)) });
  }

  async setUp(plan: StartupPlan): Promise<void> {
    for (const unit of this.units) if (unit.info().mode === 'imprint') await this.imprint(unit, plan);
    await this.loadMasterKey(plan);
  }

  /** Takes a unit out of imprint mode with exactly the planned administrators: one somebody added meanwhile is removed first. */
  private async imprint(unit: ManagedCryptoUnit, { admins, thresholds }: StartupPlan): Promise<void> {
    for (const stranger of unit.info().admins.filter((a) => !admins.some((b) => b.publicKey === a.publicKey))) {
      await this.run(unit, 'admin-remove', { publicKey: stranger.publicKey });
      this.say(`Removed administrator ${stranger.name}, whom the configuration does not name, from unit ${unit.id} in imprint mode.`);
    }
    for (const admin of admins.filter((a) => !unit.info().admins.some((b) => b.publicKey === a.publicKey))) {
      await this.run(unit, 'admin-add', { name: admin.name, publicKey: admin.publicKey });
    }
    await this.run(unit, 'thresholds-set', { ...thresholds });
    this.say(
      `Unit ${unit.id} left imprint mode: ${admins.length} administrator(s), signature threshold ${thresholds.signature}, revocation threshold ${thresholds.revocation}.`,
    );
  }

  /**
   * Gives the units a master key when none holds one, or finishes loading the one a start that
   * stopped half way had begun. Units where some hold a key and others do not are left to the
   * administrators: a unit zeroized on purpose is not refilled behind their backs.
   */
  private async loadMasterKey({ autoInit, adopt }: StartupPlan): Promise<void> {
    const views = await this.chosen();
    const lacking = views.filter((v) => v.info.registers.current.state === 'empty');
    if (lacking.length < views.length) {
      if (lacking.length > 0) {
        this.say(`Unit(s) ${lacking.map((v) => v.ref.id).join(', ')} hold no current master key; recover it with 'concord tke auto-mk-recover'.`);
      }
      return;
    }
    const loading = this.steps.loadingPattern(views);
    if (!loading && !adopt && !autoInit) return;
    this.steps.check(
      views,
      this.signers.map((s) => s.publicKey),
    );
    const pattern = loading ?? (adopt ? await this.adopt(views, adopt) : await this.steps.newMasterKey(views));
    await this.steps.loadEverywhere(pattern);
    await this.steps.commitAndSet();
    this.say(`Master key ${pattern} is current in ${views.length} crypto unit(s).`);
  }

  /** Loads a single-file unit's master key into the new register of a recovery unit, wrapped for it as a unit would export it. */
  private async adopt(views: UnitView<ManagedCryptoUnit>[], single: SoftwareCryptoUnit): Promise<string> {
    const recovery = views.find((v) => v.info.role === 'recovery')!;
    const binding = { exporter: SINGLE_FILE_UNIT, importer: recovery.info.id, nonce: recovery.info.nonce };
    const { exporter, wrapped, pattern } = single.exportKey(Buffer.from(recovery.info.transportKey, 'base64'), binding);
    await this.run(recovery.ref, 'mk-load', {
      exporter: exporter.toString('base64'),
      exporterUnit: SINGLE_FILE_UNIT,
      wrapped: wrapped.toString('base64'),
      pattern: pattern.toString('hex'),
    });
    this.say(`Loaded the master key ${pattern.toString('hex')} of a single-file crypto unit into recovery unit ${recovery.ref.id}.`);
    return pattern.toString('hex');
  }
}
