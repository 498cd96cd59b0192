import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export type CommandName =
  'admin-add' | 'admin-remove' | 'thresholds-set' | 'mk-generate' | 'mk-export' | 'mk-load' | 'mk-commit' | 'mk-set' | 'mk-recover' | 'zeroize';

export type CommandArgs = Record<string, string | number>;

export interface CommandSignature {
  /** Base64 SPKI DER of the administrator's public key. */
  publicKey: string;
  /** Base64 DER ECDSA P-256 / SHA-256 signature over the canonical command. */
  signature: string;
}

export interface SignedCommand {
  command: CommandName;
  args: CommandArgs;
  nonce: string;
  signatures: CommandSignature[];
}

/**
 * The bytes administrators sign: the command bound to one unit and the nonce that unit
 * issued, so a signature is good for one command on one unit, once.
 */
export function canonicalCommand(unitId: string, nonce: string, command: CommandName, args: CommandArgs): Buffer {
  const sortedArgs = Object.keys(args)
    .sort()
    .map((name) => [name, args[name]]);
  return Buffer.from(JSON.stringify(['concord-tke-command/1', unitId, nonce, command, sortedArgs]));
}

export function signCommand(privateKey: KeyObject, message: Buffer): CommandSignature {
  return {
    publicKey: createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64'),
    signature: sign('sha256', message, privateKey).toString('base64'),
  };
}

export function signatureIsValid(publicKey: string, message: Buffer, signature: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
    return verify('sha256', message, key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Validates an administrator public key: base64 SPKI DER of a P-256 key, spelled exactly as
 * the key exports. Administrators are told apart by this text, so another spelling of the same
 * key (no padding, a compressed point) would let one administrator count as two signers.
 */
export function isP256PublicKey(publicKey: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
    return (
      key.asymmetricKeyType === 'ec' &&
      key.asymmetricKeyDetails?.namedCurve === 'prime256v1' &&
      key.export({ format: 'der', type: 'spki' }).toString('base64') === publicKey
    );
  } catch {
    return false;
  }
}
