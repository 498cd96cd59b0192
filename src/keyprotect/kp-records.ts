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
  /** Standard keys only. */
  standard?: { state: KpState; creationDate: number; lastUpdateDate: number; wrappedPayload: string };
}

export const kpKeyPath = (id: string): string => `kp/key/${id}`;

/** The instance of an account in a region: a stable UUID so every node and `concord instance list` agree. */
export function instanceIdOf(account: string, region: string): string {
  const hex = createHash('sha256').update(`concord-key-protect-instance:${account}:${region}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const instanceCrn = (region: string, account: string, instanceId: string): string => `crn:v1:concord:public:kms:${region}:a/${account}:${instanceId}::`;
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
