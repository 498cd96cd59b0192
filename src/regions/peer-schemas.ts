/**
 * JSON schemas of the peer actions' payloads. A payload is checked against its action's schema
 * before the action sees it, so a malformed body is answered 400 and never reaches the key store.
 * The bounds are AWS's where AWS has one (tags, description, policy), generous elsewhere.
 */

const string = (maxLength: number, minLength = 0) => ({ type: 'string', minLength, maxLength });
const base64 = (maxLength: number) => ({ type: 'string', maxLength, pattern: '^[A-Za-z0-9+/]*={0,2}$' });
const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const version = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER };
const time = count;
const object = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});

const keyId = { type: 'string', pattern: '^mrk-[0-9a-f]{32}$' };
const region = string(64, 1);

const multiRegionConfig = object({
  version: count,
  primaryRegion: region,
  replicaRegions: { type: 'array', items: region, maxItems: 64, uniqueItems: true },
});

const shared = object(
  {
    keySpec: string(64, 1),
    keyUsage: string(64, 1),
    origin: string(64, 1),
    autoRotation: object({ periodDays: count, since: time }),
    boundMaterialIds: {
      type: 'object',
      propertyNames: { pattern: '^[1-9][0-9]{0,14}$' },
      additionalProperties: string(256, 1),
      maxProperties: 4096,
    },
  },
  ['keySpec', 'keyUsage', 'origin'],
);

const materialInfo = object(
  {
    version,
    createdAt: time,
    rotation: object({ type: { enum: ['AUTOMATIC', 'ON_DEMAND'] }, date: time }),
    imported: object(
      {
        id: string(256, 1),
        description: string(8192),
        expirationModel: { enum: ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'] },
        validTo: time,
      },
      ['id', 'expirationModel'],
    ),
  },
  ['version', 'createdAt'],
);

const sealedMaterial = object({ salt: base64(64), iv: base64(64), tag: base64(64), ciphertext: base64(16384) });

const snapshot = object(
  {
    keyId,
    account: { type: 'string', pattern: '^[0-9]{12}$' },
    config: multiRegionConfig,
    shared,
    material: object({
      current: count,
      versions: { type: 'array', maxItems: 4096, items: object({ info: materialInfo, sealed: sealedMaterial }) },
    }),
    transportKey: base64(512),
  },
  ['keyId', 'account', 'config', 'shared', 'transportKey'],
);

const tags = { type: 'array', maxItems: 50, items: object({ TagKey: string(128, 1), TagValue: string(256) }) };

const caller = object({ account: { type: 'string', pattern: '^[0-9]{12}$' }, arn: string(2048, 1) });

const aboutKey = object({ keyId });

const backupId = { type: 'string', pattern: '^backup-[2-7a-zA-Z]{11,16}$' };
const certificate = string(20000, 1);
const cloudHsmTags = { type: 'array', maxItems: 50, items: object({ Key: string(128, 1), Value: string(256) }) };

export const PEER_SCHEMAS = {
  hello: object({}),
  'prepare-replica': object(
    {
      snapshot,
      description: string(8192),
      policy: string(32768, 1),
      bypassPolicyLockoutSafetyCheck: { type: 'boolean' },
      tags,
      caller,
    },
    ['snapshot', 'description', 'bypassPolicyLockoutSafetyCheck', 'tags', 'caller'],
  ),
  sync: object({ snapshot }),
  'replica-state': object({ keyId, caller }),
  'replica-status': aboutKey,
  'primary-region': aboutKey,
  'bind-imported-material': object({ keyId, materialId: string(256, 1), version }, ['keyId', 'materialId']),
  'replica-deleted': aboutKey,
  'cloudhsm-backup-begin': object(
    {
      sourceBackup: backupId,
      sourceCluster: string(64),
      createdAt: time,
      hsmType: string(32, 1),
      mode: { enum: ['FIPS', 'NON_FIPS'] },
      lineageId: string(64, 1),
      clusterCertificate: certificate,
      trustAnchor: certificate,
      tags: cloudHsmTags,
    },
    ['sourceBackup', 'sourceCluster', 'createdAt', 'hsmType', 'mode', 'lineageId', 'tags'],
  ),
  // The data, a cluster's users and keys sealed under the lineage key, comes in parts that each fit the peer surface's body limit.
  'cloudhsm-backup-part': object({ backupId, index: count, part: string(512 * 1024, 1) }),
  'cloudhsm-backup-complete': object({ backupId, lineageId: string(64, 1), sealedKey: sealedMaterial, parts: version, sha256: string(64, 64) }),
} as const;

export type PeerActionName = keyof typeof PEER_SCHEMAS;
