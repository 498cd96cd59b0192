import { createHash } from 'node:crypto';
import type { WrappedRecords } from '../cryptounits/index.ts';

/** Key Protect's key states. */
export const KP_STATE = { preActivation: 0, active: 1, suspended: 2, deactivated: 3, destroyed: 5 } as const;
export type KpState = (typeof KP_STATE)[keyof typeof KP_STATE];

/**
 * What Key Protect knows of a key beyond the KMS key record: its name, key ring, who made it,
 * its deletion, and when it last changed or was notified (for `actions/sync`). A root key made
 * through the AWS surface has none until Key Protect first changes it. A standard key lives
 * only here, its payload wrapped under the region's master key.
 */
export interface KpKeyRecord {
  id: string;
  name: string;
  description?: string;
  keyRingID: string;
  extractable: boolean;
  imported: boolean;
  createdBy?: string;
  /** Milliseconds since the epoch. */
  lastActionAt?: number;
  lastNotificationAt?: number;
  deletedBy?: string;
  deletedAt?: number;
  /** Once purged, the key answers 404 (the KMS key waits out its deletion window). */
  purged?: boolean;
  aliases?: string[];
  /** Key policies (PUT /keys/{id}/policies): a rotation interval and dual authorization of deletion. */
  policies?: StoredKeyPolicies;
  /** A dual-auth key's first authorization of its deletion (setKeyForDeletion), valid for 7 days. */
  deletionAuthorization?: { by: string; at: number };
  /** Set by a Key Protect delete that met the dual authorization just before it schedules the deletion, which the key event subscriber checks. */
  deletionApproved?: number;
  /** Standard keys only. */
  standard?: { state: KpState; creationDate: number; lastUpdateDate: number; wrappedPayload: string };
}

/** Who set a policy and when (milliseconds since the epoch), as Key Protect reports it. */
export interface PolicyStamp {
  id: string;
  createdBy: string;
  creationDate: number;
  updatedBy: string;
  lastUpdateDate: number;
}

export interface StoredKeyPolicies {
  /** Rotated automatically every `intervalMonth` months; `nextAt` is its entry in the `kp-rotation` time index. */
  rotation?: PolicyStamp & { intervalMonth: number; nextAt: number };
  dualAuthDelete?: PolicyStamp & { enabled: boolean };
}

export const kpKeyPath = (id: string): string => `kp/key/${id}`;

/** The record of a root key Key Protect has not touched yet: named by its ID, in the default key ring. */
export const defaultKpRecord = (id: string): KpKeyRecord => ({ id, name: id, keyRingID: 'default', extractable: false, imported: false });

/** A dual-auth key's first authorization of its deletion lasts this long. */
export const DELETION_AUTHORIZATION_MS = 7 * 24 * 3600 * 1000;

/** The key's `dualAuthDelete` as Key Protect reports it: whether deletion needs two users, and whether (and until when) one has authorized it. */
export function dualAuthView(record: KpKeyRecord | undefined, now: number): Record<string, unknown> {
  if (!record?.policies?.dualAuthDelete?.enabled) return { enabled: false };
  const authorization = record.deletionAuthorization;
  const valid = authorization !== undefined && now < authorization.at + DELETION_AUTHORIZATION_MS;
  return {
    enabled: true,
    keySetForDeletion: valid,
    ...(valid ? { authExpiration: new Date(authorization.at + DELETION_AUTHORIZATION_MS).toISOString() } : {}),
  };
}

/** The instance of an account in a region: a stable UUID so every node and `concord instance list` agree. */
export function instanceIdOf(account: string, region: string): string {
  const hex = createHash('sha256').update(`concord-key-protect-instance:${account}:${region}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const instanceCrn = (region: string, account: string, instanceId: string): string => `crn:v1:concord:public:kms:${region}:a/${account}:${instanceId}::`;
export const policyCrn = (region: string, account: string, instanceId: string, policyId: string): string =>
  `crn:v1:concord:public:kms:${region}:a/${account}:${instanceId}:policy:${policyId}`;
export const keyCrn = (region: string, account: string, instanceId: string, keyId: string): string =>
  `crn:v1:concord:public:kms:${region}:a/${account}:${instanceId}:key:${keyId}`;

/** The AAD a standard key's payload is wrapped with: bound to its key. */
export const payloadAad = (keyId: string): Buffer => Buffer.from(JSON.stringify(['concord-kp-standard-key', keyId]), 'utf8');

/** Standard keys' wrapped payloads, for a master key rotation to re-wrap; root keys' records hold no material. */
export const standardKeyRecords: WrappedRecords = {
  prefix: 'kp/key/',
  async rewrap(value, reseal) {
    const record = JSON.parse(value) as KpKeyRecord;
    if (!record.standard) return value;
    const wrapped = await reseal(Buffer.from(record.standard.wrappedPayload, 'base64'), payloadAad(record.id));
    return JSON.stringify({ ...record, standard: { ...record.standard, wrappedPayload: wrapped.toString('base64') } });
  },
};
