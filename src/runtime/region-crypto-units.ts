import { existsSync, rmSync } from 'node:fs';
import type { Logger } from 'pino';
import type { CryptoUnitConfig, RegionConfig } from '../config/index.ts';
import {
  ManagedCryptoUnit,
  Pkcs11Vault,
  RegionCryptoUnit,
  Rewrapper,
  SoftwareCryptoUnit,
  SoftwareVault,
  UnitSync,
  type CryptoUnit,
  type UnitVault,
} from '../cryptounits/index.ts';
import { wrappedKeyRecords } from '../kms/index.ts';
import type { Store } from '../store/index.ts';

export interface RegionCryptoUnits {
  /** What the key service wraps and unwraps with. */
  unit: CryptoUnit;
  /** The management API's view, absent for a region configured with a single-file unit. */
  mgmt?: { units: RegionCryptoUnit; rewrapper: Rewrapper };
  close(): Promise<void>;
}

/**
 * Opens the region's crypto units and, for development deployments, gives them a master key.
 * Nodes sharing the store see each other's unit changes through UnitSync; they open and set
 * up the units one at a time, so two nodes starting at once create one master key, not two.
 */
export async function openRegionCryptoUnits(config: Readonly<RegionConfig>, store: Store, log: Logger): Promise<RegionCryptoUnits> {
  const cryptoUnits = config.cryptoUnits;
  if (!cryptoUnits) {
    if (!config.cryptoUnit) throw new Error('the configuration names no crypto unit');
    return { unit: SoftwareCryptoUnit.openOrInit(config.cryptoUnit.path), close: async () => {} };
  }
  const sync = new UnitSync(store);
  const units = await sync.exclusive(async () => {
    const opened: ManagedCryptoUnit[] = [];
    for (const unitConfig of cryptoUnits.units) opened.push(await ManagedCryptoUnit.open(await openVault(unitConfig), unitConfig.id, unitConfig.role, sync.exclusive));
    const { autoInit, adopt } = cryptoUnits;
    if (autoInit || adopt) await setUpMasterKey(opened, autoInit, adopt, log);
    return opened;
  });
  sync.watch(units);
  const region = new RegionCryptoUnit(units, sync);
  log.info({ units: units.map((u) => ({ id: u.id, role: u.role, mode: u.info().mode, current: u.register('current').pattern })) }, 'crypto units open');
  return { unit: region, mgmt: { units: region, rewrapper: new Rewrapper(store, region, wrappedKeyRecords) }, close: () => region.close() };
}

async function openVault(config: CryptoUnitConfig): Promise<UnitVault> {
  switch (config.kind) {
    case 'software':
      return SoftwareVault.open(config.dir);
    case 'pkcs11':
      return Pkcs11Vault.open({ ...config, unitId: config.id });
  }
}

/**
 * Gives units in imprint mode with an empty current register the region's master key: the
 * one a single-file unit held (`adopt`, whose file is then removed), else a new one created
 * in a recovery unit. Values move between units only through their transport keys.
 */
async function setUpMasterKey(units: ManagedCryptoUnit[], autoInit: boolean, adopt: string | undefined, log: Logger): Promise<void> {
  let source = units.find((u) => u.register('current').state === 'valid');
  if (!source) {
    const empty = units.filter((u) => u.info().mode === 'imprint' && u.register('current').state === 'empty' && u.register('new').state === 'empty');
    if (empty.length !== units.length) return;
    if (adopt && existsSync(adopt)) {
      source = empty.find((u) => u.vault instanceof SoftwareVault);
      if (!source) throw new Error(`adopting ${adopt} needs a software crypto unit`);
      await source.installCurrent(SoftwareCryptoUnit.openOrInit(adopt).handOver(source.vault as SoftwareVault));
      log.info({ unit: source.id, file: adopt }, 'adopted the master key of a single-file crypto unit');
    } else if (autoInit) {
      source = empty.find((u) => u.role === 'recovery') ?? empty[0]!;
      await source.installCurrent(await source.vault.generateKey());
      log.info({ unit: source.id }, 'created a development master key');
    } else return;
  }
  const current = source.register('current');
  for (const unit of units) {
    if (unit === source || unit.info().mode !== 'imprint' || unit.register('current').state !== 'empty') continue;
    const binding = { exporter: source.id, importer: unit.id, nonce: unit.info().nonce };
    const wrapped = await source.vault.exportKey(current.handle!, await unit.vault.transportKey(), binding);
    const handle = await unit.vault.importKey(await source.vault.transportKey(), wrapped, binding);
    await unit.installCurrent({ handle, pattern: Buffer.from(current.pattern!, 'hex') });
  }
  if (adopt && units.every((u) => u.register('current').state === 'valid')) rmSync(adopt, { force: true });
}
