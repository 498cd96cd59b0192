import { createHash } from 'node:crypto';
import type { BackupCopier, BackupTransfer, CloudHsmService } from '../hsm/index.ts';
import { enqueue, type Outbox, type OutboxEntry } from '../outbox/index.ts';
import type { Store } from '../store/index.ts';
import { sealForPeer, openFromPeer, type MaterialBinding, type SealedMaterial } from './material-transport.ts';
import type { PeerClient } from './peer-client.ts';
import { PeerRefusal } from './peer-refusal.ts';
import type { RegionIdentity } from './region-identity.ts';

/** The outbox topic of backup copies: the data and sealed lineage key of a copy the destination has begun. */
export const BACKUP_COPY_TOPIC = 'cloudhsm-backup-copy';

export type BeginCopyRequest = Omit<BackupTransfer, 'lineageKey' | 'data' | 'sourceRegion'>;

/** What the outbox holds for a copy: the whole data, sent in parts by the delivery. */
interface CopyDelivery {
  backupId: string;
  lineageId: string;
  sealedKey: SealedMaterial;
  data: string;
}

export interface CopyPartRequest {
  backupId: string;
  index: number;
  part: string;
}

export interface CompleteCopyRequest {
  backupId: string;
  lineageId: string;
  sealedKey: SealedMaterial;
  /** How many parts the data came in, and the SHA-256 (hex) of the whole, which the receiver checks. */
  parts: number;
  sha256: string;
}

/** A part's size in characters (the sealed data is ASCII): well within the peer surface's 1 MiB body limit with the rest of the request. */
const PART_CHARS = 512 * 1024;
/** Parts received, by sending region and backup, until the copy completes. */
const partPath = (from: string, backupId: string, index: number): string => `hsm/copy-parts/${from}/${backupId}/${String(index).padStart(6, '0')}`;
const partsPrefix = (from: string, backupId: string): string => `hsm/copy-parts/${from}/${backupId}/`;
const digest = (data: string): string => createHash('sha256').update(data).digest('hex');

/** A lineage key is sealed like key material: bound to its lineage and the direction between the two regions. */
const binding = (lineageId: string, from: string, to: string): MaterialBinding => ({ keyId: `cloudhsm-lineage/${lineageId}`, version: 1, from, to });

/**
 * CopyBackupToRegion over the peer link. The destination first records the backup in
 * CREATE_IN_PROGRESS (peer action cloudhsm-backup-begin) and names its ID; the backup's data
 * and its lineage key, sealed for the destination (ECDH + HKDF + AES-GCM, as multi-Region
 * material), then go through the outbox, so a copy survives a restart or a peer that is down:
 * the data in parts that each fit a peer request (cloudhsm-backup-part), then the sealed key
 * with the number of parts and the digest of the whole (cloudhsm-backup-complete), and the
 * backup becomes READY there. A retried delivery sends every part again; parts overwrite.
 */
export class BackupCopyLink implements BackupCopier {
  readonly regions: readonly string[];
  private receiver: CloudHsmService | undefined;

  constructor(
    private readonly region: string,
    private readonly store: Store,
    private readonly identity: RegionIdentity,
    private readonly client: PeerClient,
    private readonly outbox: Outbox,
    peers: readonly string[],
  ) {
    this.regions = peers;
    outbox.register(BACKUP_COPY_TOPIC, (entry: OutboxEntry<CopyDelivery>) => this.deliver(entry));
  }

  /** The region's cluster service, which receives the copies peers send. */
  attach(receiver: CloudHsmService): void {
    this.receiver = receiver;
  }

  async copy(destination: string, transfer: BackupTransfer): Promise<void> {
    const { lineageKey, data, sourceRegion: _source, ...metadata } = transfer;
    const begin: BeginCopyRequest = metadata;
    const { backupId } = await this.client.call<{ backupId: string }>(destination, 'cloudhsm-backup-begin', begin);
    const sealedKey = sealForPeer(
      this.identity,
      await this.client.transportKey(destination),
      binding(transfer.lineageId, this.region, destination),
      lineageKey,
    );
    const body: CopyDelivery = { backupId, lineageId: transfer.lineageId, sealedKey, data };
    await this.store.transaction((tx) => enqueue(tx, { topic: BACKUP_COPY_TOPIC, destination, body }));
    this.outbox.kick();
  }

  private async deliver(entry: OutboxEntry<CopyDelivery>): Promise<{ done: true }> {
    const { data, ...rest } = entry.body;
    const parts = Math.max(1, Math.ceil(data.length / PART_CHARS));
    for (let index = 0; index < parts; index++) {
      const part: CopyPartRequest = { backupId: rest.backupId, index, part: data.slice(index * PART_CHARS, (index + 1) * PART_CHARS) };
      await this.client.call(entry.destination, 'cloudhsm-backup-part', part);
    }
    const complete: CompleteCopyRequest = { ...rest, parts, sha256: digest(data) };
    await this.client.call(entry.destination, 'cloudhsm-backup-complete', complete);
    return { done: true };
  }

  /** The peer actions of the receiving side. */
  readonly handlers = {
    'cloudhsm-backup-begin': async (from: string, request: BeginCopyRequest): Promise<{ backupId: string }> => ({
      backupId: await this.cluster().beginCopy({ ...request, sourceRegion: from }),
    }),
    'cloudhsm-backup-part': async (from: string, { backupId, index, part }: CopyPartRequest): Promise<Record<string, never>> => {
      await this.store.transaction((tx) => {
        tx.put(partPath(from, backupId, index), part);
      });
      return {};
    },
    'cloudhsm-backup-complete': async (
      from: string,
      { backupId, lineageId, sealedKey, parts, sha256 }: CompleteCopyRequest,
    ): Promise<Record<string, never>> => {
      const key = openFromPeer(this.identity, await this.client.transportKey(from), binding(lineageId, from, this.region), sealedKey);
      if (!key) throw new PeerRefusal(backupId, `the lineage key of backup ${backupId} from ${from} does not open here.`);
      const received = await this.store.list(partsPrefix(from, backupId));
      const data = received.map((entry) => entry.value).join('');
      if (received.length !== parts || digest(data) !== sha256) {
        throw new PeerRefusal(backupId, `backup ${backupId} from ${from} arrived in ${received.length} of ${parts} parts or altered; it is sent again.`);
      }
      if (!(await this.cluster().completeCopy(backupId, from, lineageId, key, data))) {
        throw new PeerRefusal(backupId, `${from} may complete only a copy it began.`);
      }
      await this.store.transaction((tx) => {
        for (const entry of received) tx.delete(entry.key);
      });
      return {};
    },
  };

  private cluster(): CloudHsmService {
    if (!this.receiver) throw new Error('backup copies arrive before the region has a cluster service');
    return this.receiver;
  }
}
