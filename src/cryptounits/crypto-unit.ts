/**
 * What the key service needs from a region's crypto units: key material wrapped and
 * unwrapped under the region's master key, which never leaves the unit. Backends (a
 * sealed software file, a PKCS#11 token) implement this; the key service knows no more.
 */
export interface CryptoUnit {
  wrap(plaintext: Buffer, aad: Buffer): Promise<Buffer>;
  /** Throws MasterKeyUnavailableError when no register holds the master key that wrapped it. */
  unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer>;
  /** Changes whenever a master key register changes, so material unwrapped before is not trusted after. */
  readonly generation: number;
}

export class MasterKeyUnavailableError extends Error {
  constructor(message = 'The region has no usable master key; load or recover one with concord tke.') {
    super(message);
    this.name = 'MasterKeyUnavailableError';
  }
}

/** A register names a master key its unit no longer holds: zeroized, possibly through another node. */
export function vanishedMasterKey(): MasterKeyUnavailableError {
  return new MasterKeyUnavailableError("A master key register refers to a key its crypto unit no longer holds; recover it with 'concord tke auto-mk-recover'.");
}
