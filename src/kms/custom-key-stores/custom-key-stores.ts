import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { KmsError } from '../../errors/index.ts';
import type { Reader, Transaction } from '../../store/index.ts';
import { keyPath, type KeyRecord } from '../keys/index.ts';
import type {
  ConnectCustomKeyStoreResponse,
  ConnectionErrorCodeType,
  ConnectionStateType,
  CreateCustomKeyStoreResponse,
  CustomKeyStoresListEntry,
  DeleteCustomKeyStoreResponse,
  DescribeCustomKeyStoresResponse,
  DisconnectCustomKeyStoreResponse,
  UpdateCustomKeyStoreResponse,
} from '../kms-api.ts';
import { toEpochSeconds, type CustomKeyStoreKeys, type OperationDeps, type Operations } from '../operation.ts';
import { markerKey, pageOf } from '../paging.ts';
import { keyArn, type Caller, type RegionContext } from '../region-context.ts';
import type { CloudHsmClusters, KeyStoreCluster } from './cloud-hsm-clusters.ts';

export type CustomKeyStoreOperationName =
  'CreateCustomKeyStore' | 'ConnectCustomKeyStore' | 'DisconnectCustomKeyStore' | 'DescribeCustomKeyStores' | 'UpdateCustomKeyStore' | 'DeleteCustomKeyStore';

/** The crypto user AWS KMS logs in as; the key store's owner creates it on the cluster. */
export const KMS_USER = 'kmsuser';
/** AWS's quota of CloudHSM key stores in an account and region. */
const MAX_KEY_STORES = 10;
const DEFAULT_LIMIT = 1000;

interface CustomKeyStoreRecord {
  id: string;
  name: string;
  clusterId: string;
  trustAnchor: string;
  /** The kmsuser password, wrapped under the region master key and bound to the store. */
  password: string;
  createdAt: number;
  state: ConnectionStateType;
  errorCode?: ConnectionErrorCodeType;
}

const PATHS = {
  store: (id: string): string => `custom-key-store/${id}`,
  stores: 'custom-key-store/',
  /** Names are unique in the account and region; the index is keyed by a digest, as a name may hold any character. */
  name: (name: string): string => `custom-key-store-name/${createHash('sha256').update(name).digest('hex')}`,
} as const;

const passwordAad = (id: string): Buffer => Buffer.from(`concord custom key store password|${id}`);

const notFound = (id: string): KmsError => new KmsError('CustomKeyStoreNotFoundException', `Custom key store ${id} does not exist.`);
const invalidState = (store: CustomKeyStoreRecord, wanted: string): KmsError =>
  new KmsError('CustomKeyStoreInvalidStateException', `Custom key store ${store.id} is ${store.state}; ${wanted}.`);

/** Two PEM certificates are the same certificate when their DER is; anything that does not parse matches nothing. */
function sameCertificate(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  try {
    return new X509Certificate(a).raw.equals(new X509Certificate(b).raw);
  } catch {
    return false;
  }
}

/** AWS asks for two active HSMs in different availability zones before KMS keys are made in a cluster. */
const hasTwoZones = (cluster: KeyStoreCluster): boolean => new Set(cluster.hsmZones).size >= 2;

/**
 * AWS KMS custom key stores of the CloudHSM kind: a KMS key's material is a key on the HSMs of
 * a cluster, owned by the crypto user `kmsuser` and labelled with the KMS key's ID. KMS holds
 * that user's password (wrapped) and logs in when the store connects; while it is disconnected,
 * its keys cannot be used.
 */
export class CustomKeyStores implements CustomKeyStoreKeys {
  /** Material read from the HSMs, by cluster and KMS key: it never changes for a label. */
  private readonly materialCache = new Map<string, Buffer>();

  constructor(
    private readonly ctx: RegionContext,
    private readonly clusters: CloudHsmClusters,
  ) {}

  operations(
    deps: OperationDeps,
    authorizeCloudHsm: (caller: Caller, action: string, resource: string) => Promise<void>,
  ): Operations<CustomKeyStoreOperationName> {
    const { ctx } = this;
    /** AWS asks for cloudhsm:DescribeClusters too where the caller names a cluster. */
    const authorizeCluster = (caller: Caller): Promise<void> => authorizeCloudHsm(caller, 'DescribeClusters', '*');
    return {
      CreateCustomKeyStore: async (input, caller): Promise<CreateCustomKeyStoreResponse> => {
        await deps.authorizeIdentity(caller, 'CreateCustomKeyStore');
        if ((input.CustomKeyStoreType ?? 'AWS_CLOUDHSM') !== 'AWS_CLOUDHSM') {
          throw new KmsError('UnsupportedOperationException', 'Concord supports custom key stores of the type AWS_CLOUDHSM only.');
        }
        const { CloudHsmClusterId: clusterId, TrustAnchorCertificate: anchor, KeyStorePassword: password } = input;
        if (clusterId === undefined || anchor === undefined || password === undefined) {
          throw new KmsError('ValidationException', 'A CloudHSM key store needs CloudHsmClusterId, TrustAnchorCertificate and KeyStorePassword.');
        }
        await authorizeCluster(caller);
        const cluster = await this.activeCluster(clusterId);
        if (!sameCertificate(anchor, cluster.trustAnchor)) {
          throw new KmsError('IncorrectTrustAnchorException', `The trust anchor certificate is not the one that initialized cluster ${clusterId}.`);
        }
        const id = `cks-${randomBytes(9).toString('hex').slice(0, 17)}`;
        const record: CustomKeyStoreRecord = {
          id,
          name: input.CustomKeyStoreName,
          clusterId,
          trustAnchor: anchor,
          password: (await ctx.unit.wrap(Buffer.from(password, 'utf8'), passwordAad(id))).toString('base64'),
          createdAt: ctx.now(),
          state: 'DISCONNECTED',
        };
        await ctx.store.transaction(async (tx) => {
          const stores = await this.all(tx);
          if (stores.length >= MAX_KEY_STORES)
            throw new KmsError('LimitExceededException', `An account has at most ${MAX_KEY_STORES} CloudHSM key stores in a region.`);
          await this.refuseUsedName(tx, record.name);
          for (const other of stores) {
            const used = other.clusterId === clusterId || (await this.clusters.cluster(other.clusterId))?.lineageId === cluster.lineageId;
            if (used)
              throw new KmsError('CloudHsmClusterInUseException', `Cluster ${clusterId}, or one of its backup history, is in custom key store ${other.id}.`);
          }
          await tx.create(PATHS.store(id), JSON.stringify(record));
          await tx.create(PATHS.name(record.name), id);
        });
        return { CustomKeyStoreId: id };
      },

      ConnectCustomKeyStore: async (input, caller): Promise<ConnectCustomKeyStoreResponse> => {
        await deps.authorizeIdentity(caller, 'ConnectCustomKeyStore');
        const store = await this.find(ctx.store, input.CustomKeyStoreId);
        if (store.state === 'DISCONNECTING' || store.state === 'FAILED') throw invalidState(store, 'disconnect it before connecting it again');
        if (store.state === 'CONNECTED' || store.state === 'CONNECTING') return {};
        const cluster = await this.clusters.cluster(store.clusterId);
        if (cluster && cluster.state !== 'ACTIVE') {
          throw new KmsError('CloudHsmClusterNotActiveException', `Cluster ${store.clusterId} is ${cluster.state}; a key store connects to an ACTIVE cluster.`);
        }
        const errorCode: ConnectionErrorCodeType | undefined = !cluster
          ? 'CLUSTER_NOT_FOUND'
          : cluster.hsmZones.length === 0
            ? 'INSUFFICIENT_CLOUDHSM_HSMS'
            : await this.login(store, cluster);
        await this.change(store.id, (current) => {
          current.state = errorCode === undefined ? 'CONNECTED' : 'FAILED';
          if (errorCode === undefined) delete current.errorCode;
          else current.errorCode = errorCode;
        });
        return {};
      },

      DisconnectCustomKeyStore: async (input, caller): Promise<DisconnectCustomKeyStoreResponse> => {
        await deps.authorizeIdentity(caller, 'DisconnectCustomKeyStore');
        await this.change(input.CustomKeyStoreId, (store) => {
          if (store.state === 'DISCONNECTED' || store.state === 'DISCONNECTING')
            throw invalidState(store, 'only a connected or failed key store is disconnected');
          store.state = 'DISCONNECTED';
          delete store.errorCode;
        });
        return {};
      },

      DescribeCustomKeyStores: async (input, caller): Promise<DescribeCustomKeyStoresResponse> => {
        await deps.authorizeIdentity(caller, 'DescribeCustomKeyStores');
        const { CustomKeyStoreId: id, CustomKeyStoreName: name } = input;
        if (id !== undefined || name !== undefined) {
          const store = id !== undefined ? await this.find(ctx.store, id) : await this.named(name!);
          if (name !== undefined && store.name !== name) throw notFound(id!);
          return { CustomKeyStores: [entry(store)], Truncated: false };
        }
        const limit = input.Limit ?? DEFAULT_LIMIT;
        const stores = (await ctx.store.list(PATHS.stores, { after: markerKey(input.Marker, PATHS.stores), limit: limit + 1 })).map(
          (e) => JSON.parse(e.value) as CustomKeyStoreRecord,
        );
        const { page, ...more } = pageOf(stores, limit, (store) => store.id);
        return { CustomKeyStores: page.map(entry), ...more };
      },

      UpdateCustomKeyStore: async (input, caller): Promise<UpdateCustomKeyStoreResponse> => {
        await deps.authorizeIdentity(caller, 'UpdateCustomKeyStore');
        const { CloudHsmClusterId: clusterId, KeyStorePassword: password, NewCustomKeyStoreName: newName } = input;
        const known = await this.find(ctx.store, input.CustomKeyStoreId);
        if (known.state !== 'DISCONNECTED') throw invalidState(known, 'a key store is updated only while it is DISCONNECTED');
        if (clusterId !== undefined && clusterId !== known.clusterId) {
          await authorizeCluster(caller);
          const cluster = await this.activeCluster(clusterId);
          const current = await this.clusters.cluster(known.clusterId);
          if (current?.lineageId !== cluster.lineageId) {
            throw new KmsError(
              'CloudHsmClusterNotRelatedException',
              `Cluster ${clusterId} does not share a backup history with cluster ${known.clusterId} of custom key store ${known.id}.`,
            );
          }
        }
        const wrapped = password === undefined ? undefined : (await ctx.unit.wrap(Buffer.from(password, 'utf8'), passwordAad(known.id))).toString('base64');
        await ctx.store.transaction(async (tx) => {
          const store = await this.forUpdate(tx, known.id);
          if (store.state !== 'DISCONNECTED') throw invalidState(store, 'a key store is updated only while it is DISCONNECTED');
          if (newName !== undefined && newName !== store.name) {
            await this.refuseUsedName(tx, newName);
            tx.delete(PATHS.name(store.name));
            await tx.create(PATHS.name(newName), store.id);
            store.name = newName;
          }
          if (clusterId !== undefined) store.clusterId = clusterId;
          if (wrapped !== undefined) store.password = wrapped;
          tx.put(PATHS.store(store.id), JSON.stringify(store));
        });
        return {};
      },

      DeleteCustomKeyStore: async (input, caller): Promise<DeleteCustomKeyStoreResponse> => {
        await deps.authorizeIdentity(caller, 'DeleteCustomKeyStore');
        await ctx.store.transaction(async (tx) => {
          const store = await this.forUpdate(tx, input.CustomKeyStoreId);
          if (store.state !== 'DISCONNECTED') throw invalidState(store, 'a key store is deleted only while it is DISCONNECTED');
          const keys = (await tx.list(keyPath(''))).map((e) => JSON.parse(e.value) as KeyRecord);
          if (keys.some((key) => key.customKeyStore?.id === store.id)) {
            throw new KmsError(
              'CustomKeyStoreHasCMKsException',
              `Custom key store ${store.id} holds KMS keys; delete them (and wait for their deletion) first.`,
            );
          }
          tx.delete(PATHS.store(store.id));
          tx.delete(PATHS.name(store.name));
        });
        return {};
      },
    };
  }

  /**
   * CreateKey's part: an AES-256 key made on the store's cluster by kmsuser, labelled with the
   * KMS key ID. The store must be connected and its cluster have HSMs in two zones.
   */
  async createKey(customKeyStoreId: string, keyId: string): Promise<NonNullable<KeyRecord['customKeyStore']>> {
    const store = await this.find(this.ctx.store, customKeyStoreId);
    if (store.state !== 'CONNECTED') throw invalidState(store, 'KMS keys are created only in a CONNECTED key store');
    const cluster = await this.clusters.cluster(store.clusterId);
    if (!cluster || !hasTwoZones(cluster)) {
      throw new KmsError(
        'CloudHsmClusterInvalidConfigurationException',
        `Cluster ${store.clusterId} of custom key store ${store.id} needs at least two active HSMs in different availability zones.`,
      );
    }
    const password = await this.password(store);
    const handle = await this.clusters.generateKey(store.clusterId, KMS_USER, password, keyId).catch((error: unknown) => {
      throw new KmsError(
        'CustomKeyStoreInvalidStateException',
        `Custom key store ${store.id} could not create a key on its cluster: ${(error as Error).message}`,
      );
    });
    return { id: store.id, clusterId: store.clusterId, handle };
  }

  /** The material of a KMS key in a custom key store; refused, as AWS does, while its store is not connected. */
  async material(key: KeyRecord): Promise<Buffer | undefined> {
    const arn = keyArn(this.ctx, key.keyId);
    const stored = await this.ctx.store.get(PATHS.store(key.customKeyStore!.id));
    const store = stored === undefined ? undefined : (JSON.parse(stored) as CustomKeyStoreRecord);
    if (store?.state !== 'CONNECTED') {
      throw new KmsError('KMSInvalidStateException', `${arn} is unavailable because its custom key store ${key.customKeyStore!.id} is not connected.`);
    }
    const cacheKey = `${store.clusterId}|${key.keyId}`;
    const cached = this.materialCache.get(cacheKey);
    if (cached) return cached;
    const material = await this.clusters.keyMaterial(store.clusterId, KMS_USER, key.keyId);
    if (!material) throw new KmsError('KMSInvalidStateException', `${arn} has no key material on cluster ${store.clusterId} of its custom key store.`);
    this.materialCache.set(cacheKey, material);
    return material;
  }

  /** A key in a store that is not connected shows the key state Unavailable. */
  async connected(customKeyStoreId: string): Promise<boolean> {
    const stored = await this.ctx.store.get(PATHS.store(customKeyStoreId));
    return stored !== undefined && (JSON.parse(stored) as CustomKeyStoreRecord).state === 'CONNECTED';
  }

  private async activeCluster(clusterId: string): Promise<KeyStoreCluster> {
    const cluster = await this.clusters.cluster(clusterId);
    if (!cluster) throw new KmsError('CloudHsmClusterNotFoundException', `Cluster ${clusterId} does not exist in ${this.ctx.region}.`);
    if (cluster.state !== 'ACTIVE') throw new KmsError('CloudHsmClusterNotActiveException', `Cluster ${clusterId} is ${cluster.state}, not ACTIVE.`);
    return cluster;
  }

  private async login(store: CustomKeyStoreRecord, cluster: KeyStoreCluster): Promise<ConnectionErrorCodeType | undefined> {
    if (cluster.trustAnchor !== undefined && !sameCertificate(store.trustAnchor, cluster.trustAnchor)) return 'INTERNAL_ERROR';
    const outcome = await this.clusters.login(store.clusterId, KMS_USER, await this.password(store));
    return outcome === 'OK' ? undefined : outcome;
  }

  private async password(store: CustomKeyStoreRecord): Promise<string> {
    return (await this.ctx.unit.unwrap(Buffer.from(store.password, 'base64'), passwordAad(store.id))).toString('utf8');
  }

  private async all(reader: Reader): Promise<CustomKeyStoreRecord[]> {
    return (await reader.list(PATHS.stores)).map((e) => JSON.parse(e.value) as CustomKeyStoreRecord);
  }

  private async refuseUsedName(reader: Reader, name: string): Promise<void> {
    if ((await reader.get(PATHS.name(name))) !== undefined) {
      throw new KmsError('CustomKeyStoreNameInUseException', `A custom key store is already named ${name}.`);
    }
  }

  private async named(name: string): Promise<CustomKeyStoreRecord> {
    const id = await this.ctx.store.get(PATHS.name(name));
    if (id === undefined) throw new KmsError('CustomKeyStoreNotFoundException', `No custom key store is named ${name}.`);
    return this.find(this.ctx.store, id);
  }

  private async find(reader: Reader, id: string): Promise<CustomKeyStoreRecord> {
    const stored = /^[\w-]+$/.test(id) ? await reader.get(PATHS.store(id)) : undefined;
    if (stored === undefined) throw notFound(id);
    return JSON.parse(stored) as CustomKeyStoreRecord;
  }

  private async forUpdate(tx: Transaction, id: string): Promise<CustomKeyStoreRecord> {
    const stored = /^[\w-]+$/.test(id) ? await tx.getForUpdate(PATHS.store(id)) : undefined;
    if (stored === undefined) throw notFound(id);
    return JSON.parse(stored) as CustomKeyStoreRecord;
  }

  private async change(id: string, change: (store: CustomKeyStoreRecord) => void): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const store = await this.forUpdate(tx, id);
      change(store);
      tx.put(PATHS.store(store.id), JSON.stringify(store));
    });
  }
}

function entry(store: CustomKeyStoreRecord): CustomKeyStoresListEntry {
  return {
    CustomKeyStoreId: store.id,
    CustomKeyStoreName: store.name,
    CustomKeyStoreType: 'AWS_CLOUDHSM',
    CloudHsmClusterId: store.clusterId,
    TrustAnchorCertificate: store.trustAnchor,
    ConnectionState: store.state,
    ...(store.errorCode !== undefined ? { ConnectionErrorCode: store.errorCode } : {}),
    CreationDate: toEpochSeconds(store.createdAt),
  };
}
