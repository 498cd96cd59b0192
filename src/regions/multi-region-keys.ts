import type { Logger } from 'pino';
import type { ImportedMaterialBinder, KeySubscriber, OperationDeps, Operations } from '../kms/index.ts';
import type { Store } from '../store/index.ts';
import { KeyLocks } from './key-locks.ts';
import { KeySnapshots } from './key-snapshot.ts';
import { multiRegionOperations } from './multi-region-operations.ts';
import { removeOrphanReplicas } from './orphan-replicas.ts';
import { Outbox } from '../outbox/index.ts';
import { PeerApi } from './peer-api.ts';
import { PeerAuthenticator, type PeerConfig } from './peer-auth.ts';
import { PeerClient } from './peer-client.ts';
import { PeerNonces } from './peer-nonces.ts';
import type { RegionIdentity } from './region-identity.ts';
import type { ReplicationContext } from './replication-context.ts';
import { replicationReceiver } from './replication-receiver.ts';
import { deliverTo, importedMaterialBinder, replicationSubscriber } from './replication-sender.ts';

export interface MultiRegionOptions {
  region: string;
  store: Store;
  identity: RegionIdentity;
  peers: Readonly<Record<string, PeerConfig>>;
  logger: Logger;
}

/**
 * A region's multi-Region keys: the ReplicateKey and UpdatePrimaryRegion operations, the key
 * event subscriber that turns key changes into outbox messages, the outbox delivery, and the peer
 * API. The key service is built with `operations` and `importedMaterialBinder`, and `subscriber`
 * subscribes to its events; the peer API is served by the HTTP layer.
 */
export class MultiRegionKeys {
  readonly outbox: Outbox;
  readonly subscriber: KeySubscriber;
  readonly importedMaterialBinder: ImportedMaterialBinder;
  private readonly auth: PeerAuthenticator;
  private context: ReplicationContext | undefined;
  private api: PeerApi | undefined;

  constructor(private readonly options: MultiRegionOptions) {
    this.auth = new PeerAuthenticator(options.region, options.identity, options.peers, new PeerNonces(options.store), () => options.store.now());
    this.outbox = new Outbox(options.store, deliverTo(() => this.rc), options.logger);
    this.subscriber = replicationSubscriber(() => this.rc);
    this.importedMaterialBinder = importedMaterialBinder(() => this.rc);
  }

  /** The key service calls this with its dependencies once they exist. */
  readonly operations = (deps: OperationDeps): Operations => {
    this.context = {
      deps,
      identity: this.options.identity,
      auth: this.auth,
      client: new PeerClient(this.auth),
      snapshots: new KeySnapshots(deps, this.options.identity),
      outbox: this.outbox,
      locks: new KeyLocks(),
      log: this.options.logger,
    };
    this.api = new PeerApi(this.auth, replicationReceiver(this.context), this.options.logger);
    return multiRegionOperations(this.context);
  };

  /** Background work: delivers the outbox, removes replicas a failed ReplicateKey left behind, forgets stale peer nonces. */
  async runBackground(): Promise<{ delivered: number; orphansRemoved: number; noncesForgotten: number }> {
    return {
      delivered: await this.outbox.run(),
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
