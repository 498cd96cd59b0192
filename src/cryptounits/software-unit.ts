import { createECDH, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { MasterKeyUnavailableError, type CryptoUnit } from './crypto-unit.ts';
import { aesGcmDecrypt, aesGcmEncrypt, aesKeyWrapPad } from '../crypto/index.ts';
import { writeSecretFile } from '../util/index.ts';
import { transferKey, type TransferBinding } from './key-transfer.ts';
import { encodeWrapped, patternOf, sealedOf, verificationPattern } from './wrapped-key.ts';

interface UnitFile {
  version: 1;
  current: string;
}

/**
 * A single-file crypto unit: one master key in a file readable only by its owner, with no
 * administrators or registers, as Concord before crypto units kept the master key. Unit tests
 * of the key service use it, and regions with `cryptoUnits.adopt` (`concord dev`) take the key
 * of such a file over into managed units through the ceremony.
 */
export class SoftwareCryptoUnit implements CryptoUnit {
  readonly generation = 0;

  private constructor(private readonly masterKey: Buffer) {}

  /** The hex verification pattern of its master key, as a register that holds it shows it. */
  get pattern(): string {
    return verificationPattern(this.masterKey).toString('hex');
  }

  /** Opens the unit file, creating a fresh random master key the first time. */
  static openOrInit(path: string): SoftwareCryptoUnit {
    if (!existsSync(path)) {
      const file: UnitFile = { version: 1, current: randomBytes(32).toString('base64') };
      writeSecretFile(path, JSON.stringify(file));
    }
    const file = JSON.parse(readFileSync(path, 'utf8')) as UnitFile;
    return new SoftwareCryptoUnit(Buffer.from(file.current, 'base64'));
  }

  /**
   * This unit's master key wrapped for a managed unit's transport key as a unit exports one,
   * under a one-time exporter key, for a signed mk-load; with the verification pattern its
   * ciphertext carries.
   */
  exportKey(importer: Buffer, binding: TransferBinding): { exporter: Buffer; wrapped: Buffer; pattern: Buffer } {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    return {
      exporter: ecdh.getPublicKey(),
      wrapped: aesKeyWrapPad(transferKey(ecdh.getPrivateKey(), importer, binding), this.masterKey),
      pattern: verificationPattern(this.masterKey),
    };
  }

  wrap(plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    return Promise.resolve(encodeWrapped(verificationPattern(this.masterKey), aesGcmEncrypt(this.masterKey, plaintext, aad)));
  }

  unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    const pattern = patternOf(wrapped);
    if (!pattern || !pattern.equals(verificationPattern(this.masterKey))) return Promise.reject(new MasterKeyUnavailableError());
    const plaintext = aesGcmDecrypt(this.masterKey, sealedOf(wrapped), aad);
    if (!plaintext) return Promise.reject(new Error('stored key material failed authentication'));
    return Promise.resolve(plaintext);
  }
}
