import type { KeyObject } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError, type AdministratorConfig, type CryptoUnitConfig, type CryptoUnitsConfig, type RegionConfig } from '../config/index.ts';
import {
  CryptoUnitError,
  ManagedCryptoUnit,
  openSigkey,
  Pkcs11Vault,
  readSigkey,
  REGISTER_NAMES,
  RegionCryptoUnit,
  Rewrapper,
  SoftwareCryptoUnit,
  SoftwareVault,
  StartupCeremony,
  UnitSync,
  type CryptoUnit,
  type UnitVault,
} from '../cryptounits/index.ts';
import { iamSecretRecords } from '../iam/index.ts';
import { importTokenRecords, standardKeyRecords } from '../keyprotect/index.ts';
import { HsmVault, lineageKeyRecords } from '../hsm/index.ts';
import { wrappedKeyRecords } from '../kms/index.ts';
import { sessionRecords } from '../server/index.ts';
import type { Store } from '../store/index.ts';
import { Uko } from '../uko/index.ts';
import { cryptoUnitFailure } from './startup-error.ts';

export interface RegionCryptoUnits {
  /** What the key service wraps and unwraps with. */
  unit: CryptoUnit;
  /** The management API's view. */
  mgmt: { units: RegionCryptoUnit; rewrapper: Rewrapper };
  /** Where the region's HSMs keep their users and keys at rest. */
  hsmVault: HsmVault;
  close(): Promise<void>;
}

/**
 * Opens the region's crypto units and takes them through the start-up ceremony if configured.
 * Nodes sharing the store see each other's unit changes through UnitSync; they open and set
 * up the units one at a time, so two nodes starting at once create one master key, not two.
 */
export async function openRegionCryptoUnits(config: Readonly<RegionConfig>, store: Store, log: Logger): Promise<RegionCryptoUnits> {
  const cryptoUnits = config.cryptoUnits;
  // Opened (scrypt) before the units are held, which keeps the region's other nodes waiting.
  const admins = cryptoUnits.administrators && (await refusedAsConfig(() => cryptoUnits.administrators!.map(administrator)));
  const sync = new UnitSync(store);
  const { units, hsmVault } = await sync.exclusive(async () => {
    const opened: ManagedCryptoUnit[] = [];
    for (const unitConfig of cryptoUnits.units)
      opened.push(await ManagedCryptoUnit.open(openVault(unitConfig), unitConfig.id, unitConfig.role, sync.exclusive));
    await setUpUnits(opened, cryptoUnits, admins, log);
    // Held like the units, so that nodes starting at once make one HSM key, not two.
    return { units: opened, hsmVault: await HsmVault.open(openVault(hsmVaultConfig(cryptoUnits.units[0]!))) };
  });
  sync.watch(units);
  const region = new RegionCryptoUnit(units, sync);
  log.info({ units: units.map((u) => ({ id: u.id, role: u.role, mode: u.info().mode, current: u.register('current').pattern })) }, 'crypto units open');
  return {
    unit: region,
    mgmt: {
      units: region,
      rewrapper: new Rewrapper(store, region, [
        ...wrappedKeyRecords,
        sessionRecords,
        iamSecretRecords,
        standardKeyRecords,
        importTokenRecords,
        ...Uko.wrappedRecords,
        lineageKeyRecords,
      ]),
    },
    hsmVault,
    close: async () => {
      await region.close();
      await hsmVault.close();
    },
  };
}

/**
 * The vault the region's HSMs keep their users and keys in at rest: on the backend of the
 * region's first crypto unit (its software directory's sibling `<dir>-hsms`, or the same
 * PKCS#11 token under the unit ID `<id>-hsms`), so HSMs are as hardware-backed as the units are.
 */
const hsmVaultConfig = (unit: CryptoUnitConfig): CryptoUnitConfig =>
  unit.kind === 'software' ? { ...unit, dir: `${unit.dir}-hsms` } : { ...unit, id: `${unit.id}-hsms` };

function openVault(config: CryptoUnitConfig): UnitVault {
  switch (config.kind) {
    case 'software':
      return SoftwareVault.open(config.dir);
    case 'pkcs11':
      try {
        return Pkcs11Vault.open({ ...config, unitId: config.id });
      } catch (error) {
        throw cryptoUnitFailure(config, error);
      }
  }
}

/**
 * Warns, once the region listens, when it has no usable master key (no unit holds a current one:
 * a region set up without autoInit, or whose units were zeroized): it can neither create nor use
 * keys until the ceremony gives it one, and the warning names the commands that do.
 */
export function warnWithoutMasterKey({ mgmt: { units } }: RegionCryptoUnits, url: string, log: Logger): void {
  if (units.wrapPattern() !== undefined) return;
  const recoverable = units.units.some((u) => u.role === 'recovery' && u.register('current').state === 'valid');
  const fix = recoverable
    ? `concord tke cryptounit-add --endpoint ${url} --all && concord tke auto-mk-recover`
    : `concord tke sigkey-add --name <you>, concord tke cryptounit-add --endpoint ${url} --all, concord tke cryptounit-admin-add --sigkey <you>, then concord tke auto-init (or set cryptoUnits.autoInit with administrators in the configuration)`;
  log.warn({ fix }, `no usable master key: this region cannot create or use keys until its crypto units hold one; run ${fix}`);
}

/**
 * Runs the ceremony on units in imprint mode and, with autoInit or adopt (whose file is then
 * removed), gives them a master key, every command signed by the configured administrators
 * the region holds keys of. A unit in imprint mode holding a master key (as versions before
 * the start-up ceremony left them) is never served: with no administrators configured to
 * take it out of imprint mode, the region does not start.
 */
async function setUpUnits(units: ManagedCryptoUnit[], config: CryptoUnitsConfig, admins: Administrator[] | undefined, log: Logger): Promise<void> {
  if (admins) {
    const { adopt, autoInit, thresholds } = config;
    const ceremony = new StartupCeremony(
      units,
      admins.flatMap((a) => (a.signer ? [a.signer] : [])),
      (line) => {
        log.info(line);
      },
    );
    const single = adopt !== undefined && existsSync(adopt) ? SoftwareCryptoUnit.openOrInit(adopt) : undefined;
    await refusedAsConfig(() => ceremony.setUp({ admins: admins.map(({ name, publicKey }) => ({ name, publicKey })), thresholds, autoInit, adopt: single }));
    if (single && units.every((u) => u.register('current').pattern === single.pattern)) {
      rmSync(adopt!, { force: true });
      log.info({ file: adopt }, 'the crypto units took over the master key of a single-file crypto unit; its file is removed');
    }
  }
  const unsafe = units.find((u) => u.info().mode === 'imprint' && REGISTER_NAMES.some((name) => u.register(name).state !== 'empty'));
  if (unsafe) {
    throw new ConfigError(
      `crypto unit ${unsafe.id} is in imprint mode yet holds a master key, as Concord before the start-up ceremony left it: configure cryptoUnits.administrators so the region takes it out of imprint mode as it starts`,
    );
  }
}

interface Administrator {
  name: string;
  publicKey: string;
  /** Its private key, when the region holds its signature key file. */
  signer?: KeyObject;
}

function administrator(config: AdministratorConfig): Administrator {
  if ('publicKey' in config) return { name: config.name, publicKey: config.publicKey };
  const password = config.password ?? process.env[config.passwordEnv!];
  if (password === undefined)
    throw new ConfigError(
      `the password of administrator ${config.name}'s signature key is to be in the environment variable ${config.passwordEnv}, which is not set`,
    );
  const file = readSigkey(config.sigkeyFile);
  return { name: config.name, publicKey: file.publicKey, signer: openSigkey(file, password) };
}

/** A refusal by the units as the region starts is a setup to correct, told as such rather than as a crash. */
async function refusedAsConfig<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CryptoUnitError) throw new ConfigError(`the crypto units' start-up ceremony stopped: ${error.message}`);
    throw error;
  }
}
