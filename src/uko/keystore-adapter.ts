/** What a keystore says of a key it was asked about; `wrong_key`: it holds other material than the managed key's. */
export type ObservedKey = 'absent' | 'enabled' | 'disabled' | 'pending_deletion' | 'pending_import' | 'wrong_key';

/** A managed key as a keystore receives it: its material, and the names that link the copy back to it. */
export interface KeyToCreate {
  managedKeyId: string;
  /** The version of the managed key's material: one key in the keystore per version. */
  version: number;
  label: string;
  description: string;
  material: Buffer;
}

/**
 * A key `create` made or found: its ID in the keystore and, when the adapter knows it from the
 * calls that made the key, what the keystore holds now (so the orchestrator need not ask again).
 */
export interface CreatedKey {
  keyIdInKeystore: string;
  observed?: ObservedKey;
}

/**
 * One keystore reached through its own API: everything the orchestrator does there. Every
 * implementation passes keystore-adapter.suite.ts. Methods act on the keystore's own key ID and
 * throw KeystoreUnreachableError when the keystore cannot be reached or refuses the credentials.
 */
export interface KeystoreAdapter {
  /** Reaches the keystore with the stored credentials (a keystore's dry run and status). */
  check(): Promise<void>;
  /**
   * What the keystore holds under that ID. A keystore that can compute the key's verification
   * pattern (IBM's enc-zero, key-material.ts) without the material leaving it compares it with
   * `pattern`, the managed key's, and reports a mismatch as `wrong_key`; others ignore it.
   */
  describe(keyIdInKeystore: string, pattern?: string): Promise<ObservedKey>;
  /**
   * Creates the key enabled, linked to the managed key's ID and version, with the material moved
   * wrapped; returns its ID there. Idempotent: a key the keystore already links to that version
   * (made by a create that was interrupted before its ID was recorded) is taken and completed.
   */
  create(key: KeyToCreate): Promise<CreatedKey>;
  /** Puts the material back into a key that lost it (pending import). */
  importMaterial(keyIdInKeystore: string, material: Buffer): Promise<void>;
  enable(keyIdInKeystore: string): Promise<void>;
  disable(keyIdInKeystore: string): Promise<void>;
  /** The keystore's own deletion, with its shortest waiting period. */
  scheduleDeletion(keyIdInKeystore: string): Promise<void>;
  /** Takes a key back from pending deletion; it is disabled afterwards. */
  cancelDeletion(keyIdInKeystore: string): Promise<void>;
}

/** The keystore could not be reached, or refused the stored credentials: its status is `error` until it answers again. */
export class KeystoreUnreachableError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'KeystoreUnreachableError';
  }
}
