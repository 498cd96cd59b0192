import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';

/** One region's configuration, as `concord server --config FILE` reads it. */
export interface RegionConfig {
  region: string;
  account: string;
  listen: { host: string; port: number };
  /** SQLite for a one-node region; PostgreSQL for a region served by several nodes. */
  store: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  cryptoUnit: { kind: 'software'; path: string };
  accessKeys: { accessKeyId: string; secretAccessKey: string; principal: string }[];
  peers: Record<string, string>;
  logLevel: string;
  /** How often background work (deletion sweeper) runs. */
  backgroundIntervalMs: number;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['region', 'account', 'store', 'cryptoUnit', 'accessKeys'],
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
    cryptoUnit: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'path'],
      properties: { kind: { const: 'software' }, path: { type: 'string', minLength: 1 } },
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
    peers: { type: 'object', additionalProperties: { type: 'string', pattern: '^https?://' }, default: {} },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    backgroundIntervalMs: { type: 'integer', minimum: 100, default: 60000 },
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
  const listen = (config.listen ?? {}) as { host?: string; port?: number };
  config.listen = { host: listen.host ?? '127.0.0.1', port: listen.port ?? 8080 };
  return deepFreeze(config as unknown as RegionConfig);
}

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

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
