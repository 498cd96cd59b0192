/**
 * Rewrites src/server/aws-json/kms-model.json from botocore's AWS KMS model (Apache-2.0):
 *
 *   node --import tsx scripts/trim-kms-model.ts <botocore>/data/kms/2014-11-01/service-2.json[.gz] [Operation ...]
 *
 * With `--model <path>` first it trims another service's model the same way into that file
 * (src/server/cloudhsm/cloudhsm-model.json from botocore's cloudhsmv2/2017-04-28), without
 * Concord's KMS changes below.
 *
 * It keeps the operations the committed model lists, plus any named, with their input and output
 * shapes and every shape those reach, each with only what request validation and
 * scripts/generate-kms-types.ts read; documentation is dropped. Then run the type generator.
 * The build and the tests read only the committed model, never botocore.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

interface BotocoreShape {
  type: string;
  members?: Record<string, { shape: string }>;
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  [constraint: string]: unknown;
}

interface Botocore {
  operations: Record<string, { input?: { shape: string }; output?: { shape: string } }>;
  shapes: Record<string, BotocoreShape>;
}

const MODEL = new URL('../src/server/aws-json/kms-model.json', import.meta.url);
const CONSTRAINTS = ['enum', 'max', 'min', 'pattern', 'required', 'sensitive'];

/**
 * Where Concord's model differs from botocore's. Limits AWS documents outside the model (see
 * Shape in src/server/aws-json/kms-model.ts): a grant constraint's map has AWS's 8 pairs and 384
 * characters, so it gets a shape of its own. And AWS answers the deprecated CustomerMasterKeySpec
 * with the KeySpec's value, which for newer key specs (ECC_NIST_EDWARDS25519) is outside that
 * member's enum.
 */
const CONCORD_SHAPES: Record<string, { members?: Record<string, string> } & Record<string, unknown>> = {
  EncryptionContextType: { maxTotalLength: 8192 },
  GrantConstraintContextType: { key: 'EncryptionContextKey', max: 8, maxTotalLength: 384, type: 'map', value: 'EncryptionContextValue' },
  GrantConstraints: { members: { EncryptionContextEquals: 'GrantConstraintContextType', EncryptionContextSubset: 'GrantConstraintContextType' } },
  GetPublicKeyResponse: { members: { CustomerMasterKeySpec: 'KeySpec' } },
  KeyMetadata: { members: { CustomerMasterKeySpec: 'KeySpec' } },
};

const args = process.argv.slice(2);
const target = args[0] === '--model' ? resolve(args[1] ?? '') : undefined;
const [source, ...added] = target === undefined ? args : args.slice(2);
if (!source) throw new Error('usage: trim-kms-model.ts [--model <model.json>] <botocore service-2.json[.gz]> [Operation ...]');
const raw = readFileSync(source);
const botocore = JSON.parse((source.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as Botocore;
const output = target ?? MODEL;
const committed = (existsSync(output) ? JSON.parse(readFileSync(output, 'utf8')) : { operations: {} }) as { operations: Record<string, unknown> };

const reached = new Set<string>();
const reach = (name: string): void => {
  if (reached.has(name)) return;
  reached.add(name);
  const shape = botocore.shapes[name];
  if (!shape) throw new Error(`botocore has no shape ${name}`);
  for (const member of Object.values(shape.members ?? {})) reach(member.shape);
  for (const inner of [shape.member, shape.key, shape.value]) if (inner) reach(inner.shape);
};

const operations: Record<string, { input: string | null; output: string | null }> = {};
for (const name of new Set([...Object.keys(committed.operations), ...added])) {
  const operation = botocore.operations[name];
  if (!operation) throw new Error(`botocore has no operation ${name}`);
  operations[name] = { input: operation.input?.shape ?? null, output: operation.output?.shape ?? null };
  if (operation.input) reach(operation.input.shape);
  if (operation.output) reach(operation.output.shape);
}

const shapes: Record<string, { members?: Record<string, string> } & Record<string, unknown>> = {};
for (const name of reached) {
  const shape = botocore.shapes[name]!;
  const trimmed: Record<string, unknown> = { type: shape.type };
  for (const constraint of CONSTRAINTS) if (shape[constraint] !== undefined) trimmed[constraint] = shape[constraint];
  if (shape.members) trimmed.members = Object.fromEntries(Object.entries(shape.members).map(([member, { shape }]) => [member, shape]));
  if (shape.member) trimmed.member = shape.member.shape;
  if (shape.key) trimmed.key = shape.key.shape;
  if (shape.value) trimmed.value = shape.value.shape;
  shapes[name] = trimmed;
}
for (const [name, own] of Object.entries(target === undefined ? CONCORD_SHAPES : {})) {
  const shape = shapes[name];
  shapes[name] = { ...shape, ...own, ...(own.members ? { members: { ...shape?.members, ...own.members } } : {}) };
}

const { apiVersion, endpointPrefix } = (botocore as { metadata?: { apiVersion?: string; endpointPrefix?: string } }).metadata ?? {};
const model = {
  operations,
  shapes,
  source: `botocore ${apiVersion ?? '2014-11-01'} ${endpointPrefix ?? 'kms'} service-2.json (Apache-2.0): the input and output shapes of the operations Concord performs`,
};
writeFileSync(output, formatted(model));

/** Sorted keys, one member a line, no indentation: small diffs when botocore changes. */
function formatted(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((key) => [key, sorted((v as Record<string, unknown>)[key])]),
      );
    return v;
  };
  return JSON.stringify(sorted(value), null, 1).replace(/^ +/gm, '');
}
