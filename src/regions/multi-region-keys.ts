import type { Logger } from 'pino';
import type { ImportedMaterialBinder, KeySubscriber, MultiRegionOperationName, OperationDeps, Operations } from '../kms/index.ts';
import type { Outbox } from '../outbox/index.ts';
import type { Store } from '../store/index.ts';
import { BackupCopyLink } from './backup-copy-link.ts';
import { KeyLocks } from './key-locks.ts';
import { KeySnapshots } from './key-snapshot.ts';
import { multiRegionOperations } from './multi-region-operations.ts';
import { removeOrphanReplicas } from './orphan-replicas.ts';
import { PeerApi } from './peer-api.ts';
import { PeerAuthenticator, type PeerConfig } from './peer-auth.ts';
import { PeerClient } from './peer-client.ts';
import { PeerNonces } from './peer-nonces.ts';
import type { RegionIdentity } from './region-identity.ts';
import type { ReplicationContext } from './replication-context.ts';
import { REPLICATION_TOPIC, upgradeStoredMessages } from './replication-messages.ts';
import { replicationReceiver } from './replication-receiver.ts';
import { deliverTo, importedMaterialBinder, replicationSubscriber } from './replication-sender.ts';

export interface MultiRegionOptions {
  region: string;
  store: Store;
  identity: RegionIdentity;
  peers: Readonly<Record<string, PeerConfig>>;
  /** The region's outbox, in which replication registers its topic. */
  outbox: Outbox;
  logger: Logger;
}

/** The background job of multi-Region keys, run on one node of the region. */
export const REPLICATION_JOB = 'multi-Region replication';

/**
 * A region's multi-Region keys: the ReplicateKey and UpdatePrimaryRegion operations, the key
 * event subscriber that turns key changes into outbox messages, their delivery, and the peer
 * API. The key service is built with `operations` and `importedMaterialBinder`, and `subscriber`
 * subscribes to its events; the peer API is served by the HTTP layer.
 */
export class MultiRegionKeys {
  readonly subscriber: KeySubscriber;
  readonly importedMaterialBinder: ImportedMaterialBinder;
  /** CopyBackupToRegion's way to the other regions; the region's cluster service attaches to receive copies. */
  readonly backupCopies: BackupCopyLink;
  private readonly auth: PeerAuthenticator;
  private context: ReplicationContext | undefined;
  private api: PeerApi | undefined;

  constructor(private readonly options: MultiRegionOptions) {
    this.auth = new PeerAuthenticator(options.region, options.identity, options.peers, new PeerNonces(options.store), () => options.store.now());
    options.outbox.register(
      REPLICATION_TOPIC,
      deliverTo(() => this.rc),
    );
    this.subscriber = replicationSubscriber(() => this.rc);
    this.importedMaterialBinder = importedMaterialBinder(() => this.rc);
    this.backupCopies = new BackupCopyLink(
      options.region,
      options.store,
      options.identity,
      new PeerClient(this.auth),
      options.outbox,
      Object.keys(options.peers),
    );
  }

  /** The key service calls this with its dependencies once they exist. */
  readonly operations = (deps: OperationDeps): Operations<MultiRegionOperationName> => {
    this.context = {
      deps,
      identity: this.options.identity,
      auth: this.auth,
      client: new PeerClient(this.auth),
      snapshots: new KeySnapshots(deps, this.options.identity),
      outbox: this.options.outbox,
      locks: new KeyLocks(),
      log: this.options.logger,
    };
    this.api = new PeerApi(this.auth, { ...replicationReceiver(this.context), ...this.backupCopies.handlers }, this.options.logger);
    return multiRegionOperations(this.context);
  };

  /** Brings what an earlier version stored up to date (its replication outbox); run at start, before serving. */
  upgradeStoredData(): Promise<number> {
    return upgradeStoredMessages(this.options.store);
  }

  /** Background work: removes replicas a failed ReplicateKey left behind, forgets stale peer nonces. */
  async runBackground(): Promise<{ orphansRemoved: number; noncesForgotten: number }> {
    return {
      orphansRemoved: await removeOrphanReplicas(this.rc),
      noncesForgotten: await this.auth.forgetStaleNonces(),
    };
  }

  get peerApi(): PeerApi {
    if (!this.api) throw new Error('multi-Region keys are not attached to a key service');
    return this.api;
  }

  private get rc(): ReplicationContext {
    if (!this.context) throw new Error('multi-Region keys are not attached to a key service');
    return this.context;
  }
}
