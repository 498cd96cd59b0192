import { randomBytes, randomUUID } from 'node:crypto';
import { aesGcmDecrypt, aesGcmEncrypt } from '../crypto/index.ts';
import type { CryptoUnit, WrappedRecords } from '../cryptounits/index.ts';
import type { Reader, Transaction } from '../store/index.ts';
import { HSM_PATHS } from './cluster-records.ts';
import type { HsmContents } from './hsm-contents.ts';
import { CloudHsmError } from './hsm-error.ts';

const wrapAad = (lineageId: string): Buffer => Buffer.from(`concord hsm lineage key v1|${lineageId}`);
const contentsAad = (lineageId: string): Buffer => Buffer.from(`concord hsm contents v1|${lineageId}`);

/**
 * The keys of cluster lineages. A lineage begins with a cluster made from nothing; every
 * cluster made from one of its backups, in any region, belongs to it. Its key encrypts the
 * users and keys of its clusters and their backups; it is stored only wrapped under the
 * region's master key, and crosses regions only sealed for the receiving region.
 */
export class LineageKeys {
  constructor(private readonly unit: CryptoUnit) {}

  /** A new lineage: its ID, its key and the record to store. */
  async create(): Promise<{ lineageId: string; key: Buffer; record: string }> {
    const lineageId = randomUUID();
    const key = randomBytes(32);
    return { lineageId, key, record: await this.record(lineageId, key) };
  }

  /** The stored form of a lineage key: wrapped under the master key, bound to the lineage. */
  async record(lineageId: string, key: Buffer): Promise<string> {
    return JSON.stringify({ wrapped: (await this.unit.wrap(key, wrapAad(lineageId))).toString('base64') });
  }

  async key(reader: Reader, lineageId: string): Promise<Buffer> {
    const stored = await reader.get(HSM_PATHS.lineage(lineageId));
    if (stored === undefined) throw new CloudHsmError('CloudHsmInternalFailureException', 'The cluster lineage key is missing.');
    const { wrapped } = JSON.parse(stored) as { wrapped: string };
    return this.unit.unwrap(Buffer.from(wrapped, 'base64'), wrapAad(lineageId));
  }

  /** Stores a lineage key received from another region, unless the region already holds that lineage. */
  async adopt(tx: Transaction, lineageId: string, record: string): Promise<void> {
    if ((await tx.get(HSM_PATHS.lineage(lineageId))) === undefined) tx.put(HSM_PATHS.lineage(lineageId), record);
  }
}

/** The lineage keys, for a master key rotation to re-wrap: each bound to its lineage ID as it was wrapped. */
export const lineageKeyRecords: WrappedRecords = {
  prefix: HSM_PATHS.lineages,
  async rewrap(value, reseal, key) {
    const { wrapped } = JSON.parse(value) as { wrapped: string };
    const lineageId = key.slice(HSM_PATHS.lineages.length);
    return JSON.stringify({ wrapped: (await reseal(Buffer.from(wrapped, 'base64'), wrapAad(lineageId))).toString('base64') });
  },
};

/** A cluster's users and keys sealed under its lineage key (AES-256-GCM), as contents and backups store them. */
export function sealContents(key: Buffer, lineageId: string, contents: HsmContents): string {
  const sealed = aesGcmEncrypt(key, Buffer.from(JSON.stringify(contents)), contentsAad(lineageId));
  return JSON.stringify({ iv: sealed.iv.toString('base64'), tag: sealed.tag.toString('base64'), ciphertext: sealed.ciphertext.toString('base64') });
}

export function openContents(key: Buffer, lineageId: string, sealed: string): HsmContents {
  const { iv, tag, ciphertext } = JSON.parse(sealed) as Record<'iv' | 'tag' | 'ciphertext', string>;
  const plain = aesGcmDecrypt(
    key,
    { iv: Buffer.from(iv, 'base64'), tag: Buffer.from(tag, 'base64'), ciphertext: Buffer.from(ciphertext, 'base64') },
    contentsAad(lineageId),
  );
  if (!plain) throw new CloudHsmError('CloudHsmInternalFailureException', 'The cluster contents do not open under their lineage key.');
  return JSON.parse(plain.toString('utf8')) as HsmContents;
}
