import { enqueue, type OutboxMessage } from '../outbox/index.ts';
import type { Store, Transaction } from '../store/index.ts';

/** Multi-Region replication's topic in the region's outbox. */
export const REPLICATION_TOPIC = 'replication';

/** A change a peer region must learn of. */
export interface ReplicationMessage {
  /** sync: send the key's current multi-Region state; replica-deleted: tell the primary this region's replica is gone. */
  kind: 'sync' | 'replica-deleted';
  keyId: string;
  /** The peer region. */
  target: string;
}

export type ReplicationBody = Omit<ReplicationMessage, 'target'>;

const toOutbox = ({ kind, keyId, target }: ReplicationMessage): OutboxMessage<ReplicationBody> => ({
  topic: REPLICATION_TOPIC,
  destination: target,
  // Each message speaks for one key: a region's keys replicate in parallel, each in order.
  partition: keyId,
  body: { kind, keyId },
  // A sync sends the key's state as of its delivery, which covers every sync for that key and region queued so far.
  ...(kind === 'sync' ? { coalesce: keyId } : {}),
});

export function enqueueReplication(tx: Transaction, message: ReplicationMessage): Promise<void> {
  return enqueue(tx, toOutbox(message));
}

/** Where the replication outbox of earlier versions kept its messages and its sequence. */
const LEGACY_SEQ = 'region/outbox-seq';
const LEGACY_ENTRY = /^outbox\/\d{15}$/;

/**
 * Moves the messages an earlier version queued (`outbox/<seq>`) into the replication topic of the
 * shared outbox, in their order, before the outbox delivers; returns how many it moved. The old
 * sequence row, locked first and deleted last, lets one node of several starting at once do it.
 */
export function upgradeStoredMessages(store: Store): Promise<number> {
  return store.transaction(async (tx) => {
    if ((await tx.getForUpdate(LEGACY_SEQ)) === undefined) return 0;
    const legacy = (await tx.list('outbox/')).filter((entry) => LEGACY_ENTRY.test(entry.key));
    for (const entry of legacy) {
      const { kind, keyId, target } = JSON.parse(entry.value) as ReplicationMessage;
      await enqueue(tx, toOutbox({ kind, keyId, target }));
      tx.delete(entry.key);
    }
    tx.delete(LEGACY_SEQ);
    return legacy.length;
  });
}
