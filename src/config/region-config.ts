import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { MAX_ADMIN_NAME, MAX_ADMINS } from '../cryptounits/index.ts';
import { checkIdentityPolicy, checkTrustPolicy, KEY_PAIR_POOL_SIZE, POOLED_KEY_SPECS } from '../kms/index.ts';
import { deepFreeze } from '../util/index.ts';
import { configProblems, type ConfigProblem } from './config-problems.ts';

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
  /** IBM-style API keys the region holds from its start (made at start if missing, revocable like any): `concord dev`'s. */
  apiKeys?: { apikey: string; principal: string; name?: string }[];
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
  /**
   * The Key Protect API: the interval `actions/sync` waits after a key's last lifecycle action or
   * notification (3600 s unless set), and the webhook receiving notifications for each service
   * (by the service name of a resource CRN) whose registrations name none; the length of a
   * rotation policy's `interval_month` (30 days) and how long after a key's last rotation
   * Key Protect's rotate is refused (3600 s), both shortened by tests.
   */
  keyProtect?: { syncIntervalSeconds?: number; webhooks?: Record<string, string>; rotationMonthSeconds?: number; minRotationIntervalSeconds?: number };
  /** UKO: the PKCS#11 libraries (absolute paths) pkcs11 keystores may name, since loading one runs its code here. */
  uko?: { pkcs11Modules?: string[] };
  /** The outbox (replication, notifications, keystore syncs): how many deliveries may be under way at once (32 unless set). */
  outbox?: { concurrency?: number };
  /** How often background work (deletion sweeper) runs. */
  backgroundIntervalMs: number;
  /**
   * The audit trail: how long events are kept, and how often the chain's head is signed with the
   * region's identity key. `enabled: false` exists to measure the trail's cost (the benchmark's
   * "audit trail off" scenario); a region serving real callers keeps it on.
   */
  audit: { enabled: boolean; retentionDays: number; signIntervalSeconds: number };
  /** How often each initialized HSM cluster is backed up at least: AWS's 24 hours by default. */
  hsmBackupIntervalMs: number;
  /**
   * RSA key pairs kept ready in each process: at most `size` per spec (2 unless set), and the
   * specs generated from the start, in the background, rather than from their first use (every
   * RSA spec unless set; `concord dev` sets none unless told).
   */
  keyPairPool: { prefill: string[]; size: number };
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

/** Pairs of one spec a process may keep ready: each is a private key in memory, and seconds of a core to make. */
const MAX_KEY_PAIR_POOL_SIZE = 16;

const threshold = { type: 'integer', minimum: 1, maximum: MAX_ADMINS } as const;

// Every pattern has a description: configuration errors say it in words, never the pattern.
const REGION_NAME = { pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$', description: 'a region name such as us-east-1 (lowercase letters, dashes, a number at the end)' };
const ENV_NAME = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'the name of an environment variable (letters, digits and _)' } as const;
const PUBLIC_KEY = {
  type: 'string',
  pattern: '^[A-Za-z0-9+/]{40,}={0,2}$',
  description: 'a public key in base64, as concord identity or concord tke prints it',
} as const;

const unitFields = {
  id: {
    type: 'string',
    pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
    description: 'a unit ID of 1 to 64 letters, digits, dots, dashes and underscores, starting with a letter or digit',
  },
  role: { enum: ['operational', 'recovery'] },
};

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['region', 'account', 'store', 'cryptoUnits', 'accessKeys'],
  properties: {
    region: { type: 'string', ...REGION_NAME },
    account: { type: 'string', pattern: '^\\d{12}$', description: 'an AWS account ID of 12 digits, such as "111122223333"' },
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
          properties: {
            kind: { const: 'postgres' },
            url: { type: 'string', pattern: '^postgres(ql)?://', description: 'a PostgreSQL URL, postgres://user:password@host:5432/database' },
          },
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
            description: 'needs either a publicKey, or a sigkeyFile with its password or passwordEnv (one of them)',
            oneOf: [{ required: ['publicKey'] }, { required: ['sigkeyFile', 'password'] }, { required: ['sigkeyFile', 'passwordEnv'] }],
            properties: {
              name: { type: 'string', minLength: 1, maxLength: MAX_ADMIN_NAME },
              publicKey: PUBLIC_KEY,
              sigkeyFile: { type: 'string', minLength: 1 },
              password: { type: 'string', minLength: 1 },
              passwordEnv: ENV_NAME,
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
                  { description: 'names its token by tokenLabel or by slot, one of the two', oneOf: [{ required: ['tokenLabel'] }, { required: ['slot'] }] },
                  { description: 'needs pin or pinEnv, one of the two', oneOf: [{ required: ['pin'] }, { required: ['pinEnv'] }] },
                  { description: 'takes soPin or soPinEnv, not both', not: { required: ['soPin', 'soPinEnv'] } },
                ],
                properties: {
                  ...unitFields,
                  kind: { const: 'pkcs11' },
                  module: { type: 'string', minLength: 1 },
                  tokenLabel: { type: 'string', minLength: 1, maxLength: 32 },
                  slot: { type: 'integer', minimum: 0 },
                  pin: { type: 'string', minLength: 1 },
                  pinEnv: ENV_NAME,
                  soPin: { type: 'string', minLength: 1 },
                  soPinEnv: ENV_NAME,
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
          accessKeyId: {
            type: 'string',
            pattern: '^[A-Z0-9]{16,128}$',
            description: 'an access key ID of 16 to 128 capital letters and digits, such as AKIAEXAMPLEADMIN0001',
          },
          secretAccessKey: { type: 'string', minLength: 16 },
          principal: {
            type: 'string',
            pattern: '^arn:aws:iam::\\d{12}:(root|user/.+|role/.+)$',
            description: 'an IAM ARN of the account root, a user or a role: arn:aws:iam::<account>:root, :user/<name> or :role/<name>',
          },
        },
      },
    },
    keyProtect: {
      type: 'object',
      additionalProperties: false,
      properties: {
        syncIntervalSeconds: { type: 'integer', minimum: 0, maximum: 86400 },
        rotationMonthSeconds: { type: 'integer', minimum: 1, maximum: 2678400 },
        minRotationIntervalSeconds: { type: 'integer', minimum: 0, maximum: 86400 },
        webhooks: { type: 'object', additionalProperties: { type: 'string', pattern: '^https?://' } },
      },
    },
    uko: {
      type: 'object',
      additionalProperties: false,
      properties: {
        pkcs11Modules: { type: 'array', maxItems: 32, items: { type: 'string', pattern: '^/', maxLength: 1024 } },
      },
    },
    outbox: {
      type: 'object',
      additionalProperties: false,
      properties: { concurrency: { type: 'integer', minimum: 1, maximum: 1024 } },
    },
    apiKeys: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['apikey', 'principal'],
        properties: {
          apikey: { type: 'string', minLength: 32, maxLength: 256 },
          principal: { type: 'string', pattern: '^arn:aws:iam::\\d{12}:(user/.+|role/.+)$' },
          name: { type: 'string', minLength: 1, maxLength: 240 },
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
          arn: {
            type: 'string',
            pattern: '^arn:aws:iam::\\d{12}:(user/.+|role/.+)$',
            description: 'an IAM user or role ARN: arn:aws:iam::<account>:user/<name> or :role/<name>',
          },
          identityPolicies: { type: 'array', items: { type: 'object', required: ['Statement'] } },
          trustPolicy: { type: 'object', required: ['Statement'] },
          maxSessionDuration: { type: 'integer', minimum: 3600, maximum: 43200 },
        },
      },
    },
    peers: {
      type: 'object',
      propertyNames: REGION_NAME,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['url', 'publicKey'],
        properties: { url: { type: 'string', pattern: '^https?://', description: "the peer's URL, http:// or https://" }, publicKey: PUBLIC_KEY },
      },
      default: {},
    },
    identity: { type: 'object', additionalProperties: false, required: ['path'], properties: { path: { type: 'string', minLength: 1 } } },
    metrics: {
      type: 'object',
      additionalProperties: false,
      // Never open on the API port: a listener of its own, or a token.
      allOf: [
        {
          description: 'needs a listener of its own (listen), or a bearerToken or bearerTokenEnv for /metrics on the API port',
          anyOf: [{ required: ['listen'] }, { required: ['bearerToken'] }, { required: ['bearerTokenEnv'] }],
        },
        { description: 'takes bearerToken or bearerTokenEnv, not both', not: { required: ['bearerToken', 'bearerTokenEnv'] } },
      ],
      properties: {
        listen: {
          type: 'object',
          additionalProperties: false,
          required: ['port'],
          properties: { host: { type: 'string', minLength: 1, default: '127.0.0.1' }, port: { type: 'integer', minimum: 0, maximum: 65535 } },
        },
        bearerToken: { type: 'string', minLength: 16 },
        bearerTokenEnv: ENV_NAME,
      },
    },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    backgroundIntervalMs: { type: 'integer', minimum: 100, default: 60000 },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true },
        retentionDays: { type: 'integer', minimum: 1, maximum: 36500, default: 365 },
        signIntervalSeconds: { type: 'integer', minimum: 1, maximum: 86400, default: 60 },
      },
      default: {},
    },
    hsmBackupIntervalMs: { type: 'integer', minimum: 1000, default: 86400000 },
    keyPairPool: {
      type: 'object',
      additionalProperties: false,
      properties: {
        prefill: { type: 'array', items: { enum: POOLED_KEY_SPECS }, default: POOLED_KEY_SPECS },
        size: { type: 'integer', minimum: 1, maximum: MAX_KEY_PAIR_POOL_SIZE, default: KEY_PAIR_POOL_SIZE },
      },
      default: {},
    },
  },
} as const;

const validate = new Ajv({ useDefaults: true, allErrors: true, discriminator: true, verbose: true }).compile(schema);
const validateRegionName = new Ajv().compile({ type: 'string', ...REGION_NAME });

/** What is wrong with a region name, in words, or undefined when it is one. */
export function regionNameProblem(name: string): string | undefined {
  return validateRegionName(name) ? undefined : `must be ${REGION_NAME.description}`;
}

/**
 * A configuration Concord cannot run with. With `problems`, the message lists each field and what
 * is wrong with it; `renamed` names them as the user wrote them (a command-line flag, say).
 */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: readonly ConfigProblem[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }

  static of(problems: readonly ConfigProblem[]): ConfigError {
    return new ConfigError(`invalid configuration: ${problems.map(({ field, text }) => `${field || 'the configuration'} ${text}`).join('; ')}`, problems);
  }

  /**
   * The same problems, each field the renaming knows given its new name (kept otherwise); of
   * several problems renamed to one name (fields derived from one option), the first is told.
   */
  renamed(rename: (field: string) => string | undefined): ConfigError {
    if (this.problems.length === 0) return this;
    const renamed = this.problems.map((p) => ({ ...p, field: rename(p.field) ?? p.field }));
    return ConfigError.of(renamed.filter((p, i) => renamed.findIndex((q) => q.field === p.field) === i));
  }
}

/** Validates a parsed configuration, fills defaults, and freezes it. */
export function checkRegionConfig(raw: unknown): Readonly<RegionConfig> {
  const config = structuredClone(raw) as Record<string, unknown>;
  if (!validate(config)) throw ConfigError.of(configProblems(validate.errors ?? [], schema));
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
