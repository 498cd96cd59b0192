/** What the store holds for a KMS key. Key material appears only wrapped by the crypto unit. */
export type KeyState =
  | 'Creating'
  | 'Enabled'
  | 'Disabled'
  | 'PendingDeletion'
  | 'PendingImport'
  | 'PendingReplicaDeletion'
  | 'Unavailable'
  | 'Updating';

export interface Tag {
  TagKey: string;
  TagValue: string;
}

export interface MaterialRecord {
  version: number;
  /** Base64 of the material wrapped under the region master key. */
  wrapped: string;
  createdAt: number;
}

export interface KeyRecord {
  keyId: string;
  account: string;
  region: string;
  createdAt: number;
  description: string;
  keySpec: string;
  keyUsage: string;
  origin: string;
  state: KeyState;
  /** When the key is really deleted (PendingDeletion). */
  deletionDate?: number;
  pendingWindowDays?: number;
  policy: string;
  tags: Tag[];
  materials: MaterialRecord[];
  currentMaterial: number;
  multiRegion: boolean;
}

export interface AliasRecord {
  aliasName: string;
  targetKeyId: string;
  createdAt: number;
  updatedAt: number;
}

export const keyPath = (keyId: string): string => `key/${keyId}`;
export const aliasPath = (aliasName: string): string => `alias/${aliasName}`;
/** An index of keys awaiting deletion, ordered by deletion time, for the sweeper. */
export const deletionPath = (deletionDate: number, keyId: string): string =>
  `deletion/${String(deletionDate).padStart(15, '0')}/${keyId}`;
