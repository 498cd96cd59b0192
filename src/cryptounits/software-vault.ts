import { createECDH, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { aesGcmDecrypt, aesGcmEncrypt, aesKeyUnwrapPad, aesKeyWrapPad, type Sealed } from '../crypto/index.ts';
import { makePrivateDir, writeSecretFile } from '../util/index.ts';
import { transferKey, type TransferBinding } from './key-transfer.ts';
import { vanishedMasterKey } from './crypto-unit.ts';
import { CryptoUnitError } from './unit-error.ts';
import type { UnitVault } from './unit-vault.ts';
import { verificationPattern } from './wrapped-key.ts';

interface VaultContents {
  state?: string;
  /** Base64 master key values by handle. */
  keys: Record<string, string>;
  /** Base64 P-256 private scalar. */
  transport?: string;
}

const SEAL_AAD = Buffer.from('concord software crypto unit');

/**
 * A development crypto unit: its state and secrets live in one file sealed (AES-256-GCM)
 * under a key in a second file, both readable only by their owner, in the unit's own
 * directory. Writes replace the sealed file atomically.
 */
export class SoftwareVault implements UnitVault {
  readonly backend = 'software';
  private readonly keys = new Map<string, Buffer>();

  private constructor(
    private readonly dir: string,
    private readonly sealKey: Buffer,
    private contents: VaultContents,
  ) {
    this.takeKeys();
  }

  static open(dir: string): SoftwareVault {
    makePrivateDir(dir);
    const sealPath = join(dir, 'seal.key');
    if (!existsSync(sealPath)) writeSecretFile(sealPath, randomBytes(32));
    const sealKey = readFileSync(sealPath);
    return new SoftwareVault(dir, sealKey, readContents(dir, sealKey));
  }

  loadState(): Promise<string | undefined> {
    return Promise.resolve(this.contents.state);
  }

  /** Reads the sealed file again: the nodes of a region share the unit's directory. */
  reload(): Promise<void> {
    this.contents = readContents(this.dir, this.sealKey);
    this.takeKeys();
    return Promise.resolve();
  }

  saveState(state: string): Promise<void> {
    this.persist({ ...this.contents, state });
    return Promise.resolve();
  }

  generateKey(): Promise<{ handle: string; pattern: Buffer }> {
    const value = randomBytes(32);
    return Promise.resolve({ handle: this.addKey(value), pattern: verificationPattern(value) });
  }

  destroyKey(handle: string): Promise<void> {
    const value = this.keys.get(handle);
    if (!value) return Promise.resolve();
    const { [handle]: _destroyed, ...keys } = this.contents.keys;
    this.persist({ ...this.contents, keys });
    this.keys.delete(handle);
    value.fill(0);
    return Promise.resolve();
  }

  handles(): Promise<string[]> {
    return Promise.resolve([...this.keys.keys()]);
  }

  encrypt(handle: string, plaintext: Buffer, aad: Buffer): Sealed {
    return aesGcmEncrypt(this.key(handle), plaintext, aad);
  }

  decrypt(handle: string, sealed: Sealed, aad: Buffer): Buffer | undefined {
    return aesGcmDecrypt(this.key(handle), sealed, aad);
  }

  transportKey(): Promise<Buffer> {
    const ecdh = createECDH('prime256v1');
    if (this.contents.transport) {
      ecdh.setPrivateKey(Buffer.from(this.contents.transport, 'base64'));
    } else {
      ecdh.generateKeys();
      this.persist({ ...this.contents, transport: ecdh.getPrivateKey().toString('base64') });
    }
    return Promise.resolve(ecdh.getPublicKey());
  }

  async exportKey(handle: string, peerTransportKey: Buffer, binding: TransferBinding): Promise<Buffer> {
    return aesKeyWrapPad(await this.transferKey(peerTransportKey, binding), this.key(handle));
  }

  async importKey(peerTransportKey: Buffer, wrapped: Buffer, binding: TransferBinding): Promise<string> {
    const value = aesKeyUnwrapPad(await this.transferKey(peerTransportKey, binding), wrapped);
    if (!value || value.length !== 32) {
      throw new CryptoUnitError('InvalidRequest', 'The wrapped master key was not made for this unit by that exporter.');
    }
    return this.addKey(value);
  }

  zeroize(): Promise<void> {
    for (const value of this.keys.values()) value.fill(0);
    this.keys.clear();
    this.contents = { keys: {} };
    rmSync(join(this.dir, 'unit.sealed'), { force: true });
    return Promise.resolve();
  }

  async close(): Promise<void> {}

  private async transferKey(peerTransportKey: Buffer, binding: TransferBinding): Promise<Buffer> {
    await this.transportKey();
    try {
      return transferKey(Buffer.from(this.contents.transport!, 'base64'), peerTransportKey, binding);
    } catch {
      throw new CryptoUnitError('InvalidRequest', 'The peer transport key is not a P-256 public key.');
    }
  }

  private takeKeys(): void {
    for (const value of this.keys.values()) value.fill(0);
    this.keys.clear();
    for (const [handle, value] of Object.entries(this.contents.keys)) this.keys.set(handle, Buffer.from(value, 'base64'));
  }

  private addKey(value: Buffer): string {
    const handle = randomBytes(8).toString('hex');
    this.persist({ ...this.contents, keys: { ...this.contents.keys, [handle]: value.toString('base64') } });
    this.keys.set(handle, value);
    return handle;
  }

  private key(handle: string): Buffer {
    const value = this.keys.get(handle);
    if (!value) throw vanishedMasterKey();
    return value;
  }

  private persist(contents: VaultContents): void {
    const sealed = aesGcmEncrypt(this.sealKey, Buffer.from(JSON.stringify(contents)), SEAL_AAD);
    writeSecretFile(join(this.dir, 'unit.sealed'), Buffer.concat([sealed.iv, sealed.tag, sealed.ciphertext]));
    this.contents = contents;
  }
}

function readContents(dir: string, sealKey: Buffer): VaultContents {
  const sealedPath = join(dir, 'unit.sealed');
  if (!existsSync(sealedPath)) return { keys: {} };
  const file = readFileSync(sealedPath);
  const plain = aesGcmDecrypt(sealKey, { iv: file.subarray(0, 12), tag: file.subarray(12, 28), ciphertext: file.subarray(28) }, SEAL_AAD);
  if (!plain) throw new Error(`crypto unit file ${sealedPath} does not open with its seal key`);
  return JSON.parse(plain.toString('utf8')) as VaultContents;
}
