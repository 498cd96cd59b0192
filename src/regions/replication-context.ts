import type { Logger } from 'pino';
import type { OperationDeps } from '../kms/index.ts';
import type { Outbox } from '../outbox/index.ts';
import type { KeyLocks } from './key-locks.ts';
import type { KeySnapshots } from './key-snapshot.ts';
import type { PeerAuthenticator } from './peer-auth.ts';
import type { PeerClient } from './peer-client.ts';
import type { RegionIdentity } from './region-identity.ts';

/** What the multi-Region parts of one region share. */
export interface ReplicationContext {
  deps: OperationDeps;
  identity: RegionIdentity;
  auth: PeerAuthenticator;
  client: PeerClient;
  snapshots: KeySnapshots;
  outbox: Outbox;
  /** Serializes ReplicateKey, UpdatePrimaryRegion and replica status questions per key. */
  locks: KeyLocks;
  log: Logger;
}

/**
 * Replication's name as a key event subscriber. The key changes replication makes itself (a
 * peer's word, a step of ReplicateKey or UpdatePrimaryRegion) carry it as their source: they
 * reach the other subscribers, and replication has accounted for them already.
 */
export const REPLICATION = 'multi-Region replication';

export const DAY_MS = 24 * 60 * 60 * 1000;
