import type { CommandOutcome } from './managed-unit.ts';
import { signaturesNeeded } from './unit-commands.ts';
import type { CommandArgs, CommandName } from './signed-command.ts';
import { CryptoUnitError } from './unit-error.ts';
import type { UnitInfo } from './unit-state.ts';

/** A unit the ceremony works on: how its session names it, and what it says of itself now. */
export interface UnitView<R> {
  ref: R;
  info: UnitInfo;
}

/**
 * Where the ceremony's commands go: signed by the administrators' keys and sent to a region's
 * /mgmt/v1 (`concord tke`), or run on the units in process by a region setting them up as it
 * starts. Either way each command carries the signatures its unit requires.
 */
export interface CeremonySession<R extends { id: string }> {
  chosen(): Promise<UnitView<R>[]>;
  run(ref: R, command: CommandName, args?: CommandArgs): Promise<CommandOutcome>;
}

/** The administrators among `keys` who sign a command on a unit: as many as it requires, fewer only if `keys` holds too few of its administrators. */
export function signersFor<K extends { publicKey: string }>(
  info: UnitInfo,
  command: CommandName,
  args: CommandArgs,
  keys: readonly K[],
): { needed: number; signers: K[] } {
  const needed = signaturesNeeded(info, command, args);
  return { needed, signers: keys.filter((key) => info.admins.some((a) => a.publicKey === key.publicKey)).slice(0, needed) };
}

/**
 * The steps of the automatic master key commands (IBM TKE's auto-init, auto-mk-rotate,
 * auto-mk-recover): a master key created in a recovery unit, moved into the other units only
 * through their transport keys by signed export and load commands, then committed and made
 * current. Every step looks at the registers first, so a run stopped half way resumes.
 */
export class MasterKeyCeremony<R extends { id: string }> {
  constructor(
    private readonly session: CeremonySession<R>,
    private readonly say: (line: string) => void,
  ) {}

  /**
   * What every automatic command needs of the units before it changes anything: out of imprint
   * mode, one signature threshold, a common set of administrators whose keys the signer holds
   * (`signerKeys`, their public keys) that can meet it, and a recovery unit.
   */
  check(views: UnitView<R>[], signerKeys: readonly string[]): void {
    const imprint = views.find((v) => v.info.mode === 'imprint');
    if (imprint) {
      refuse(
        `Unit ${imprint.ref.id} is in imprint mode: add administrators with 'concord tke cryptounit-admin-add' and set its thresholds with 'concord tke cryptounit-thrhld-set' first.`,
      );
    }
    const thresholds = new Set(views.map((v) => v.info.signatureThreshold));
    if (thresholds.size > 1) {
      const list = views.map((v) => `${v.ref.id}: ${v.info.signatureThreshold}`).join(', ');
      refuse(`The chosen units have different signature thresholds (${list}); make them equal with 'concord tke cryptounit-thrhld-set'.`);
    }
    const threshold = views[0]!.info.signatureThreshold;
    const common = signerKeys.filter((key) => views.every((v) => v.info.admins.some((a) => a.publicKey === key)));
    if (common.length < threshold) {
      refuse(
        `No common set of administrators can meet the signature threshold ${threshold}: the signature keys at hand belong to ${common.length} administrator(s) common to every chosen unit. Add the same administrators to every unit with 'concord tke cryptounit-admin-add', or load their keys into the workspace.`,
      );
    }
    if (!views.some((v) => v.info.role === 'recovery')) {
      refuse("None of the chosen units is a recovery unit; choose one with 'concord tke cryptounit-add --endpoint URL --unit ID'.");
    }
  }

  /** auto-init: a random master key created in a recovery unit, copied into every unit, committed and made current. */
  async autoInit(views: UnitView<R>[]): Promise<void> {
    const holding = views.find((v) => v.info.registers.current.state !== 'empty');
    if (holding && this.loadingPattern(views) === undefined) {
      refuse(
        `Unit ${holding.ref.id} already holds a current master key; replace it with 'concord tke auto-mk-rotate' or copy a recovery unit's with 'concord tke auto-mk-recover'.`,
      );
    }
    const pattern = await this.newMasterKey(views);
    await this.loadEverywhere(pattern);
    await this.commitAndSet();
    this.say(`Master key ${pattern} initialised in ${views.length} crypto unit(s).`);
  }

  /** The master key some new register holds, which a stopped command was loading. */
  loadingPattern(views: UnitView<R>[]): string | undefined {
    const patterns = new Set(views.flatMap((v) => (v.info.registers.new.pattern ? [v.info.registers.new.pattern] : [])));
    if (patterns.size > 1) {
      refuse(
        `The new master key registers of the chosen units hold different values (${[...patterns].join(', ')}); compare them with 'concord tke cryptounit-compare'.`,
      );
    }
    return [...patterns][0];
  }

  /** The master key being loaded, or a new one created in the new register of the first recovery unit. */
  async newMasterKey(views: UnitView<R>[]): Promise<string> {
    const loading = this.loadingPattern(views);
    if (loading) return loading;
    const recovery = views.find((v) => v.info.role === 'recovery')!;
    const outcome = await this.session.run(recovery.ref, 'mk-generate');
    this.say(`Created a new master key ${outcome.info.registers.new.pattern} in recovery unit ${recovery.ref.id}.`);
    return outcome.info.registers.new.pattern!;
  }

  /** Copies the master key `pattern` from the unit holding it into the new register of every unit that lacks it. */
  async loadEverywhere(pattern: string): Promise<void> {
    const views = await this.session.chosen();
    const source = views.find((v) => v.info.registers.new.pattern === pattern) ?? views.find((v) => v.info.registers.current.pattern === pattern);
    if (!source) refuse(`No chosen unit holds master key ${pattern} any more; start again with 'concord tke auto-mk-rotate'.`);
    const register = source.info.registers.new.pattern === pattern ? 'new' : 'current';
    for (const target of views) {
      if (target.info.registers.new.state !== 'empty' || target.info.registers.current.pattern === pattern) continue;
      await this.transfer(source, register, target, 'mk-load', pattern);
      this.say(`Loaded master key ${pattern} into the new register of unit ${target.ref.id}.`);
    }
  }

  /** Moves master key `pattern` from a register of `source` into `target`, wrapped for the target's next command (its present nonce), which takes it in. */
  async transfer(source: UnitView<R>, register: 'new' | 'current', target: UnitView<R>, command: 'mk-load' | 'mk-recover', pattern: string): Promise<void> {
    const importer = { importer: target.info.transportKey, importerUnit: target.info.id, importerNonce: target.info.nonce };
    const exported = await this.session.run(source.ref, 'mk-export', { register, ...importer });
    await this.session.run(target.ref, command, {
      exporter: source.info.transportKey,
      exporterUnit: source.info.id,
      wrapped: exported.result!.wrapped!,
      pattern,
    });
  }

  async commitAndSet(): Promise<void> {
    for (const view of await this.session.chosen()) {
      if (view.info.registers.new.state === 'full-uncommitted') await this.session.run(view.ref, 'mk-commit');
    }
    for (const view of await this.session.chosen()) {
      if (view.info.registers.new.state === 'full-committed') await this.session.run(view.ref, 'mk-set');
    }
  }
}

function refuse(message: string): never {
  throw new CryptoUnitError('InvalidState', message);
}
