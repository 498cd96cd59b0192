import { MasterKeyUnavailableError, type CryptoUnit } from './crypto-unit.ts';
import type { ManagedCryptoUnit } from './managed-unit.ts';
import { CryptoUnitError } from './unit-error.ts';
import type { Register } from './unit-state.ts';
import type { UnitSync } from './unit-sync.ts';
import { encodeWrapped, patternOf, sealedOf } from './wrapped-key.ts';

/**
 * A region's crypto units seen as one CryptoUnit. Its operational units serve it: material
 * is wrapped under the new register while a rotation has loaded one (so nothing is left
 * behind under the outgoing key), otherwise under the current one, and unwrapped by
 * whichever register holds the master key named in the wrapped blob. With `sync`, a master key
 * it does not hold may have arrived, or one it holds been zeroized, through another node: it
 * looks once before refusing.
 */
export class RegionCryptoUnit implements CryptoUnit {
  constructor(
    readonly units: readonly ManagedCryptoUnit[],
    private readonly sync?: UnitSync,
  ) {}

  get generation(): number {
    return this.units.reduce((sum, unit) => sum + unit.generation, 0);
  }

  unit(id: string): ManagedCryptoUnit {
    const unit = this.units.find((u) => u.id === id);
    if (!unit) throw new CryptoUnitError('NotFound', `This region has no crypto unit '${id}'.`);
    return unit;
  }

  /** Takes in what other nodes of the region changed in the units, so what is shown next is current. */
  async refresh(): Promise<void> {
    await this.sync?.check();
  }

  /** The verification pattern new material is wrapped under, if the region has a usable master key. */
  wrapPattern(): string | undefined {
    const operational = this.units.filter((u) => u.role === 'operational');
    const loading = operational.find((u) => u.register('new').state !== 'empty');
    if (loading) return loading.register('new').pattern;
    return operational.find((u) => u.register('current').state === 'valid')?.register('current').pattern;
  }

  async wrap(plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    return this.orAfterCheck(() => {
      const pattern = this.wrapPattern();
      if (!pattern) throw new MasterKeyUnavailableError();
      return this.wrapUnder(pattern, plaintext, aad);
    });
  }

  wrapUnder(pattern: string, plaintext: Buffer, aad: Buffer): Buffer {
    const [unit, register] = this.holder(pattern);
    return encodeWrapped(Buffer.from(pattern, 'hex'), unit.encrypt(register, plaintext, aad));
  }

  async unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    const pattern = patternOf(wrapped);
    if (!pattern) throw new Error('stored key material is not in the wrapped format');
    const plaintext = await this.orAfterCheck(() => {
      const [unit, register] = this.holder(pattern.toString('hex'));
      return unit.decrypt(register, sealedOf(wrapped), aad);
    });
    if (!plaintext) throw new Error('stored key material failed authentication');
    return plaintext;
  }

  async close(): Promise<void> {
    this.sync?.stop();
    for (const unit of this.units) await unit.close();
  }

  private async orAfterCheck<T>(use: () => T): Promise<T> {
    try {
      return use();
    } catch (error) {
      if (!this.sync || !(error instanceof MasterKeyUnavailableError)) throw error;
      await this.sync.check();
      return use();
    }
  }

  private holder(pattern: string): [ManagedCryptoUnit, Readonly<Register>] {
    for (const unit of this.units) {
      if (unit.role !== 'operational') continue;
      const register = unit.holding(pattern);
      if (register) return [unit, register];
    }
    throw new MasterKeyUnavailableError(
      `No operational crypto unit of this region holds the master key ${pattern}; recover it with 'concord tke auto-mk-recover'.`,
    );
  }
}
