import type { KeySpec, KeyState, KeyUsageType, OriginType, Tag } from '../kms-api.ts';

/** What is known of a material version besides the material itself. */
export interface MaterialInfo {
  version: number;
  createdAt: number;
  /** How this version became current; absent for a key's first material and for imported material pending rotation. */
  rotation?: { type: 'AUTOMATIC' | 'ON_DEMAND'; date: number };
  imported?: ImportedMaterial;
}

export interface MaterialRecord extends MaterialInfo {
  /** Base64 of the material wrapped under the region master key. */
  wrapped: string;
}

/** The terms of imported material, kept while the material itself is deleted so the same material can return. */
export interface ImportedMaterial {
  /** KeyMaterialId, derived from the key ID and the material, so a re-import proves it is the same material. */
  id: string;
  description?: string;
  expirationModel: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  validTo?: number;
}

/** What the store holds for a KMS key. Key material appears only wrapped by the crypto unit. */
export interface KeyRecord {
  keyId: string;
  account: string;
  region: string;
  createdAt: number;
  description: string;
  keySpec: KeySpec;
  keyUsage: KeyUsageType;
  origin: OriginType;
  state: KeyState;
  /** When the key is really deleted (PendingDeletion). */
  deletionDate?: number;
  pendingWindowDays?: number;
  policy: string;
  tags: Tag[];
  materials: MaterialRecord[];
  currentMaterial: number;
  /** Imported material that was deleted or expired, remembered so that only the same material can return. */
  deletedMaterials?: MaterialInfo[];
  /** Multi-Region keys with imported material: the KeyMaterialId the primary bound to each version (see import/material-bindings.ts). */
  boundMaterialIds?: Record<number, string>;
  /** Automatic rotation while enabled: due `periodDays` after `since` (when it was enabled or last rotated automatically). */
  autoRotation?: { periodDays: number; since: number };
  multiRegion: boolean;
  /** Origin AWS_CLOUDHSM: the key's material is the HSM key labelled with the key ID, owned by kmsuser, on the store's cluster. */
  customKeyStore?: { id: string; clusterId: string; handle: number };
  /** Present once a multi-Region key has been replicated; see multi-region.ts. */
  multiRegionConfig?: MultiRegionConfig;
}

export interface AliasRecord {
  aliasName: string;
  targetKeyId: string;
  createdAt: number;
  updatedAt: number;
}

export const keyPath = (keyId: string): string => `key/${keyId}`;
export const aliasPath = (aliasName: string): string => `alias/${aliasName}`;

const DAY_MS = 24 * 60 * 60 * 1000;

export const nextRotationDate = (rotation: NonNullable<KeyRecord['autoRotation']>): number => rotation.since + rotation.periodDays * DAY_MS;

/** Where a multi-Region key lives. Each region holding the key keeps a copy, updated by replication. */
export interface MultiRegionConfig {
  /** Raised by the primary on every change it propagates; a region ignores anything not newer than what it holds. */
  version: number;
  primaryRegion: string;
  replicaRegions: string[];
  /** Set while UpdatePrimaryRegion swaps roles with that region; the key shows Updating meanwhile. */
  updatingWith?: string;
}
