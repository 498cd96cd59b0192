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
  type Caller,
  type KeyRecord,
  type KeyState,
  type MultiRegionConfig,
  type MultiRegionOperationName,
  type NoOutput,
  type Operations,
  type ReplicateKeyResponse,
} from '../kms/index.ts';
import { enqueueReplication } from './replication-messages.ts';
import { dependencyTimeout } from './peer-client.ts';
import { REPLICATION, type ReplicationContext } from './replication-context.ts';
import type { PreparedReplica, PrepareReplicaRequest, ReplicaState, ReplicaStateRequest } from './replication-receiver.ts';

const KEY_ARN = /^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/.+$/;

/** ReplicateKey and UpdatePrimaryRegion, run in the primary's region. */
export function multiRegionOperations(rc: ReplicationContext): Operations<MultiRegionOperationName> {
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
   * The replica decides in its own region whether the caller may make it the primary: its key
   * policy and grants, and the caller's identity policies there. AWS swaps only with an Enabled
   * replica. A region that cannot be asked cannot decide, so nothing changes.
   */
  const requireReplicaConsent = async (keyId: string, region: string, caller: Caller): Promise<void> => {
    const replica = await client
      .call<ReplicaState>(region, 'replica-state', { keyId, caller } satisfies ReplicaStateRequest)
      .catch(dependencyTimeout('the primary Region was not changed. Try again when the region is reachable.'));
    if (!replica.arn || !replica.state) {
      throw new KmsError('KMSInvalidStateException', `The replica of ${keyArn(ctx, keyId)} in ${region} does not name ${ctx.region} as its primary Region.`);
    }
    requireState(replica.arn, replica.state, ['Enabled']);
  };

  const unavailable = dependencyTimeout('no replica was created. Try again when the region is reachable.');

  return {
    async ReplicateKey(input, caller): Promise<ReplicateKeyResponse> {
      const replicaRegion: string = input.ReplicaRegion;
      const keyId = await resolvePrimary(input.KeyId);
      return locks.run(keyId, async () => {
        const key = await keys.load(keyId);
        await authorize(caller, 'ReplicateKey', key, { conditions: { 'kms:ReplicaRegion': replicaRegion } });
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
        await deps.events.transaction(async (tx, publish) => {
          const current = (await keys.getForUpdate(tx, keyId))!;
          const latest = multiRegionConfig(current)!;
          await changeKey(
            tx,
            current,
            (key) => {
              key.multiRegionConfig = {
                ...latest,
                version: Math.max(next.version, latest.version + 1),
                replicaRegions: [...latest.replicaRegions, replicaRegion],
              };
            },
            { publish },
          );
          for (const target of [...latest.replicaRegions, replicaRegion]) await enqueueReplication(tx, { kind: 'sync', keyId, target });
        }, REPLICATION);
        outbox.kick();
        return { ReplicaKeyMetadata: replica.metadata, ReplicaPolicy: replica.policy, ReplicaTags: replica.tags };
      });
    },

    async UpdatePrimaryRegion(input, caller): Promise<NoOutput> {
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
        await authorize(caller, 'UpdatePrimaryRegion', key, { conditions: { 'kms:PrimaryRegion': target } });
        requireSwappable(key);
        await requireReplicaConsent(keyId, target, caller);
        await deps.events.transaction(async (tx, publish) => {
          const current = (await keys.getForUpdate(tx, keyId)) ?? (await keys.load(keyId, tx));
          const config = requireSwappable(current);
          // Phase one: this region stops being primary before the new one starts, so there is never more than one.
          await changeKey(
            tx,
            current,
            (key) => {
              key.multiRegionConfig = {
                version: config.version + 1,
                primaryRegion: target,
                replicaRegions: [...config.replicaRegions.filter((region) => region !== target), ctx.region],
                updatingWith: target,
              };
            },
            { publish },
          );
          await enqueueReplication(tx, { kind: 'sync', keyId, target });
        }, REPLICATION);
      });
      outbox.kick();
      return {};
    },
  };
}
