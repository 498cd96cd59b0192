import type { Sealed } from '../crypto/index.ts';
import type { TransferBinding } from './key-transfer.ts';

/**
 * Where a crypto unit keeps its secrets: master key values (AES-256), named by opaque
 * handles, and a P-256 transport key for transfers. No method returns a secret in the
 * clear; the unit's state (admins, registers) is kept by the vault alongside them.
 */
export interface UnitVault {
  readonly backend: string;
  loadState(): Promise<string | undefined>;
  /** Drops what it read from the backing storage, which the region's other nodes share and may have changed. */
  reload(): Promise<void>;
  saveState(state: string): Promise<void>;
  /** A new random master key value and its verification pattern. */
  generateKey(): Promise<{ handle: string; pattern: Buffer }>;
  destroyKey(handle: string): Promise<void>;
  handles(): Promise<string[]>;
  encrypt(handle: string, plaintext: Buffer, aad: Buffer): Sealed;
  /** Undefined when the tag does not verify. */
  decrypt(handle: string, sealed: Sealed, aad: Buffer): Buffer | undefined;
  /** The transport public key as an uncompressed P-256 point, created on first use. */
  transportKey(): Promise<Buffer>;
  /** A master key value wrapped under the key derived from ECDH with the peer's transport key and the binding (transferKey). */
  exportKey(handle: string, peerTransportKey: Buffer, binding: TransferBinding): Promise<Buffer>;
  importKey(peerTransportKey: Buffer, wrapped: Buffer, binding: TransferBinding): Promise<string>;
  /** Destroys every secret and the state. */
  zeroize(): Promise<void>;
  close(): Promise<void>;
}
