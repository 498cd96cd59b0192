import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkRegionConfig, type RegionConfig } from '../config/index.ts';
import { devPrincipals } from './dev-principals.ts';
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
}

interface DevCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The configs of a whole local deployment: each region on the next port with its own
 * store and crypto unit under the data directory, all peers of each other. The
 * administrator access key is kept in the data directory so a restart keeps it.
 */
export function devRegionConfigs(options: DevOptions): { configs: Readonly<RegionConfig>[]; credentials: DevCredentials } {
  const data = resolve(options.data);
  makePrivateDir(data);
  const credentials = devCredentials(join(data, 'credentials.json'), options);
  const endpoints = Object.fromEntries(options.regions.map((region, i) => [region, `http://${options.host}:${options.port + i}`]));
  const principals = devPrincipals(options.account, credentials, options.principalsFile);
  const configs = options.regions.map((region, i) =>
    checkRegionConfig({
      region,
      account: options.account,
      listen: { host: options.host, port: options.port + i },
      store: { kind: 'sqlite', path: join(data, region, 'keys.db') },
      cryptoUnits: {
        autoInit: true,
        adopt: join(data, region, 'crypto-unit.json'),
        units: [
          { id: `${region}-op-1`, role: 'operational', kind: 'software', dir: join(data, region, 'crypto-units', 'op-1') },
          { id: `${region}-rec-1`, role: 'recovery', kind: 'software', dir: join(data, region, 'crypto-units', 'rec-1') },
        ],
      },
      ...principals,
      peers: Object.fromEntries(
        Object.entries(endpoints)
          .filter(([name]) => name !== region)
          .map(([name, url]) => [name, { url, publicKey: RegionIdentity.openOrInit(join(data, name, 'region-identity.json')).publicKey }]),
      ),
      logLevel: options.logLevel,
    }),
  );
  return { configs, credentials };
}

function devCredentials(path: string, options: DevOptions): DevCredentials {
  if (options.accessKeyId && options.secretAccessKey) {
    return { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey };
  }
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as DevCredentials;
  const credentials = {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
  writeSecretFile(path, JSON.stringify(credentials));
  return credentials;
}
