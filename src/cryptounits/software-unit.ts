import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { MasterKeyUnavailableError, type CryptoUnit } from './crypto-unit.ts';
import { aesGcmDecrypt, aesGcmEncrypt } from '../crypto/index.ts';
import { writeSecretFile } from '../util/index.ts';
import type { SoftwareVault } from './software-vault.ts';
import { encodeWrapped, patternOf, sealedOf, verificationPattern } from './wrapped-key.ts';

interface UnitFile {
  version: 1;
  current: string;
}

/**
 * A single-file crypto unit: one master key in a file readable only by its owner, with no
 * administrators or registers. Unit tests of the key service use it, regions configured
 * with `cryptoUnit` keep it, and `concord dev` adopts its key into managed units.
 */
export class SoftwareCryptoUnit implements CryptoUnit {
  readonly generation = 0;

  private constructor(private readonly masterKey: Buffer) {}

  /** Opens the unit file, creating a fresh random master key the first time. */
  static openOrInit(path: string): SoftwareCryptoUnit {
    if (!existsSync(path)) {
      const file: UnitFile = { version: 1, current: randomBytes(32).toString('base64') };
      writeSecretFile(path, JSON.stringify(file));
    }
    const file = JSON.parse(readFileSync(path, 'utf8')) as UnitFile;
    return new SoftwareCryptoUnit(Buffer.from(file.current, 'base64'));
  }

  /** Copies this unit's master key into a managed unit's vault, keeping its verification pattern. */
  handOver(vault: SoftwareVault): { handle: string; pattern: Buffer } {
    return vault.adoptKey(this.masterKey);
  }

  async wrap(plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    return encodeWrapped(verificationPattern(this.masterKey), aesGcmEncrypt(this.masterKey, plaintext, aad));
  }

  async unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    const pattern = patternOf(wrapped);
    if (!pattern || !pattern.equals(verificationPattern(this.masterKey))) throw new MasterKeyUnavailableError();
    const plaintext = aesGcmDecrypt(this.masterKey, sealedOf(wrapped), aad);
    if (!plaintext) throw new Error('stored key material failed authentication');
    return plaintext;
  }
}
