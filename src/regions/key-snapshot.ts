import {
  multiRegionConfig,
  SHARED_PROPERTIES,
  sharesMaterial,
  type KeyRecord,
  type MaterialInfo,
  type MultiRegionConfig,
  type OperationDeps,
} from '../kms/index.ts';
import { openFromPeer, sealForPeer, type MaterialBinding, type SealedMaterial } from './material-transport.ts';
import { PeerRefusal } from './peer-refusal.ts';
import type { RegionIdentity } from './region-identity.ts';

/** A multi-Region key's shared state as the primary sends it to one replica region. */
export interface KeySnapshot {
  keyId: string;
  account: string;
  config: MultiRegionConfig;
  shared: Record<string, unknown>;
  /** Absent when material is not shared (imported material is imported into each region). */
  material?: { current: number; versions: { info: MaterialInfo; sealed: SealedMaterial }[] };
  /** The sender's transport public key; the signed request vouches for it. */
  transportKey: string;
}

/** Builds snapshots for a peer (material sealed for that region only) and applies peers' snapshots. */
export class KeySnapshots {
  constructor(
    private readonly deps: OperationDeps,
    private readonly identity: RegionIdentity,
  ) {}

  private get region(): string {
    return this.deps.ctx.region;
  }

  async build(key: KeyRecord, to: string, peerTransportKey: string, config: MultiRegionConfig = multiRegionConfig(key)!): Promise<KeySnapshot> {
    const { keys } = this.deps;
    const { updatingWith: _updatingWith, ...shared } = config;
    return {
      keyId: key.keyId,
      account: key.account,
      config: shared,
      shared: Object.fromEntries(SHARED_PROPERTIES.filter((name) => key[name] !== undefined).map((name) => [name, key[name]])),
      ...(sharesMaterial(key)
        ? {
            material: {
              current: key.currentMaterial,
              versions: await Promise.all(
                key.materials.map(async ({ wrapped: _wrapped, ...info }) => {
                  const material = await keys.material(key, info.version);
                  if (!material) throw new Error(`material version ${info.version} of ${key.keyId} is missing`);
                  return {
                    info,
                    sealed: sealForPeer(this.identity, peerTransportKey, { keyId: key.keyId, version: info.version, from: this.region, to }, material),
                  };
                }),
              ),
            },
          }
        : {}),
      transportKey: this.identity.transportPublicKey,
    };
  }

  /** Copies the snapshot's shared properties and any material versions this region lacks into `key`. */
  async applyShared(key: KeyRecord, snapshot: KeySnapshot, from: string): Promise<void> {
    const target = key as unknown as Record<string, unknown>;
    for (const name of SHARED_PROPERTIES) {
      if (Object.hasOwn(snapshot.shared, name)) target[name] = snapshot.shared[name];
      else Reflect.deleteProperty(target, name);
    }
    if (!snapshot.material) return;
    for (const { info, sealed } of snapshot.material.versions) {
      if (key.materials.some((m) => m.version === info.version)) continue;
      const material = openMaterial(this.identity, snapshot.transportKey, { keyId: key.keyId, version: info.version, from, to: this.region }, sealed);
      if (!material) throw new PeerRefusal(key.keyId, `Material version ${info.version} of ${key.keyId} from ${from} does not open in ${this.region}.`);
      const { wrapped } = await this.deps.keys.wrapMaterial(key.keyId, info.version, material);
      key.materials.push({ ...info, wrapped });
    }
    key.materials.sort((a, b) => a.version - b.version);
    key.currentMaterial = snapshot.material.current;
  }
}

/** The material, or undefined when it does not open: a transport key that is no P-256 point or a malformed seal fails like a forged one. */
function openMaterial(identity: RegionIdentity, transportKey: string, binding: MaterialBinding, sealed: SealedMaterial): Buffer | undefined {
  try {
    return openFromPeer(identity, transportKey, binding, sealed);
  } catch {
    return undefined;
  }
}
