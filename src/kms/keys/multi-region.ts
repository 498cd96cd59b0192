import { KmsError } from '../../errors/index.ts';
import { keyArn } from '../region-context.ts';
import type { KeyRecord, MaterialRecord, MultiRegionConfig } from './key-record.ts';

/** Properties the primary owns and every replica copies; everything else is each region's own. */
export const SHARED_PROPERTIES = ['keySpec', 'keyUsage', 'origin', 'autoRotation', 'boundMaterialIds'] as const;

/** The configuration of a multi-Region key; a key that was never replicated is its own primary. */
export function multiRegionConfig(key: KeyRecord): MultiRegionConfig | undefined {
  if (!key.multiRegion) return undefined;
  return key.multiRegionConfig ?? { version: 0, primaryRegion: key.region, replicaRegions: [] };
}

export const isPrimaryKey = (key: KeyRecord): boolean => multiRegionConfig(key)?.primaryRegion === key.region;

export const isReplicaKey = (key: KeyRecord): boolean => key.multiRegion && !isPrimaryKey(key);

/** A primary cannot be deleted before its replicas: it waits in PendingReplicaDeletion. */
export const hasReplicas = (key: KeyRecord): boolean => isPrimaryKey(key) && multiRegionConfig(key)!.replicaRegions.length > 0;

/** Material is shared only when the primary generated it; imported material is imported into each region, bound by the primary. */
export const sharesMaterial = (key: KeyRecord): boolean => key.origin === 'AWS_KMS';

/** Refuses, as AWS does, an operation that only a multi-Region primary key may perform. */
export function refuseOnReplica(key: KeyRecord, action: string): void {
  if (isReplicaKey(key)) {
    throw new KmsError(
      'UnsupportedOperationException',
      `${keyArn(key, key.keyId)} is a multi-Region replica key. ${action} is supported only on the primary key, in ${multiRegionConfig(key)!.primaryRegion}.`,
    );
  }
}

/** The shared properties of a key in a comparable form: wrapping under a region's master key is left out. */
export function sharedView(key: KeyRecord): Record<string, unknown> {
  const view: Record<string, unknown> = Object.fromEntries(SHARED_PROPERTIES.map((name) => [name, key[name]]));
  if (sharesMaterial(key)) {
    view.currentMaterial = key.currentMaterial;
    view.materials = key.materials.map(({ wrapped: _wrapped, ...rest }: MaterialRecord) => rest);
  }
  return view;
}

/** MultiRegion and MultiRegionConfiguration as KeyMetadata shows them. */
export function multiRegionMetadata(key: KeyRecord): Record<string, unknown> {
  const config = multiRegionConfig(key);
  if (!config) return { MultiRegion: false };
  const at = (region: string) => ({ Arn: keyArn({ region, account: key.account }, key.keyId), Region: region });
  return {
    MultiRegion: true,
    MultiRegionConfiguration: {
      MultiRegionKeyType: config.primaryRegion === key.region ? 'PRIMARY' : 'REPLICA',
      PrimaryKey: at(config.primaryRegion),
      ReplicaKeys: config.replicaRegions.map(at),
    },
  };
}
