import { KmsError } from '../errors/index.ts';
import {
  bindForReplica,
  changeKey,
  checkTags,
  defaultKeyPolicy,
  keyArn,
  keyMetadata,
  keyPath,
  multiRegionConfig,
  type Caller,
  type KeyMetadata,
  type KeyRecord,
  type KeyState,
  type Tag,
} from '../kms/index.ts';
import type { KeySnapshot } from './key-snapshot.ts';
import { pendingReplicaPath } from './orphan-replicas.ts';
import { enqueueReplication } from './replication-messages.ts';
import type { BackupCopyLink } from './backup-copy-link.ts';
import type { PeerHandlers } from './peer-api.ts';
import { dependencyTimeout } from './peer-client.ts';
import { PeerRefusal } from './peer-refusal.ts';
import { DAY_MS, REPLICATION, type ReplicationContext } from './replication-context.ts';

export interface PrepareReplicaRequest {
  snapshot: KeySnapshot;
  description: string;
  policy?: string;
  bypassPolicyLockoutSafetyCheck: boolean;
  tags: Tag[];
  caller: Caller;
}

export interface PreparedReplica {
  metadata: KeyMetadata;
  policy: string;
  tags: Tag[];
}

/** The primary asks before UpdatePrimaryRegion, naming the caller whose permission the replica checks. */
export interface ReplicaStateRequest {
  keyId: string;
  caller: Caller;
}

export interface ReplicaState {
  arn?: string;
  state?: KeyState;
}

export interface BindImportedMaterialRequest {
  keyId: string;
  materialId: string;
  /** The version the replica imports new material as; absent for material it calls existing. */
  version?: number;
}

/**
 * What a region does when a peer region calls it. `from` is the calling region as its
 * signature proves; a peer acts on a key only in the role this region's own record of the key
 * gives it, whatever its payload claims.
 */
export function replicationReceiver(rc: ReplicationContext): Omit<PeerHandlers, keyof BackupCopyLink['handlers']> {
  const { deps, identity, client, snapshots, outbox, locks } = rc;
  const { ctx, keys } = deps;

  /**
   * Whether `known`, the primary this region knows for the key, handed the role on to
   * `claimant`: each region asked names the primary it knows, from `known` on. Only a primary
   * hands the role on, and UpdatePrimaryRegion names the successor in the old primary before
   * the successor says a word, so the walk follows real handovers only. It asks each region
   * once at most, so it ends.
   */
  const handedOver = async (keyId: string, known: string, claimant: string): Promise<boolean> => {
    const asked = new Set([ctx.region]);
    let current = known;
    while (current !== claimant && !asked.has(current)) {
      asked.add(current);
      const { primaryRegion } = await client
        .call<{ primaryRegion?: string }>(current, 'primary-region', { keyId })
        .catch(dependencyTimeout(`${current} must confirm that ${claimant} is the primary region of ${keyId} before ${ctx.region} follows it.`));
      if (primaryRegion === undefined) return false;
      current = primaryRegion;
    }
    return current === claimant;
  };

  return {
    hello() {
      return Promise.resolve({ transportKey: identity.transportPublicKey });
    },

    /** The replica's half of ReplicateKey: the key appears here in Creating, with its material, until the primary commits. */
    async 'prepare-replica'(
      from,
      { snapshot, description, policy, bypassPolicyLockoutSafetyCheck, tags, caller }: PrepareReplicaRequest,
    ): Promise<PreparedReplica> {
      if (snapshot.config.primaryRegion !== from) {
        throw new PeerRefusal(snapshot.keyId, `${from} may create a replica only of a key whose primary it is.`);
      }
      if (!snapshot.config.replicaRegions.includes(ctx.region)) {
        throw new KmsError('ValidationException', `The key's replica regions do not include ${ctx.region}.`);
      }
      if (snapshot.account !== ctx.account) {
        throw new KmsError('UnsupportedOperationException', `Region ${ctx.region} serves another account.`);
      }
      checkTags(tags);
      await deps.authorizeIdentity(caller, 'CreateKey');
      if (policy !== undefined) deps.checkKeyPolicy(policy, caller, snapshot.keyId, bypassPolicyLockoutSafetyCheck);
      // The peer schema requires these strings: the primary's own record's values.
      const shared = snapshot.shared as Pick<KeyRecord, 'keySpec' | 'keyUsage' | 'origin'>;
      const record: KeyRecord = {
        keyId: snapshot.keyId,
        account: snapshot.account,
        region: ctx.region,
        createdAt: ctx.now(),
        description,
        keySpec: shared.keySpec,
        keyUsage: shared.keyUsage,
        origin: shared.origin,
        state: 'Creating',
        policy: policy ?? defaultKeyPolicy(ctx.account),
        tags,
        materials: [],
        currentMaterial: 0,
        multiRegion: true,
        multiRegionConfig: snapshot.config,
      };
      await deps.events.transaction(async (tx, publish) => {
        const existing = await keys.getForUpdate(tx, record.keyId);
        if (existing && multiRegionConfig(existing)?.primaryRegion !== from) {
          throw new PeerRefusal(record.keyId, `Key ${record.keyId} exists in ${ctx.region} and ${from} is not its primary region.`);
        }
        // A Creating replica from the same primary is the remains of an attempt that never committed there.
        if (existing && existing.state !== 'Creating') {
          throw new KmsError('AlreadyExistsException', `Key ${record.keyId} already exists in ${ctx.region}.`);
        }
        await snapshots.applyShared(record, snapshot, from);
        await publish({ kind: 'created', keyId: record.keyId, after: record });
        tx.put(keyPath(record.keyId), JSON.stringify(record));
        tx.put(pendingReplicaPath(record.keyId), String(record.createdAt));
      }, REPLICATION);
      return { metadata: keyMetadata(ctx, record), policy: record.policy, tags: record.tags };
    },

    /**
     * Applies the primary's state if newer; takes over as primary when the snapshot names this
     * region. Only the key's primary speaks: the region this one knows as primary, or the one
     * that region handed the role to; and a snapshot names as primary its sender or this region.
     */
    async sync(from, { snapshot }: { snapshot: KeySnapshot }) {
      const { keyId, config: incoming } = snapshot;
      const known = await keys.get(keyId);
      const knownConfig = known && multiRegionConfig(known);
      if (!knownConfig) return { applied: false };
      // An old word, such as a handover delivered twice, changes nothing and needs no one's confirmation.
      if (from !== knownConfig.primaryRegion && incoming.version <= knownConfig.version) return { applied: false };
      if (incoming.primaryRegion !== from && incoming.primaryRegion !== ctx.region) {
        throw new PeerRefusal(keyId, `${from} may name only itself or ${ctx.region} as the primary region of ${keyId}.`);
      }
      // The primary this region knows vouches for a sender that is not it, by having handed it the role.
      const voucher = knownConfig.primaryRegion;
      if (voucher !== from && !(await handedOver(keyId, voucher, from))) {
        throw new PeerRefusal(keyId, `${from} is not the primary region of ${keyId}.`);
      }
      const result = await deps.events.transaction(async (tx, publish) => {
        const key = await keys.getForUpdate(tx, keyId);
        const current = key && multiRegionConfig(key);
        if (!key || !current) return { applied: false };
        // The primary may have changed while the handover was confirmed; then the sender tries again.
        if (current.primaryRegion !== voucher) {
          throw new PeerRefusal(keyId, `${from} is not the primary region of ${keyId}.`);
        }
        const newer = incoming.version > current.version;
        await changeKey(
          tx,
          key,
          async (key) => {
            if (newer) {
              await snapshots.applyShared(key, snapshot, from);
              const promoted = incoming.primaryRegion === ctx.region && current.primaryRegion !== ctx.region;
              // The new primary raises the version once more, so its first word to every replica outranks the old primary's last.
              key.multiRegionConfig = promoted ? { ...incoming, version: incoming.version + 1, updatingWith: from } : { ...incoming };
              if (promoted) for (const target of incoming.replicaRegions) await enqueueReplication(tx, { kind: 'sync', keyId: key.keyId, target });
            }
            if (key.state === 'Creating' && incoming.replicaRegions.includes(ctx.region) && incoming.version >= current.version) {
              key.state = key.origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled';
              tx.delete(pendingReplicaPath(key.keyId));
            }
          },
          { publish },
        );
        return { applied: newer };
      }, REPLICATION);
      outbox.kick();
      return result;
    },

    /** This replica's own state, asked by its primary before UpdatePrimaryRegion hands it the role. */
    async 'replica-state'(from, { keyId, caller }: ReplicaStateRequest): Promise<ReplicaState> {
      const key = await keys.get(keyId);
      if (!key || multiRegionConfig(key)?.primaryRegion !== from) return {};
      // UpdatePrimaryRegion needs the permission on this replica too, by this region's policies.
      await deps.authorize(caller, 'UpdatePrimaryRegion', key, { conditions: { 'kms:PrimaryRegion': ctx.region } });
      return { arn: keyArn(ctx, keyId), state: key.state };
    },

    /** The primary this region knows for a key, told to the regions of that key only: asked by a replica that hears from a new primary. */
    async 'primary-region'(from, { keyId }: { keyId: string }): Promise<{ primaryRegion?: string }> {
      const key = await keys.get(keyId);
      const config = key && multiRegionConfig(key);
      if (!config || !(config.primaryRegion === from || config.replicaRegions.includes(from))) return {};
      return { primaryRegion: config.primaryRegion };
    },

    /** Whether this primary lists the asking region as a replica, answered after any ReplicateKey in flight. */
    async 'replica-status'(from, { keyId }: { keyId: string }) {
      return locks.run(keyId, async () => {
        const key = await keys.get(keyId);
        const config = key && multiRegionConfig(key);
        return { listed: config?.replicaRegions.includes(from) === true };
      });
    },

    /** The primary binds the material a replica imports, or refuses it (bindForReplica); only KeyMaterialIds travel. */
    async 'bind-imported-material'(from, { keyId, materialId, version }: BindImportedMaterialRequest): Promise<{ version: number }> {
      const bound = await locks.run(keyId, () =>
        deps.events.transaction(async (tx, publish) => {
          const key = await keys.getForUpdate(tx, keyId);
          const config = key && multiRegionConfig(key);
          if (config?.primaryRegion === ctx.region && !config.replicaRegions.includes(from)) {
            throw new PeerRefusal(keyId, `${from} holds no replica of ${keyId}.`);
          }
          if (!key || !config || config.primaryRegion !== ctx.region) {
            throw new KmsError(
              'KMSInvalidStateException',
              `${ctx.region} does not hold the primary key of ${keyId} for a replica in ${from}; try again when the replica has learnt its primary.`,
            );
          }
          let bound = 0;
          await changeKey(
            tx,
            key,
            (key) => {
              bound = bindForReplica(key, materialId, version);
            },
            { publish },
          );
          return bound;
        }),
      );
      outbox.kick();
      return { version: bound };
    },

    /** The primary forgets a replica that was really deleted; the last one ends PendingReplicaDeletion. */
    async 'replica-deleted'(from, { keyId }: { keyId: string }) {
      const result = await deps.events.transaction(async (tx, publish) => {
        const key = await keys.getForUpdate(tx, keyId);
        const config = key && multiRegionConfig(key);
        if (!key || !config) return {};
        if (config.primaryRegion !== ctx.region) return { primaryRegion: config.primaryRegion };
        if (!config.replicaRegions.includes(from)) return {};
        const replicaRegions = config.replicaRegions.filter((region) => region !== from);
        await changeKey(
          tx,
          key,
          (key) => {
            key.multiRegionConfig = { ...config, version: config.version + 1, replicaRegions };
            if (key.state === 'PendingReplicaDeletion' && replicaRegions.length === 0) {
              key.state = 'PendingDeletion';
              key.deletionDate = ctx.now() + key.pendingWindowDays! * DAY_MS;
            }
          },
          { publish },
        );
        for (const target of replicaRegions) await enqueueReplication(tx, { kind: 'sync', keyId, target });
        return {};
      }, REPLICATION);
      outbox.kick();
      return result;
    },
  };
}
