import { keyPath, multiRegionConfig } from '../kms/index.ts';
import type { ReplicationContext } from './replication-context.ts';

/** Marks a replica created by ReplicateKey and not yet enabled by its primary's first sync. */
export const pendingReplicaPath = (keyId: string): string => `replica-pending/${keyId}`;

/**
 * How long a replica may stay Creating before its primary is asked about it: a primary
 * commits right after the replica answers, and at worst gives up after its peer timeout.
 */
const ASK_AFTER_MS = 10_000;

/**
 * Removes replicas left Creating by a ReplicateKey that failed after the replica was made
 * (the primary timed out or died before listing it). The primary answers under its per-key
 * lock, so an in-flight ReplicateKey finishes first and its replica is never taken for an orphan.
 */
export async function removeOrphanReplicas({ deps, client }: ReplicationContext): Promise<number> {
  const { ctx, keys } = deps;
  let removed = 0;
  for (const entry of await ctx.store.list('replica-pending/')) {
    const keyId = entry.key.slice('replica-pending/'.length);
    const createdAt = Number(entry.value);
    const key = await keys.get(keyId);
    const config = key && multiRegionConfig(key);
    const waiting = key !== undefined && config !== undefined && key.state === 'Creating' && key.createdAt === createdAt;
    if (waiting) {
      if (ctx.now() - createdAt < ASK_AFTER_MS) continue;
      const { listed } = await client.call<{ listed: boolean }>(config.primaryRegion, 'replica-status', { keyId }).catch(() => ({ listed: true }));
      if (listed) continue;
    }
    await ctx.store.transaction(async (tx) => {
      if ((await tx.getForUpdate(entry.key)) !== entry.value) return;
      const current = await keys.getForUpdate(tx, keyId);
      if (waiting && current?.state === 'Creating') {
        tx.delete(keyPath(keyId));
        removed += 1;
      }
      tx.delete(entry.key);
    });
  }
  return removed;
}
