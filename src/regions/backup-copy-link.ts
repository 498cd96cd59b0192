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

export interface CompleteCopyRequest {
  backupId: string;
  lineageId: string;
  sealedKey: SealedMaterial;
  data: string;
}

/** A lineage key is sealed like key material: bound to its lineage and the direction between the two regions. */
const binding = (lineageId: string, from: string, to: string): MaterialBinding => ({ keyId: `cloudhsm-lineage/${lineageId}`, version: 1, from, to });

/**
 * CopyBackupToRegion over the peer link. The destination first records the backup in
 * CREATE_IN_PROGRESS (peer action cloudhsm-backup-begin) and names its ID; the backup's data
 * and its lineage key, sealed for the destination (ECDH + HKDF + AES-GCM, as multi-Region
 * material), then go through the outbox (cloudhsm-backup-complete), so a copy survives a
 * restart or a peer that is down, and the backup becomes READY there.
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
    outbox.register(BACKUP_COPY_TOPIC, (entry: OutboxEntry<CompleteCopyRequest>) => this.deliver(entry));
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
    const body: CompleteCopyRequest = { backupId, lineageId: transfer.lineageId, sealedKey, data };
    await this.store.transaction((tx) => enqueue(tx, { topic: BACKUP_COPY_TOPIC, destination, body }));
    this.outbox.kick();
  }

  private async deliver(entry: OutboxEntry<CompleteCopyRequest>): Promise<{ done: true }> {
    await this.client.call(entry.destination, 'cloudhsm-backup-complete', entry.body);
    return { done: true };
  }

  /** The peer actions of the receiving side. */
  readonly handlers = {
    'cloudhsm-backup-begin': async (from: string, request: BeginCopyRequest): Promise<{ backupId: string }> => ({
      backupId: await this.cluster().beginCopy({ ...request, sourceRegion: from }),
    }),
    'cloudhsm-backup-complete': async (from: string, { backupId, lineageId, sealedKey, data }: CompleteCopyRequest): Promise<Record<string, never>> => {
      const key = openFromPeer(this.identity, await this.client.transportKey(from), binding(lineageId, from, this.region), sealedKey);
      if (!key) throw new PeerRefusal(backupId, `the lineage key of backup ${backupId} from ${from} does not open here.`);
      if (!(await this.cluster().completeCopy(backupId, from, lineageId, key, data))) {
        throw new PeerRefusal(backupId, `${from} may complete only a copy it began.`);
      }
      return {};
    },
  };

  private cluster(): CloudHsmService {
    if (!this.receiver) throw new Error('backup copies arrive before the region has a cluster service');
    return this.receiver;
  }
}
