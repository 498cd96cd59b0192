import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { MAX_ADMIN_NAME, MAX_ADMINS } from '../cryptounits/index.ts';
import { checkIdentityPolicy, checkTrustPolicy } from '../kms/index.ts';
import { deepFreeze } from '../util/index.ts';

/** One region's configuration, as `concord server --config FILE` reads it. */
export interface RegionConfig {
  region: string;
  account: string;
  listen: { host: string; port: number };
  /** SQLite for a one-node region; PostgreSQL for a region served by several nodes. */
  store: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  /** The region's crypto units, managed with `concord tke`. */
  cryptoUnits: CryptoUnitsConfig;
  accessKeys: { accessKeyId: string; secretAccessKey: string; principal: string }[];
  /**
   * IAM principals of the account with their inline identity policies (JSON policy documents);
   * a role also has the trust policy saying who may assume it (AssumeRole), and the longest
   * session it gives, in seconds (3600 unless set).
   */
  principals: PrincipalConfig[];
  /** Peer regions: where each listens and the public key it signs peer requests with (`concord identity`). */
  peers: Record<string, { url: string; publicKey: string }>;
  /** This region's identity towards its peers; by default beside a SQLite store. Nodes of one region share it. */
  identity?: { path: string };
  logLevel: string;
  /**
   * Prometheus scraping of GET /metrics: on a listener of its own (`listen`), open to whoever
   * reaches that address, and/or on the API port behind a bearer token (`bearerToken`, or
   * `bearerTokenEnv` naming an environment variable). Absent, no /metrics is served.
   */
  metrics?: MetricsConfig;
  /** How often background work (deletion sweeper) runs. */
  backgroundIntervalMs: number;
  /** The audit trail: how long events are kept, and how often the chain's head is signed with the region's identity key. */
  audit: { retentionDays: number; signIntervalSeconds: number };
}

export interface PrincipalConfig {
  arn: string;
  identityPolicies?: Record<string, unknown>[];
  trustPolicy?: Record<string, unknown>;
  maxSessionDuration?: number;
}

export interface MetricsConfig {
  listen?: { host: string; port: number };
  bearerToken?: string;
  bearerTokenEnv?: string;
}

export type CryptoUnitConfig = { id: string; role: 'operational' | 'recovery' } & (
  | { kind: 'software'; dir: string }
  | { kind: 'pkcs11'; module: string; tokenLabel?: string; slot?: number; pin?: string; pinEnv?: string; soPin?: string; soPinEnv?: string }
);

/**
 * An administrator of the region's crypto units: by public key (one who signs with `concord tke`),
 * or by a signature key file from `concord tke sigkey-add` whose password the region is given
 * (`password`, or `passwordEnv` naming an environment variable), so it signs the start-up ceremony.
 */
export type AdministratorConfig = { name: string } & ({ publicKey: string } | { sigkeyFile: string; password?: string; passwordEnv?: string });

export interface CryptoUnitsConfig {
  units: CryptoUnitConfig[];
  /** Creates a master key through the ceremony at start when no unit holds one. */
  autoInit: boolean;
  /** A single-file unit whose master key the units take over, through the ceremony, when they hold none. */
  adopt?: string;
  /**
   * With these, the region takes every unit in imprint mode out of it as it starts (exactly these
   * administrators, then `thresholds`), signing with the keys of those given by sigkeyFile;
   * autoInit and adopt need them.
   */
  administrators?: AdministratorConfig[];
  thresholds: { signature: number; revocation: number };
}

const threshold = { type: 'integer', minimum: 1, maximum: MAX_ADMINS } as const;

const unitFields = { id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }, role: { enum: ['operational', 'recovery'] } };

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['region', 'account', 'store', 'cryptoUnits', 'accessKeys'],
  properties: {
    region: { type: 'string', pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$' },
    account: { type: 'string', pattern: '^\\d{12}$' },
    listen: {
      type: 'object',
      additionalProperties: false,
      properties: { host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 0, maximum: 65535 } },
      default: {},
    },
    store: {
      type: 'object',
      discriminator: { propertyName: 'kind' },
      required: ['kind'],
      oneOf: [
        {
          additionalProperties: false,
          required: ['kind', 'path'],
          properties: { kind: { const: 'sqlite' }, path: { type: 'string', minLength: 1 } },
        },
        {
          additionalProperties: false,
          required: ['kind', 'url'],
          properties: { kind: { const: 'postgres' }, url: { type: 'string', pattern: '^postgres(ql)?://' } },
        },
      ],
    },
    cryptoUnits: {
      type: 'object',
      additionalProperties: false,
      required: ['units'],
      properties: {
        autoInit: { type: 'boolean', default: false },
        adopt: { type: 'string', minLength: 1 },
        administrators: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_ADMINS,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            oneOf: [{ required: ['publicKey'] }, { required: ['sigkeyFile', 'password'] }, { required: ['sigkeyFile', 'passwordEnv'] }],
            properties: {
              name: { type: 'string', minLength: 1, maxLength: MAX_ADMIN_NAME },
              publicKey: { type: 'string', pattern: '^[A-Za-z0-9+/]{40,}={0,2}$' },
              sigkeyFile: { type: 'string', minLength: 1 },
              password: { type: 'string', minLength: 1 },
              passwordEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
            },
          },
        },
        thresholds: {
          type: 'object',
          additionalProperties: false,
          required: ['signature', 'revocation'],
          properties: { signature: threshold, revocation: threshold },
          default: { signature: 1, revocation: 1 },
        },
        units: {
          type: 'array',
          minItems: 2,
          items: {
            type: 'object',
            discriminator: { propertyName: 'kind' },
            required: ['kind', 'id', 'role'],
            oneOf: [
              {
                additionalProperties: false,
                required: ['dir'],
                properties: { ...unitFields, kind: { const: 'software' }, dir: { type: 'string', minLength: 1 } },
              },
              {
                additionalProperties: false,
                required: ['module'],
                // The token by its label or its slot ID, not both; a PIN in the file or in the environment variable named, not both; the SO PIN likewise, and optional.
                allOf: [
                  { oneOf: [{ required: ['tokenLabel'] }, { required: ['slot'] }] },
                  { oneOf: [{ required: ['pin'] }, { required: ['pinEnv'] }] },
                  { not: { required: ['soPin', 'soPinEnv'] } },
                ],
                properties: {
                  ...unitFields,
                  kind: { const: 'pkcs11' },
                  module: { type: 'string', minLength: 1 },
                  tokenLabel: { type: 'string', minLength: 1, maxLength: 32 },
                  slot: { type: 'integer', minimum: 0 },
                  pin: { type: 'string', minLength: 1 },
                  pinEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
                  soPin: { type: 'string', minLength: 1 },
                  soPinEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
                },
              },
            ],
          },
        },
      },
    },
    accessKeys: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['accessKeyId', 'secretAccessKey', 'principal'],
        properties: {
          accessKeyId: { type: 'string', pattern: '^[A-Z0-9]{16,128}$' },
          secretAccessKey: { type: 'string', minLength: 16 },
          principal: { type: 'string', pattern: '^arn:aws:iam::\\d{12}:(root|user/.+|role/.+)$' },
        },
      },
    },
    principals: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['arn'],
        properties: {
          arn: { type: 'string', pattern: '^arn:aws:iam::\\d{12}:(user/.+|role/.+)$' },
          identityPolicies: { type: 'array', items: { type: 'object', required: ['Statement'] } },
          trustPolicy: { type: 'object', required: ['Statement'] },
          maxSessionDuration: { type: 'integer', minimum: 3600, maximum: 43200 },
        },
      },
    },
    peers: {
      type: 'object',
      propertyNames: { pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['url', 'publicKey'],
        properties: { url: { type: 'string', pattern: '^https?://' }, publicKey: { type: 'string', pattern: '^[A-Za-z0-9+/]{40,}={0,2}$' } },
      },
      default: {},
    },
    identity: { type: 'object', additionalProperties: false, required: ['path'], properties: { path: { type: 'string', minLength: 1 } } },
    metrics: {
      type: 'object',
      additionalProperties: false,
      // Never open on the API port: a listener of its own, or a token.
      anyOf: [{ required: ['listen'] }, { required: ['bearerToken'] }, { required: ['bearerTokenEnv'] }],
      not: { required: ['bearerToken', 'bearerTokenEnv'] },
      properties: {
        listen: {
          type: 'object',
          additionalProperties: false,
          required: ['port'],
          properties: { host: { type: 'string', minLength: 1, default: '127.0.0.1' }, port: { type: 'integer', minimum: 0, maximum: 65535 } },
        },
        bearerToken: { type: 'string', minLength: 16 },
        bearerTokenEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      },
    },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    backgroundIntervalMs: { type: 'integer', minimum: 100, default: 60000 },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        retentionDays: { type: 'integer', minimum: 1, maximum: 36500, default: 365 },
        signIntervalSeconds: { type: 'integer', minimum: 1, maximum: 86400, default: 60 },
      },
      default: {},
    },
  },
} as const;

const validate = new Ajv({ useDefaults: true, allErrors: true, discriminator: true }).compile(schema);

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validates a parsed configuration, fills defaults, and freezes it. */
export function checkRegionConfig(raw: unknown): Readonly<RegionConfig> {
  const config = structuredClone(raw) as Record<string, unknown>;
  if (!validate(config)) {
    const problems = (validate.errors ?? []).map((e) => {
      const field = e.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
      const extra = e.keyword === 'additionalProperties' ? ` '${String(e.params.additionalProperty)}'` : '';
      return `${field}: ${e.message}${extra}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  checkIdentityPolicies(config.principals as RegionConfig['principals']);
  checkCeremonyConfig(config.cryptoUnits as CryptoUnitsConfig);
  const listen = (config.listen ?? {}) as { host?: string; port?: number };
  config.listen = { host: listen.host ?? '127.0.0.1', port: listen.port ?? 8080 };
  const metrics = config.metrics as MetricsConfig | undefined;
  if (metrics?.listen && metrics.listen.port === (config.listen as RegionConfig['listen']).port && metrics.listen.port !== 0) {
    throw new ConfigError('invalid configuration: metrics.listen.port is the API port; give /metrics a port of its own, or a bearerToken on the API port');
  }
  const store = config.store as RegionConfig['store'];
  if (config.identity === undefined && store.kind === 'sqlite') config.identity = { path: join(dirname(store.path), 'region-identity.json') };
  if (config.identity === undefined && Object.keys(config.peers as object).length > 0) {
    throw new ConfigError('invalid configuration: identity.path is required for a region with peers whose store is not SQLite');
  }
  return deepFreeze(config as unknown as RegionConfig);
}

/**
 * A master key goes into units only through the ceremony, which the region can run itself only
 * with administrators it can sign for, enough to meet the signature threshold it sets.
 */
function checkCeremonyConfig({ autoInit, adopt, administrators, thresholds }: CryptoUnitsConfig): void {
  if (!administrators) {
    if (autoInit || adopt !== undefined) {
      throw new ConfigError(
        'invalid configuration: cryptoUnits.autoInit and cryptoUnits.adopt load a master key through the ceremony, which needs cryptoUnits.administrators (at least one with a sigkeyFile the region signs with); or leave them out and run the ceremony with concord tke',
      );
    }
    return;
  }
  const signers = administrators.filter((a) => 'sigkeyFile' in a).length;
  if (thresholds.signature > signers) {
    throw new ConfigError(
      `invalid configuration: cryptoUnits.thresholds.signature is ${thresholds.signature}, but the region can sign for ${signers} of cryptoUnits.administrators (those with a sigkeyFile)`,
    );
  }
  if (thresholds.revocation > administrators.length) {
    throw new ConfigError(
      `invalid configuration: cryptoUnits.thresholds.revocation is ${thresholds.revocation}, more than the ${administrators.length} cryptoUnits.administrators`,
    );
  }
}

/** The schema sees only JSON objects; the IAM policy language is checked by the policy parser. */
function checkIdentityPolicies(principals: RegionConfig['principals']): void {
  const check = (field: string, policy: unknown, parse: (policy: unknown) => void): void => {
    try {
      parse(policy);
    } catch (error) {
      throw new ConfigError(`invalid configuration: ${field}: ${(error as Error).message}`);
    }
  };
  principals.forEach(({ arn, identityPolicies = [], trustPolicy, maxSessionDuration }, i) => {
    identityPolicies.forEach((policy, j) => {
      check(`principals.${i}.identityPolicies.${j}`, policy, checkIdentityPolicy);
    });
    const role = ROLE_ARN.test(arn);
    if (trustPolicy !== undefined) check(`principals.${i}.trustPolicy`, trustPolicy, checkTrustPolicy);
    if (!role && (trustPolicy !== undefined || maxSessionDuration !== undefined)) {
      throw new ConfigError(`invalid configuration: principals.${i}: only a role (arn:aws:iam::<account>:role/<name>) has a trustPolicy or maxSessionDuration`);
    }
  });
}

const ROLE_ARN = /^arn:aws:iam::\d{12}:role\/[^/]+$/;

export function loadRegionConfig(path: string): Readonly<RegionConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (error) {
    throw new ConfigError(`configuration file ${path} is not valid YAML: ${(error as Error).message}`);
  }
  return checkRegionConfig(parsed);
}
