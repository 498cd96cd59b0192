/**
 * A refused crypto unit operation. `kind` tells the management API which 4xx to answer;
 * the message says what to do about it and never contains key material.
 */
export type UnitErrorKind = 'NotFound' | 'InvalidRequest' | 'SignatureRequired' | 'StaleNonce' | 'InvalidState';

export class CryptoUnitError extends Error {
  constructor(
    readonly kind: UnitErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'CryptoUnitError';
  }
}
