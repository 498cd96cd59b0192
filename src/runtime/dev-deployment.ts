import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkRegionConfig, type RegionConfig } from '../config/index.ts';
import { devPrincipals } from './dev-principals.ts';
import { createSigkey } from '../cryptounits/index.ts';
import { RegionIdentity } from '../regions/index.ts';
import { makePrivateDir, writeSecretFile } from '../util/index.ts';

export interface DevOptions {
  regions: string[];
  port: number;
  data: string;
  account: string;
  host: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  logLevel: string;
  /** YAML list of further principals with access keys and identity policies. */
  principalsFile?: string;
  /** How often HSM clusters are backed up; background work then runs at least as often. */
  hsmBackupInterval?: number;
  /** False to leave requests unrecorded: for measuring the audit trail's cost (`--no-audit`). */
  audit?: boolean;
  /** The PKCS#11 libraries UKO's pkcs11 keystores may name. */
  pkcs11Module?: string[];
  /**
   * The RSA specs whose key pairs are generated from the start; none unless given, since the
   * test suite starts `concord dev` many times and most starts use no RSA key.
   */
  keyPairPrefill?: string[];
}

interface DevCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Opens the crypto unit administrator's signature key. */
  sigkeyPassword: string;
  /** The administrator's IBM-style API key, for IBM's SDKs (IamAuthenticator). */
  apiKey: string;
}

/** The dev crypto unit administrator, whose key signs the ceremony of every region's units. */
const DEV_ADMIN = 'dev-admin';

/**
 * The configs of a whole local deployment: each region on the next port with its own
 * store and crypto units under the data directory, all peers of each other. The units'
 * administrator has its signature key in `tke/`, a `concord tke` workspace, sealed under a
 * password kept with the access key in `credentials.json`, so a restart keeps them.
 */
export function devRegionConfigs(options: DevOptions): { configs: Readonly<RegionConfig>[]; credentials: DevCredentials; workspace: string } {
  const data = resolve(options.data);
  makePrivateDir(data);
  const credentials = devCredentials(join(data, 'credentials.json'), options);
  const workspace = join(data, 'tke');
  const sigkeyFile = devSigkey(workspace, credentials.sigkeyPassword);
  const endpoints = Object.fromEntries(options.regions.map((region, i) => [region, `http://${options.host}:${options.port + i}`]));
  const principals = devPrincipals(
    options.account,
    { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    options.principalsFile,
  );
  const configs = options.regions.map((region, i) =>
    checkRegionConfig({
      region,
      account: options.account,
      listen: { host: options.host, port: options.port + i },
      store: { kind: 'sqlite', path: join(data, region, 'keys.db') },
      cryptoUnits: {
        autoInit: true,
        adopt: join(data, region, 'crypto-unit.json'),
        administrators: [{ name: DEV_ADMIN, sigkeyFile, password: credentials.sigkeyPassword }],
        thresholds: { signature: 1, revocation: 1 },
        units: [
          { id: `${region}-op-1`, role: 'operational', kind: 'software', dir: join(data, region, 'crypto-units', 'op-1') },
          { id: `${region}-rec-1`, role: 'recovery', kind: 'software', dir: join(data, region, 'crypto-units', 'rec-1') },
        ],
      },
      ...principals,
      apiKeys: [{ apikey: credentials.apiKey, principal: `arn:aws:iam::${options.account}:user/admin`, name: 'dev-admin' }],
      peers: Object.fromEntries(
        Object.entries(endpoints)
          .filter(([name]) => name !== region)
          .map(([name, url]) => [name, { url, publicKey: RegionIdentity.openOrInit(join(data, name, 'region-identity.json')).publicKey }]),
      ),
      logLevel: options.logLevel,
      ...(options.audit === false ? { audit: { enabled: false } } : {}),
      keyPairPool: { prefill: options.keyPairPrefill ?? [] },
      ...(options.pkcs11Module ? { uko: { pkcs11Modules: options.pkcs11Module.map((path) => resolve(path)) } } : {}),
      ...(options.hsmBackupInterval !== undefined
        ? { hsmBackupIntervalMs: options.hsmBackupInterval * 1000, backgroundIntervalMs: Math.min(60000, options.hsmBackupInterval * 1000) }
        : {}),
    }),
  );
  return { configs, credentials, workspace };
}

/**
 * The access key given on the command line, else the one kept (made the first time); and the
 * signature key password, made the first time. What was made is kept.
 */
function devCredentials(path: string, options: DevOptions): DevCredentials {
  const kept = (existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {}) as Partial<DevCredentials>;
  const given = options.accessKeyId && options.secretAccessKey ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } : undefined;
  const accessKey = given ?? {
    accessKeyId: kept.accessKeyId ?? `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: kept.secretAccessKey ?? randomBytes(30).toString('base64url'),
  };
  const sigkeyPassword = kept.sigkeyPassword ?? randomBytes(18).toString('base64url');
  const apiKey = kept.apiKey ?? randomBytes(33).toString('base64url');
  const keep = { ...kept, ...(given ? {} : accessKey), sigkeyPassword, apiKey };
  if (JSON.stringify(keep) !== JSON.stringify(kept)) writeSecretFile(path, JSON.stringify(keep));
  return { ...accessKey, sigkeyPassword, apiKey };
}

/** The administrator's signature key in the workspace, made the first time; returns its path. */
function devSigkey(workspace: string, password: string): string {
  makePrivateDir(join(workspace, 'sigkeys'));
  const path = join(workspace, 'sigkeys', `${DEV_ADMIN}.json`);
  if (!existsSync(path)) writeSecretFile(path, JSON.stringify(createSigkey(DEV_ADMIN, password), null, 2));
  return path;
}
