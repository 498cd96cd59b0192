import type { UnitVault } from '../cryptounits/index.ts';

const contentsAad = (clusterId: string): Buffer => Buffer.from(`concord hsm contents at rest v1|${clusterId}`);

/**
 * Where a region's HSMs keep their users and keys at rest: under a key that never leaves a
 * crypto-unit backend (a file of the software backend, or a non-extractable token object of a
 * PKCS#11 token such as SoftHSM2), around the lineage sealing. A cluster's contents then open
 * only with that backend; its backups stay sealed under the lineage key alone, so they still
 * restore in another region, whose HSMs put them under their own vault.
 */
export class HsmVault {
  private constructor(
    private readonly vault: UnitVault,
    private readonly handle: string,
  ) {}

  /** Takes the vault's key, made on first use. */
  static async open(vault: UnitVault): Promise<HsmVault> {
    const [handle] = await vault.handles();
    return new HsmVault(vault, handle ?? (await vault.generateKey()).handle);
  }

  get backend(): string {
    return this.vault.backend;
  }

  seal(clusterId: string, contents: string): string {
    const { iv, tag, ciphertext } = this.vault.encrypt(this.handle, Buffer.from(contents, 'utf8'), contentsAad(clusterId));
    return JSON.stringify({ hsmVault: this.vault.backend, iv: iv.toString('base64'), tag: tag.toString('base64'), ciphertext: ciphertext.toString('base64') });
  }

  /** Contents stored before the HSMs had a vault are taken as they are. */
  open(clusterId: string, stored: string): string {
    const parsed = JSON.parse(stored) as { hsmVault?: string; iv: string; tag: string; ciphertext: string };
    if (parsed.hsmVault === undefined) return stored;
    const plain = this.vault.decrypt(
      this.handle,
      { iv: Buffer.from(parsed.iv, 'base64'), tag: Buffer.from(parsed.tag, 'base64'), ciphertext: Buffer.from(parsed.ciphertext, 'base64') },
      contentsAad(clusterId),
    );
    if (!plain) throw new Error(`the contents of cluster ${clusterId} do not open with the HSMs' ${parsed.hsmVault} vault`);
    return plain.toString('utf8');
  }

  close(): Promise<void> {
    return this.vault.close();
  }
}
