import {
  changeKey,
  invalidState,
  isReplicaKey,
  keyArn,
  multiRegionConfig,
  refuseOnReplica,
  sharedView,
  type ImportedMaterialBinder,
  type KeySubscriber,
} from '../kms/index.ts';
import type { DeliveryResult, OutboxEntry } from '../outbox/index.ts';
import { enqueueReplication, type ReplicationBody } from './replication-messages.ts';
import { dependencyTimeout } from './peer-client.ts';
import { REPLICATION, type ReplicationContext } from './replication-context.ts';
import type { BindImportedMaterialRequest } from './replication-receiver.ts';

/** Delivers one replication message to its peer region. */
export function deliverTo(rc: () => ReplicationContext) {
  return async ({ destination: target, body: { kind, keyId } }: OutboxEntry<ReplicationBody>): Promise<DeliveryResult> => {
    const { deps, client, snapshots } = rc();
    const { ctx, keys } = deps;
    if (kind === 'replica-deleted') {
      const answer = await client.call<{ primaryRegion?: string }>(target, 'replica-deleted', { keyId });
      return answer.primaryRegion && answer.primaryRegion !== target ? { retarget: answer.primaryRegion } : { done: true };
    }
    const key = await keys.get(keyId);
    const config = key && multiRegionConfig(key);
    // Only the primary speaks for a key, and an old primary only to hand over to its successor.
    const handingOver = config?.updatingWith === target && config.primaryRegion === target;
    if (!key || !config || (config.primaryRegion !== ctx.region && !handingOver)) return { done: true };
    const snapshot = await snapshots.build(key, target, await client.transportKey(target));
    await client.call(target, 'sync', { snapshot });
    if (config.updatingWith === target && config.primaryRegion === ctx.region) {
      await deps.events.transaction(async (tx, publish) => {
        const current = await keys.getForUpdate(tx, keyId);
        if (current?.multiRegionConfig?.updatingWith !== target) return;
        await changeKey(
          tx,
          current,
          (key) => {
            delete key.multiRegionConfig!.updatingWith;
          },
          { publish },
        );
      }, REPLICATION);
    }
    return { done: true };
  };
}

/**
 * Takes part in every key change: a change of shared properties on a primary raises the
 * configuration version and queues a sync to each replica in the same transaction; on a
 * replica it is refused; a replica really deleted queues word to its primary.
 */
export function replicationSubscriber(rc: () => ReplicationContext): KeySubscriber {
  return {
    name: REPLICATION,
    async inTransaction(tx, { before, after }) {
      const config = before && multiRegionConfig(before);
      if (!before || !config) return;
      if (!after) {
        if (isReplicaKey(before)) await enqueueReplication(tx, { kind: 'replica-deleted', keyId: before.keyId, target: config.primaryRegion });
        return;
      }
      // While the primary moves, the keys serve cryptography but their state stays as it is.
      if (config.updatingWith && after.state !== before.state) throw invalidState(keyArn(before, before.keyId), 'Updating');
      if (JSON.stringify(sharedView(before)) === JSON.stringify(sharedView(after))) return;
      refuseOnReplica(before, 'A change of key material, key spec, key usage, origin or automatic rotation');
      if (config.updatingWith) throw invalidState(keyArn(before, before.keyId), 'Updating');
      if (config.replicaRegions.length === 0) return;
      after.multiRegionConfig = { ...config, version: config.version + 1 };
      for (const target of config.replicaRegions) await enqueueReplication(tx, { kind: 'sync', keyId: after.keyId, target });
    },
    afterCommit() {
      rc().outbox.kick();
    },
  };
}

/** A replica's imported material is bound by its primary, asked over the peer API. */
export function importedMaterialBinder(rc: () => ReplicationContext): ImportedMaterialBinder {
  return async (replica, materialId, version) => {
    const primary = multiRegionConfig(replica)!.primaryRegion;
    const request: BindImportedMaterialRequest = { keyId: replica.keyId, materialId, ...(version !== undefined ? { version } : {}) };
    const answer = await rc()
      .client.call<{ version: number }>(primary, 'bind-imported-material', request)
      .catch(
        dependencyTimeout(`its primary key must confirm the key material of a replica key, so nothing was imported. Try again when ${primary} is reachable.`),
      );
    return answer.version;
  };
}
