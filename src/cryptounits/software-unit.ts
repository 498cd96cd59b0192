import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { MasterKeyUnavailableError, type CryptoUnit } from './crypto-unit.ts';
import { patternOf, unwrapWith, verificationPattern, wrapWith } from './wrapped-key.ts';

interface UnitFile {
  version: 1;
  current: string;
}

/**
 * A development crypto unit: the master key lives in a file readable only by its owner.
 * It is for `concord dev` and tests; production regions use a PKCS#11 token.
 */
export class SoftwareCryptoUnit implements CryptoUnit {
  private constructor(private readonly masterKey: Buffer) {}

  /** Opens the unit file, creating a fresh random master key the first time. */
  static openOrInit(path: string): SoftwareCryptoUnit {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      const file: UnitFile = { version: 1, current: randomBytes(32).toString('base64') };
      writeFileSync(`${path}.tmp`, JSON.stringify(file), { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    }
    const file = JSON.parse(readFileSync(path, 'utf8')) as UnitFile;
    return new SoftwareCryptoUnit(Buffer.from(file.current, 'base64'));
  }

  async wrap(plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    return wrapWith(this.masterKey, plaintext, aad);
  }

  async unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    const pattern = patternOf(wrapped);
    if (!pattern || !pattern.equals(verificationPattern(this.masterKey))) throw new MasterKeyUnavailableError();
    const plaintext = unwrapWith(this.masterKey, wrapped, aad);
    if (!plaintext) throw new Error('stored key material failed authentication');
    return plaintext;
  }
}
