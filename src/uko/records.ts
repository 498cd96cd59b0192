import type { Revisioned } from './etag.ts';

/** Who changed a resource and when, as IBM reports it. */
export interface Stamped extends Revisioned {
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
}

export interface VaultRecord extends Stamped {
  name: string;
  description: string;
  recoveryKeyLabel?: string;
}

/** IBM's keystore types, and Concord's extension pkcs11. */
export const KEYSTORE_TYPES = ['aws_kms', 'azure_key_vault', 'ibm_cloud_kms', 'google_kms', 'cca', 'pkcs11'] as const;
export type KeystoreType = (typeof KEYSTORE_TYPES)[number];

/** A keystore's connection: plain fields as given, secret fields only wrapped under the region's master key. */
export interface KeystoreRecord extends Stamped {
  vaultId: string;
  name: string;
  description: string;
  type: KeystoreType;
  groups: string[];
  location: string;
  tlsProxy?: string;
  /** Connection fields that are not secret (aws_region, aws_access_key_id, aws_endpoint, ...), by IBM's names. */
  connection: Record<string, string>;
  /** Secret connection fields (aws_secret_access_key, ...), each wrapped, base64. */
  secrets: Record<string, string>;
}

export const ALGORITHMS = ['aes', 'des', 'dilithium', 'ec', 'hmac', 'rsa'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface TemplateRecord extends Stamped {
  vaultId: string;
  name: string;
  description: string;
  namingScheme: string;
  state: 'archived' | 'unarchived';
  key: {
    algorithm: Algorithm;
    size: string;
    activationDate: string;
    expirationDate: string;
    state: 'pre_activation' | 'active';
    deactivateOnRotation: boolean;
  };
  keystores: { group: string; type: KeystoreType }[];
}

export const MANAGED_KEY_STATES = ['pre_activation', 'active', 'deactivated', 'destroyed', 'compromised', 'destroyed_compromised'] as const;
export type ManagedKeyState = (typeof MANAGED_KEY_STATES)[number];

export type KeystoreStatus = 'active' | 'not_active' | 'not_present' | 'wrong_key' | 'error';
export type SyncFlag = 'ok' | 'out_of_sync' | 'error';
export type SyncFlagDetail =
  | 'active_key_is_active_in_keystore'
  | 'active_key_is_not_active_in_keystore'
  | 'deactivated_key_is_deactivated_in_keystore'
  | 'deactivated_key_is_not_deactivated_in_keystore'
  | 'destroyed_key_is_not_present_in_keystore'
  | 'destroyed_key_is_present_in_keystore'
  | 'pre_active_key_is_not_present_in_keystore'
  | 'pre_active_key_is_present_in_keystore'
  | 'connection_error'
  | 'target_keystore_removed_by_user'
  | 'target_keystore_removed_by_user_contains_an_active_key';

/** A managed key's copy in one keystore, and what the last check of that keystore found. */
export interface KeyInKeystore {
  keystoreId: string;
  group: string;
  /** The keystore's own ID of the key, once created there. */
  keyIdInKeystore?: string;
  labelInKeystore: string;
  status: KeystoreStatus;
  syncFlag: SyncFlag;
  syncFlagDetail: SyncFlagDetail;
  /** Why the last check or change of this keystore failed; never a secret. */
  error?: string;
  checkedAt?: string;
  /** The managed key's syncSeq this keystore was last brought in line with. */
  appliedSeq?: number;
}

/** One version of a managed key's material: wrapped, with its verification pattern (never the material). */
export interface MaterialVersion {
  version: number;
  wrapped: string;
  pattern: string;
  createdAt: string;
}

export interface ManagedKeyRecord extends Stamped {
  vaultId: string;
  templateId: string;
  label: string;
  description: string;
  state: ManagedKeyState;
  algorithm: Algorithm;
  size: string;
  activationDate?: string;
  expirationDate?: string;
  deactivateOnRotation: boolean;
  materials: MaterialVersion[];
  instances: KeyInKeystore[];
  rotatedAt?: string;
  /**
   * Counts the changes keystores must follow (state changes, rotations, sync requests): outbox
   * messages carry it, so a keystore already brought in line is not touched again, and a pass
   * that read the key before a later change does not record what it saw over that change.
   */
  syncSeq: number;
}

export const currentMaterial = (key: ManagedKeyRecord): MaterialVersion => key.materials[key.materials.length - 1]!;

/** Where each kind of record lives in the store. */
export const paths = {
  vault: (id = '') => `uko/vault/${id}`,
  keystore: (id = '') => `uko/keystore/${id}`,
  template: (id = '') => `uko/template/${id}`,
  templateName: (vaultId: string, name: string) => `uko/template-name/${vaultId}/${name}`,
  managedKey: (id = '') => `uko/managed-key/${id}`,
};
