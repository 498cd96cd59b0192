import { KmsError } from '../errors/index.ts';
import {
  changeKey,
  checkPolicyDocument,
  checkTags,
  invalidState,
  isPrimaryKey,
  keyArn,
  multiRegionConfig,
  requireState,
  type KeyRecord,
  type KeyState,
  type MultiRegionConfig,
  type Operations,
} from '../kms/index.ts';
import { enqueue } from './outbox.ts';
import { dependencyTimeout, PeerUnavailableError } from './peer-client.ts';
import type { ReplicationContext } from './replication-context.ts';
import type { PreparedReplica, PrepareReplicaRequest, ReplicaState } from './replication-receiver.ts';

const KEY_ARN = /^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/.+$/;

/** ReplicateKey and UpdatePrimaryRegion, run in the primary's region. */
export function multiRegionOperations(rc: ReplicationContext): Operations {
  const { deps, auth, client, snapshots, outbox, locks } = rc;
  const { ctx, keys, authorize } = deps;

  const resolvePrimary = async (identifier: string): Promise<string> => {
    if (identifier.startsWith('arn:') && !KEY_ARN.test(identifier)) throw new KmsError('InvalidArnException', `${identifier} is not a valid key ARN.`);
    return keys.resolveKeyId(identifier, { allowAlias: false });
  };

  /** The checks AWS makes on the key a region change starts from. */
  const requirePrimary = (key: KeyRecord, allowedStates: readonly KeyState[]): void => {
    const arn = keyArn(ctx, key.keyId);
    if (!key.multiRegion) throw new KmsError('UnsupportedOperationException', `${arn} is not a multi-Region key.`);
    if (!isPrimaryKey(key)) throw new KmsError('UnsupportedOperationException', `${arn} is not a multi-Region primary key.`);
    if (multiRegionConfig(key)!.updatingWith) throw invalidState(arn, 'Updating');
    requireState(arn, key.state, allowedStates);
  };

  const requirePeer = (region: string): void => {
    if (region === ctx.region) throw new KmsError('ValidationException', `${region} is this key's own region.`);
    if (!auth.peer(region)) throw new KmsError('ValidationException', `Region ${region} is not a peer region of ${ctx.region}.`);
  };

  /**
   * AWS swaps only with an Enabled replica. A replica region that cannot be asked now is not
   * waited for: the swap is durable in the outbox and completes when that region returns.
   */
  const requireEnabledReplica = async (keyId: string, region: string): Promise<void> => {
    const replica = await client.call<ReplicaState>(region, 'replica-state', { keyId }).catch((error: unknown): ReplicaState => {
      if (error instanceof PeerUnavailableError) return {};
      throw error;
    });
    if (replica.arn && replica.state) requireState(replica.arn, replica.state, ['Enabled']);
  };

  const unavailable = dependencyTimeout('no replica was created. Try again when the region is reachable.');

  return {
    async ReplicateKey(input, caller) {
      const replicaRegion: string = input.ReplicaRegion;
      const keyId = await resolvePrimary(input.KeyId);
      return locks.run(keyId, async () => {
        const key = await keys.load(keyId);
        await authorize(caller, 'ReplicateKey', key);
        requirePrimary(key, ['Enabled', 'PendingImport']);
        requirePeer(replicaRegion);
        const config = multiRegionConfig(key)!;
        if (config.replicaRegions.includes(replicaRegion)) {
          throw new KmsError('AlreadyExistsException', `${keyArn(ctx, keyId)} already has a replica in ${replicaRegion}.`);
        }
        if (input.Policy !== undefined) checkPolicyDocument(input.Policy);
        const tags = input.Tags ?? [];
        checkTags(tags);

        const next = { version: config.version + 1, primaryRegion: ctx.region, replicaRegions: [...config.replicaRegions, replicaRegion] };
        const request: PrepareReplicaRequest = {
          snapshot: await snapshots.build(key, replicaRegion, await client.transportKey(replicaRegion).catch(unavailable), next),
          description: input.Description ?? '',
          ...(input.Policy !== undefined ? { policy: input.Policy } : {}),
          bypassPolicyLockoutSafetyCheck: input.BypassPolicyLockoutSafetyCheck === true,
          tags,
          caller,
        };
        const replica = await client.call<PreparedReplica>(replicaRegion, 'prepare-replica', request).catch(unavailable);

        // The replica exists (Creating); only now does the primary list it, and the sync that follows enables it.
        await ctx.store.transaction(async (tx) => {
          const current = (await keys.getForUpdate(tx, keyId))!;
          const latest = multiRegionConfig(current)!;
          await changeKey(tx, current, (key) => {
            key.multiRegionConfig = {
              ...latest,
              version: Math.max(next.version, latest.version + 1),
              replicaRegions: [...latest.replicaRegions, replicaRegion],
            };
          });
          for (const target of [...latest.replicaRegions, replicaRegion]) await enqueue(tx, { kind: 'sync', keyId, target });
        });
        outbox.kick();
        return { ReplicaKeyMetadata: replica.metadata, ReplicaPolicy: replica.policy, ReplicaTags: replica.tags };
      });
    },

    async UpdatePrimaryRegion(input, caller) {
      const target: string = input.PrimaryRegion;
      const keyId = await resolvePrimary(input.KeyId);
      const requireSwappable = (key: KeyRecord): MultiRegionConfig => {
        // AWS starts the swap only from an Enabled primary.
        requirePrimary(key, ['Enabled']);
        const config = multiRegionConfig(key)!;
        if (!config.replicaRegions.includes(target)) {
          throw new KmsError('NotFoundException', `${keyArn(ctx, keyId)} has no replica in ${target}.`);
        }
        return config;
      };
      await locks.run(keyId, async () => {
        const key = await keys.load(keyId);
        await authorize(caller, 'UpdatePrimaryRegion', key);
        requireSwappable(key);
        await requireEnabledReplica(keyId, target);
        await ctx.store.transaction(async (tx) => {
          const current = (await keys.getForUpdate(tx, keyId)) ?? (await keys.load(keyId, tx));
          const config = requireSwappable(current);
          // Phase one: this region stops being primary before the new one starts, so there is never more than one.
          await changeKey(tx, current, (key) => {
            key.multiRegionConfig = {
              version: config.version + 1,
              primaryRegion: target,
              replicaRegions: [...config.replicaRegions.filter((region) => region !== target), ctx.region],
              updatingWith: target,
            };
          });
          await enqueue(tx, { kind: 'sync', keyId, target });
        });
      });
      outbox.kick();
      return {};
    },
  };
}
