import type { Sealed } from '../crypto/index.ts';
import { applyCommand, requiredSignatures } from './unit-commands.ts';
import { canonicalCommand, signatureIsValid, type SignedCommand } from './signed-command.ts';
import { CryptoUnitError } from './unit-error.ts';
import { freshNonce, initialState, publicRegisters, REGISTER_NAMES, type Register, type UnitInfo, type UnitRole, type UnitState } from './unit-state.ts';
import type { UnitVault } from './unit-vault.ts';
import type { Exclusive } from './unit-sync.ts';

export interface CommandOutcome {
  info: UnitInfo;
  /** What the command produced besides a state change (an exported master key, wrapped). */
  result?: Record<string, string>;
}

/**
 * One crypto unit: its vault of secrets and the rules for changing it. Commands run one at
 * a time; each must carry enough administrator signatures over the command bound to this
 * unit and its current nonce, and each accepted command replaces the nonce.
 */
export class ManagedCryptoUnit {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly vault: UnitVault,
    private state: UnitState,
    private transport: Buffer,
    private readonly exclusive: Exclusive,
  ) {}

  /** `exclusive` serializes commands with those of the region's other nodes (UnitSync); a lone unit needs none. */
  static async open(vault: UnitVault, id: string, role: UnitRole, exclusive: Exclusive = (work) => work()): Promise<ManagedCryptoUnit> {
    const unit = new ManagedCryptoUnit(vault, await readState(vault, id, role), await vault.transportKey(), exclusive);
    await unit.destroyUnreferencedKeys();
    return unit;
  }

  /** Reads the unit again from its vault, which another node of the region changed. */
  async reload(): Promise<void> {
    await this.vault.reload();
    this.state = await readState(this.vault, this.state.id, this.state.role);
    this.transport = await this.vault.transportKey();
  }

  get id(): string {
    return this.state.id;
  }

  get role(): UnitRole {
    return this.state.role;
  }

  get generation(): number {
    return this.state.generation;
  }

  register(name: keyof UnitState['registers']): Readonly<Register> {
    return this.state.registers[name];
  }

  info(): UnitInfo {
    const s = this.state;
    return {
      id: s.id,
      role: s.role,
      backend: this.vault.backend,
      mode: s.mode,
      admins: s.admins.map((a) => ({ ...a })),
      signatureThreshold: s.signatureThreshold,
      revocationThreshold: s.revocationThreshold,
      registers: publicRegisters(s),
      nonce: s.nonce,
      transportKey: this.transport.toString('base64'),
    };
  }

  execute(signed: SignedCommand): Promise<CommandOutcome> {
    const run = this.queue.then(() => this.exclusive(() => this.executeNow(signed)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The register holding the master key with this verification pattern, if any. */
  holding(pattern: string): Readonly<Register> | undefined {
    return REGISTER_NAMES.map((name) => this.state.registers[name]).find((r) => r.state !== 'empty' && r.pattern === pattern);
  }

  encrypt(register: Readonly<Register>, plaintext: Buffer, aad: Buffer): Sealed {
    return this.vault.encrypt(register.handle!, plaintext, aad);
  }

  decrypt(register: Readonly<Register>, sealed: Sealed, aad: Buffer): Buffer | undefined {
    return this.vault.decrypt(register.handle!, sealed, aad);
  }

  async close(): Promise<void> {
    await this.queue;
    await this.vault.close();
  }

  private async executeNow(signed: SignedCommand): Promise<CommandOutcome> {
    const state = this.state;
    if (signed.nonce !== state.nonce) {
      throw new CryptoUnitError('StaleNonce', `The command was signed for another nonce of unit ${state.id}; fetch the unit again and sign anew.`);
    }
    this.checkSignatures(signed);
    const { next, result } = await applyCommand(state, signed.command, signed.args, this.vault);
    if (signed.command === 'zeroize') {
      await this.vault.zeroize();
      this.transport = await this.vault.transportKey();
    }
    await this.save({ ...next, nonce: freshNonce(), generation: registersChanged(state, next) ? state.generation + 1 : next.generation });
    await this.destroyUnreferencedKeys();
    return { info: this.info(), ...(result ? { result } : {}) };
  }

  private checkSignatures({ command, args, nonce, signatures }: SignedCommand): void {
    const state = this.state;
    const required = requiredSignatures(state, command, args);
    const message = canonicalCommand(state.id, nonce, command, args);
    const signers = new Set<string>();
    for (const { publicKey, signature } of signatures) {
      const admin = state.admins.find((a) => a.publicKey === publicKey);
      if (!admin) throw new CryptoUnitError('SignatureRequired', `A signature comes from a key that is not an administrator of unit ${state.id}.`);
      if (!signatureIsValid(publicKey, message, signature)) {
        throw new CryptoUnitError('SignatureRequired', `The signature of administrator ${admin.name} does not verify for this command on unit ${state.id}.`);
      }
      signers.add(publicKey);
    }
    if (signers.size < required) {
      throw new CryptoUnitError(
        'SignatureRequired',
        `Command ${command} on unit ${state.id} needs signatures from ${required} administrator(s); it has ${signers.size}.`,
      );
    }
  }

  private async save(state: UnitState): Promise<void> {
    await this.vault.saveState(JSON.stringify(state));
    this.state = state;
  }

  /** Values no register refers to: left over by a crash between storing a value and the state, or replaced. */
  private async destroyUnreferencedKeys(): Promise<void> {
    const used = new Set(REGISTER_NAMES.map((name) => this.state.registers[name].handle));
    for (const handle of await this.vault.handles()) if (!used.has(handle)) await this.vault.destroyKey(handle);
  }
}

async function readState(vault: UnitVault, id: string, role: UnitRole): Promise<UnitState> {
  const saved = await vault.loadState();
  const state = saved ? (JSON.parse(saved) as UnitState) : initialState(id, role);
  if (state.id !== id) throw new Error(`crypto unit storage holds unit ${state.id}, not ${id}`);
  if (!saved) await vault.saveState(JSON.stringify(state));
  return state;
}

const registersChanged = (before: UnitState, after: UnitState): boolean =>
  REGISTER_NAMES.some((name) => before.registers[name].handle !== after.registers[name].handle || before.registers[name].state !== after.registers[name].state);
