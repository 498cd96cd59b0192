import { createHash } from 'node:crypto';
import { aesGcmDecrypt, aesGcmEncrypt } from '../crypto/index.ts';
import type { CryptoUnit } from '../cryptounits/index.ts';
import type { Reader, Store, Transaction } from '../store/index.ts';
import { createClusterCsr, verifyClusterCertificate } from './cluster-csr.ts';
import {
  backupView,
  clusterView,
  HSM_PATHS,
  hsmView,
  type BackupRecord,
  type ClusterMode,
  type ClusterRecord,
  type HsmRecord,
  type Tag,
} from './cluster-records.ts';
import { initialContents, type HsmContents, type HsmUser, type HsmUserType } from './hsm-contents.ts';
import { exportKey, importKey, type PortableKey } from './hsm-keys.ts';
import { HsmUserError, login, resumeSession, type HsmSessionUser } from './hsm-users.ts';
import { CloudHsmError, invalidRequest, notFound } from './hsm-error.ts';
import { isResourceId, newHexId, newResourceId } from './hsm-ids.ts';
import { LineageKeys, openContents, sealContents } from './lineage-keys.ts';
import { pageOf } from './paging.ts';
import type { HsmVault } from './hsm-vault.ts';

export const CLOUDHSM_OPERATIONS = [
  'CopyBackupToRegion',
  'CreateCluster',
  'CreateHsm',
  'DeleteBackup',
  'DeleteCluster',
  'DeleteHsm',
  'DeleteResourcePolicy',
  'DescribeBackups',
  'DescribeClusters',
  'GetResourcePolicy',
  'InitializeCluster',
  'ListTags',
  'ModifyBackupAttributes',
  'ModifyCluster',
  'PutResourcePolicy',
  'RestoreBackup',
  'TagResource',
  'UntagResource',
] as const;
export type CloudHsmOperation = (typeof CLOUDHSM_OPERATIONS)[number];

/** Decides whether the caller may perform `cloudhsm:<action>` on `resource`; refuses with a rejected promise. */
export type Authorize = (action: CloudHsmOperation, resource: string) => Promise<void>;

/** A backup on its way to another region, lineage key in the clear: the copier seals it for the receiver. */
export interface BackupTransfer {
  sourceRegion: string;
  sourceBackup: string;
  sourceCluster: string;
  createdAt: number;
  hsmType: string;
  mode: ClusterMode;
  lineageId: string;
  lineageKey: Buffer;
  clusterCertificate?: string;
  trustAnchor?: string;
  tags: Tag[];
  /** The backup's contents, sealed under the lineage key. */
  data: string;
}

/** Carries backups to other regions of the deployment (the peer link). */
export interface BackupCopier {
  /** The regions a backup may be copied to. */
  readonly regions: readonly string[];
  copy(destination: string, transfer: BackupTransfer): Promise<void>;
}

export interface CloudHsmOptions {
  region: string;
  account: string;
  store: Store;
  unit: CryptoUnit;
  now?: () => number;
  /** How often an initialized cluster with HSMs is backed up at least; AWS's is 24 hours. */
  backupIntervalMs?: number;
  copier?: BackupCopier;
  /** The crypto-unit backend the HSMs keep their contents in at rest; without one, contents are sealed under the lineage key only. */
  vault?: HsmVault;
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** A deleted backup stays restorable this long. */
const PENDING_DELETION_MS = 7 * DAY_MS;
const DEFAULT_RETENTION_DAYS = 90;
const MIN_RETENTION_DAYS = 7;
const MAX_RETENTION_DAYS = 379;
const MAX_TAGS = 50;
/** AWS's quota of HSMs in one cluster. */
const MAX_HSMS = 28;
const HSM_TYPES: Readonly<Record<string, readonly ClusterMode[]>> = { 'hsm1.medium': ['FIPS'], 'hsm2m.medium': ['FIPS', 'NON_FIPS'] };

/** An HSM user's login, as loginHSM takes it. */
export interface HsmCredentials {
  type: HsmUserType;
  name: string;
  password: string;
}

/** A key on its way from one cluster to another of its lineage: sealed under the lineage key. */
export interface SyncedKey {
  lineageId: string;
  sealed: string;
}

const syncedKeyAad = (lineageId: string): Buffer => Buffer.from(`concord hsm synced key v1|${lineageId}`);

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

/**
 * The CloudHSM v2 API over a region's store: clusters, their HSMs, backups and tags, with the
 * IDs, states and rules of AWS's model and documentation. Concord's HSMs need no provisioning
 * time, so a call that starts a transition answers with AWS's in-progress state
 * (CREATE_IN_PROGRESS, INITIALIZE_IN_PROGRESS, DELETE_IN_PROGRESS) and stores its end state,
 * which the next Describe shows; only a backup copied to another region is seen in progress.
 */
export class CloudHsmService {
  readonly region: string;
  private readonly account: string;
  private readonly store: Store;
  private readonly now: () => number;
  private readonly lineages: LineageKeys;
  private readonly backupIntervalMs: number;
  private readonly copier: BackupCopier | undefined;
  private readonly vault: HsmVault | undefined;
  private readonly vpcId: string;
  private readonly operations: Record<CloudHsmOperation, (input: Input, authorize: Authorize) => Promise<Output>>;

  constructor(options: CloudHsmOptions) {
    this.region = options.region;
    this.account = options.account;
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.lineages = new LineageKeys(options.unit);
    this.backupIntervalMs = options.backupIntervalMs ?? 24 * HOUR_MS;
    this.copier = options.copier;
    this.vault = options.vault;
    // One VPC per account and region: Concord has no networks, and the ID must stay the same.
    this.vpcId = `vpc-${createHash('sha256').update(`${this.account}/${this.region}`).digest('hex').slice(0, 17)}`;
    this.operations = {
      CopyBackupToRegion: (input, authorize) => this.copyBackupToRegion(input, authorize),
      CreateCluster: (input, authorize) => this.createCluster(input, authorize),
      CreateHsm: (input, authorize) => this.createHsm(input, authorize),
      DeleteBackup: (input, authorize) =>
        this.changeBackup(input, authorize, 'DeleteBackup', (backup, now) => {
          this.deleteBackup(backup, now);
        }),
      DeleteCluster: (input, authorize) => this.deleteCluster(input, authorize),
      DeleteHsm: (input, authorize) => this.deleteHsm(input, authorize),
      DeleteResourcePolicy: (input, authorize) => this.deleteResourcePolicy(input, authorize),
      DescribeBackups: (input, authorize) => this.describeBackups(input, authorize),
      DescribeClusters: (input, authorize) => this.describeClusters(input, authorize),
      GetResourcePolicy: (input, authorize) => this.getResourcePolicy(input, authorize),
      InitializeCluster: (input, authorize) => this.initializeCluster(input, authorize),
      ListTags: (input, authorize) => this.listTags(input, authorize),
      ModifyBackupAttributes: (input, authorize) =>
        this.changeBackup(input, authorize, 'ModifyBackupAttributes', (backup) => {
          if (backup.state === 'DELETED') throw invalidRequest(`Backup ${backup.backupId} is deleted.`);
          backup.neverExpires = input.NeverExpires as boolean;
        }),
      ModifyCluster: (input, authorize) => this.modifyCluster(input, authorize),
      PutResourcePolicy: (input, authorize) => this.putResourcePolicy(input, authorize),
      RestoreBackup: (input, authorize) =>
        this.changeBackup(input, authorize, 'RestoreBackup', (backup) => {
          if (backup.state !== 'PENDING_DELETION') throw invalidRequest(`Backup ${backup.backupId} is not pending deletion.`);
          backup.state = 'READY';
          delete backup.deletedAt;
        }),
      TagResource: (input, authorize) => this.tagResource(input, authorize),
      UntagResource: (input, authorize) => this.untagResource(input, authorize),
    };
  }

  performs(name: string): name is CloudHsmOperation {
    return Object.hasOwn(this.operations, name);
  }

  /** Performs an operation of the API on an input the surface checked against the model. */
  call(name: CloudHsmOperation, input: Input, authorize: Authorize): Promise<Output> {
    return this.operations[name](input, authorize);
  }

  /** A cluster's record, for the services built on clusters (KMS custom key stores); undefined when unknown or deleted. */
  async clusterRecord(clusterId: string): Promise<ClusterRecord | undefined> {
    const cluster = await this.cluster(this.store, clusterId).catch(() => undefined);
    return cluster?.state === 'DELETED' ? undefined : cluster;
  }

  clusterArn = (id: string): string => `arn:aws:cloudhsm:${this.region}:${this.account}:cluster/${id}`;
  backupArn = (id: string): string => `arn:aws:cloudhsm:${this.region}:${this.account}:backup/${id}`;

  // Clusters

  private async createCluster(input: Input, authorize: Authorize): Promise<Output> {
    await authorize('CreateCluster', '*');
    const hsmType = input.HsmType as string;
    const modes = HSM_TYPES[hsmType];
    if (!modes) throw invalidRequest(`HsmType ${hsmType} is not supported; supported types: ${Object.keys(HSM_TYPES).join(', ')}.`);
    const mode = (input.Mode as ClusterMode | undefined) ?? 'FIPS';
    if (!modes.includes(mode)) throw invalidRequest(`HsmType ${hsmType} does not support the mode ${mode}.`);
    const subnetIds = input.SubnetIds as string[];
    if (new Set(subnetIds).size !== subnetIds.length) throw invalidRequest('SubnetIds must not repeat a subnet.');
    for (const subnet of subnetIds) if (!/^subnet-[0-9a-fA-F]{8,17}$/.test(subnet)) throw invalidRequest(`Invalid subnet ID: ${subnet}.`);
    const retentionDays = retention(input.BackupRetentionPolicy);
    const tags = checkTags(input.TagList as Tag[] | undefined);
    const now = this.now();
    const clusterId = newResourceId('cluster');
    const source = input.SourceBackupId === undefined ? undefined : this.backupIdOf(input.SourceBackupId as string);
    const lineage = source === undefined ? await this.lineages.create() : undefined;
    const cluster = await this.store.transaction(async (tx) => {
      const record: ClusterRecord = {
        clusterId,
        state: 'UNINITIALIZED',
        hsmType,
        mode,
        networkType: (input.NetworkType as 'IPV4' | 'DUALSTACK' | undefined) ?? 'IPV4',
        // Concord has no networks: each subnet is taken to be in the next zone of the region.
        subnetMapping: Object.fromEntries(subnetIds.map((subnet, i) => [`${this.region}${String.fromCharCode(97 + i)}`, subnet])),
        vpcId: this.vpcId,
        securityGroup: newHexId('sg'),
        createdAt: now,
        retentionDays,
        hsms: [],
        tags,
        lineageId: lineage?.lineageId ?? '',
      };
      if (source !== undefined) {
        const backup = await this.backup(tx, source);
        if (backup.state !== 'READY') throw invalidRequest(`Backup ${source} is ${backup.state}; a cluster is created only from a READY backup.`);
        if (backup.mode !== mode) throw invalidRequest(`Backup ${source} is of a ${backup.mode} cluster; the new cluster must have the same mode.`);
        record.lineageId = backup.lineageId;
        record.sourceBackupId = source;
        if (backup.clusterCertificate !== undefined) record.clusterCertificate = backup.clusterCertificate;
        if (backup.trustAnchor !== undefined) record.trustAnchor = backup.trustAnchor;
      } else {
        tx.put(HSM_PATHS.lineage(lineage!.lineageId), lineage!.record);
      }
      await tx.create(HSM_PATHS.cluster(clusterId), JSON.stringify(record));
      return record;
    });
    return { Cluster: clusterView(cluster, 'CREATE_IN_PROGRESS') };
  }

  private async describeClusters(input: Input, authorize: Authorize): Promise<Output> {
    await authorize('DescribeClusters', '*');
    const filters = checkFilters(input.Filters, ['clusterIds', 'vpcIds', 'states']);
    const clusters = (await this.store.list(HSM_PATHS.clusters))
      .map((entry) => JSON.parse(entry.value) as ClusterRecord)
      .filter((c) => matches(filters.clusterIds, c.clusterId) && matches(filters.vpcIds, c.vpcId) && matches(filters.states, c.state))
      .sort((a, b) => a.createdAt - b.createdAt || compare(a.clusterId, b.clusterId));
    const page = pageOf(clusters, input.NextToken as string | undefined, (input.MaxResults as number | undefined) ?? 25);
    return { Clusters: page.items.map((c) => clusterView(c)), ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}) };
  }

  private async deleteCluster(input: Input, authorize: Authorize): Promise<Output> {
    const clusterId = input.ClusterId as string;
    await authorize('DeleteCluster', this.clusterArn(clusterId));
    const cluster = await this.changeCluster(clusterId, (cluster) => {
      if (cluster.hsms.length > 0) throw invalidRequest(`Cluster ${clusterId} has HSMs; delete them before the cluster.`);
      cluster.state = 'DELETED';
    });
    await this.store.transaction((tx) => {
      tx.delete(HSM_PATHS.contents(clusterId));
    });
    return { Cluster: clusterView(cluster, 'DELETE_IN_PROGRESS') };
  }

  private async modifyCluster(input: Input, authorize: Authorize): Promise<Output> {
    const clusterId = input.ClusterId as string;
    await authorize('ModifyCluster', this.clusterArn(clusterId));
    if (input.HsmType === undefined && input.BackupRetentionPolicy === undefined) {
      throw invalidRequest('ModifyCluster needs HsmType or BackupRetentionPolicy.');
    }
    const retentionDays = input.BackupRetentionPolicy === undefined ? undefined : retention(input.BackupRetentionPolicy);
    const cluster = await this.changeCluster(clusterId, (cluster) => {
      const hsmType = input.HsmType as string | undefined;
      if (hsmType !== undefined && hsmType !== cluster.hsmType) {
        if (!HSM_TYPES[hsmType]?.includes(cluster.mode)) throw invalidRequest(`Cluster ${clusterId} cannot change to HsmType ${hsmType}.`);
        cluster.hsmType = hsmType;
      }
      if (retentionDays !== undefined) cluster.retentionDays = retentionDays;
    });
    return { Cluster: clusterView(cluster) };
  }

  private async initializeCluster(input: Input, authorize: Authorize): Promise<Output> {
    const clusterId = input.ClusterId as string;
    await authorize('InitializeCluster', this.clusterArn(clusterId));
    const now = this.now();
    const key = await this.store.transaction(async (tx) => this.lineages.key(tx, (await this.cluster(tx, clusterId)).lineageId));
    const contents = initialContents();
    await this.store.transaction(async (tx) => {
      const cluster = await this.clusterForUpdate(tx, clusterId);
      if (cluster.sourceBackupId !== undefined) throw invalidRequest(`Cluster ${clusterId} was created from a backup and is not initialized again.`);
      if (cluster.state !== 'UNINITIALIZED') throw invalidRequest(`Cluster ${clusterId} is ${cluster.state}; only an UNINITIALIZED cluster is initialized.`);
      if (!cluster.csr) throw invalidRequest(`Cluster ${clusterId} has no CSR yet: create an HSM in it first.`);
      verifyClusterCertificate(input.SignedCert as string, input.TrustAnchor as string, cluster.csr.publicKey, now);
      cluster.clusterCertificate = input.SignedCert as string;
      cluster.trustAnchor = input.TrustAnchor as string;
      cluster.state = 'INITIALIZED';
      tx.put(HSM_PATHS.cluster(clusterId), JSON.stringify(cluster));
      tx.put(HSM_PATHS.contents(clusterId), this.atRest(clusterId, sealContents(key, cluster.lineageId, contents)));
    });
    return { State: 'INITIALIZE_IN_PROGRESS', StateMessage: 'Cluster is being initialized.' };
  }

  // HSMs

  private async createHsm(input: Input, authorize: Authorize): Promise<Output> {
    const clusterId = input.ClusterId as string;
    await authorize('CreateHsm', this.clusterArn(clusterId));
    const zone = input.AvailabilityZone as string;
    const known = await this.store.transaction((tx) => this.cluster(tx, clusterId));
    // The CSR's RSA key is made outside the transaction; it is used only if this HSM is the cluster's first.
    const csr =
      known.hsms.length === 0 && known.state === 'UNINITIALIZED' && known.sourceBackupId === undefined ? createClusterCsr(clusterId, 'hsm') : undefined;
    const key = await this.store.transaction((tx) => this.lineages.key(tx, known.lineageId));
    const now = this.now();
    const result = await this.store.transaction(async (tx) => {
      const cluster = await this.clusterForUpdate(tx, clusterId);
      if (!['UNINITIALIZED', 'INITIALIZED', 'ACTIVE', 'DEGRADED'].includes(cluster.state)) {
        throw invalidRequest(`Cluster ${clusterId} is ${cluster.state}; HSMs are added to a cluster that is not being created, changed or deleted.`);
      }
      const subnetId = cluster.subnetMapping[zone];
      if (subnetId === undefined) {
        throw invalidRequest(`The cluster has no subnet in ${zone}; its availability zones: ${Object.keys(cluster.subnetMapping).join(', ')}.`);
      }
      if (cluster.hsms.length >= MAX_HSMS) throw invalidRequest(`Cluster ${clusterId} already has ${MAX_HSMS} HSMs, the most a cluster may have.`);
      const eniIp = (input.IpAddress as string | undefined) ?? this.freeIp(cluster, zone);
      if (cluster.hsms.some((hsm) => hsm.eniIp === eniIp)) throw invalidRequest(`The IP address ${eniIp} is in use in cluster ${clusterId}.`);
      const hsm: HsmRecord = { hsmId: newResourceId('hsm'), availabilityZone: zone, subnetId, eniId: newHexId('eni'), eniIp, state: 'ACTIVE' };
      const wasActive = cluster.state === 'ACTIVE';
      cluster.hsms.push(hsm);
      if (cluster.hsms.length === 1 && cluster.state === 'UNINITIALIZED' && cluster.sourceBackupId === undefined && !cluster.csr) {
        const made = csr ?? createClusterCsr(clusterId, hsm.hsmId);
        cluster.csr = { pem: made.csr, publicKey: made.publicKey };
      }
      if (cluster.sourceBackupId !== undefined && cluster.restored !== true) {
        // The first HSM of a cluster made from a backup gets the backup's users and keys: the cluster is then active.
        const data = await tx.get(HSM_PATHS.backupData(cluster.sourceBackupId));
        if (data === undefined) throw invalidRequest(`Backup ${cluster.sourceBackupId} no longer holds data to restore.`);
        tx.put(HSM_PATHS.contents(clusterId), this.atRest(clusterId, data));
        cluster.restored = true;
        cluster.state = 'ACTIVE';
      }
      if (wasActive) await this.takeBackup(tx, cluster, key, now);
      tx.put(HSM_PATHS.cluster(clusterId), JSON.stringify(cluster));
      return { cluster, hsm };
    });
    return { Hsm: hsmView(result.cluster, result.hsm, 'CREATE_IN_PROGRESS') };
  }

  private async deleteHsm(input: Input, authorize: Authorize): Promise<Output> {
    const clusterId = input.ClusterId as string;
    await authorize('DeleteHsm', this.clusterArn(clusterId));
    const named = (['HsmId', 'EniId', 'EniIp'] as const).filter((member) => input[member] !== undefined);
    if (named.length !== 1) throw invalidRequest('Name the HSM by exactly one of HsmId, EniId and EniIp.');
    const member = named[0]!;
    const field = ({ HsmId: 'hsmId', EniId: 'eniId', EniIp: 'eniIp' } as const)[member];
    const known = await this.store.transaction((tx) => this.cluster(tx, clusterId));
    const key = known.state === 'ACTIVE' ? await this.store.transaction((tx) => this.lineages.key(tx, known.lineageId)) : undefined;
    const now = this.now();
    const hsmId = await this.store.transaction(async (tx) => {
      const cluster = await this.clusterForUpdate(tx, clusterId);
      const index = cluster.hsms.findIndex((hsm) => hsm[field] === input[member]);
      if (index < 0) throw notFound(`Cluster ${clusterId} has no HSM with ${member} ${String(input[member])}.`);
      const [hsm] = cluster.hsms.splice(index, 1);
      if (cluster.state === 'ACTIVE' && key) await this.takeBackup(tx, cluster, key, now);
      tx.put(HSM_PATHS.cluster(clusterId), JSON.stringify(cluster));
      return hsm!.hsmId;
    });
    return { HsmId: hsmId };
  }

  /** The next free address in the zone's subnet, 10.0.<zone>.<n> from .10 on. */
  private freeIp(cluster: ClusterRecord, zone: string): string {
    const subnet = Object.keys(cluster.subnetMapping).indexOf(zone);
    const used = new Set(cluster.hsms.map((hsm) => hsm.eniIp));
    for (let host = 10; host < 255; host++) {
      const ip = `10.0.${subnet}.${host}`;
      if (!used.has(ip)) return ip;
    }
    throw invalidRequest(`The subnet in ${zone} has no free address.`);
  }

  // Backups

  /**
   * Takes a backup of a cluster's contents in `tx`: a copy of the sealed contents (they are
   * sealed under the lineage key, as backups are), or fresh contents for a cluster that has none.
   */
  private async takeBackup(tx: Transaction, cluster: ClusterRecord, key: Buffer, now: number): Promise<BackupRecord> {
    const stored = await tx.get(HSM_PATHS.contents(cluster.clusterId));
    const data = stored !== undefined ? this.fromRest(cluster.clusterId, stored) : sealContents(key, cluster.lineageId, emptyContents());
    const backup: BackupRecord = {
      backupId: newResourceId('backup'),
      state: 'READY',
      clusterId: cluster.clusterId,
      createdAt: now,
      neverExpires: false,
      tags: [],
      hsmType: cluster.hsmType,
      mode: cluster.mode,
      lineageId: cluster.lineageId,
      ...(cluster.clusterCertificate !== undefined ? { clusterCertificate: cluster.clusterCertificate } : {}),
      ...(cluster.trustAnchor !== undefined ? { trustAnchor: cluster.trustAnchor } : {}),
    };
    await tx.create(HSM_PATHS.backup(backup.backupId), JSON.stringify(backup));
    tx.put(HSM_PATHS.backupData(backup.backupId), data);
    cluster.lastBackupAt = now;
    return backup;
  }

  private async describeBackups(input: Input, authorize: Authorize): Promise<Output> {
    await authorize('DescribeBackups', '*');
    const filters = checkFilters(input.Filters, ['backupIds', 'sourceBackupIds', 'clusterIds', 'states', 'neverExpires']);
    // Backups shared with this account by others: a deployment is one account, so there are none.
    const backups =
      input.Shared === true
        ? []
        : (await this.store.list(HSM_PATHS.backups))
            .map((entry) => JSON.parse(entry.value) as BackupRecord)
            .filter(
              (b) =>
                matches(filters.backupIds, b.backupId) &&
                matches(filters.sourceBackupIds, b.sourceBackup) &&
                matches(filters.clusterIds, b.clusterId) &&
                matches(filters.states, b.state) &&
                matches(filters.neverExpires, String(b.neverExpires)),
            );
    const ascending = input.SortAscending === true;
    backups.sort((a, b) => (ascending ? 1 : -1) * (a.createdAt - b.createdAt || compare(a.backupId, b.backupId)));
    const page = pageOf(backups, input.NextToken as string | undefined, (input.MaxResults as number | undefined) ?? 50);
    return {
      Backups: page.items.map((b) => backupView(b, this.backupArn(b.backupId))),
      ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}),
    };
  }

  private deleteBackup(backup: BackupRecord, now: number): void {
    if (backup.state !== 'READY') throw invalidRequest(`Backup ${backup.backupId} is ${backup.state}; only a READY backup is deleted.`);
    backup.state = 'PENDING_DELETION';
    backup.deletedAt = now;
  }

  private async changeBackup(
    input: Input,
    authorize: Authorize,
    action: CloudHsmOperation,
    change: (backup: BackupRecord, now: number) => void,
  ): Promise<Output> {
    const backupId = input.BackupId as string;
    await authorize(action, this.backupArn(backupId));
    const now = this.now();
    const backup = await this.store.transaction(async (tx) => {
      const backup = await this.backupForUpdate(tx, backupId);
      change(backup, now);
      tx.put(HSM_PATHS.backup(backupId), JSON.stringify(backup));
      return backup;
    });
    return { Backup: backupView(backup, this.backupArn(backupId)) };
  }

  private async copyBackupToRegion(input: Input, authorize: Authorize): Promise<Output> {
    const backupId = input.BackupId as string;
    const destination = input.DestinationRegion as string;
    await authorize('CopyBackupToRegion', this.backupArn(backupId));
    const tags = checkTags(input.TagList as Tag[] | undefined);
    if (destination === this.region) throw invalidRequest("The destination region is the backup's own region.");
    if (!this.copier?.regions.includes(destination)) {
      throw invalidRequest(`${destination} is not a region of this deployment; its other regions: ${(this.copier?.regions ?? []).join(', ') || 'none'}.`);
    }
    const { backup, data, key } = await this.store.transaction(async (tx) => {
      const backup = await this.backup(tx, backupId);
      if (backup.state !== 'READY') throw invalidRequest(`Backup ${backupId} is ${backup.state}; only a READY backup is copied.`);
      const data = await tx.get(HSM_PATHS.backupData(backupId));
      if (data === undefined) throw invalidRequest(`Backup ${backupId} holds no data.`);
      return { backup, data, key: await this.lineages.key(tx, backup.lineageId) };
    });
    const createdAt = this.now();
    await this.copier.copy(destination, {
      sourceRegion: this.region,
      sourceBackup: backupId,
      sourceCluster: backup.clusterId ?? backup.sourceCluster ?? '',
      createdAt: backup.createdAt,
      hsmType: backup.hsmType,
      mode: backup.mode,
      lineageId: backup.lineageId,
      lineageKey: key,
      ...(backup.clusterCertificate !== undefined ? { clusterCertificate: backup.clusterCertificate } : {}),
      ...(backup.trustAnchor !== undefined ? { trustAnchor: backup.trustAnchor } : {}),
      tags,
      data,
    });
    return {
      DestinationBackup: {
        CreateTimestamp: createdAt / 1000,
        SourceRegion: this.region,
        SourceBackup: backupId,
        ...(backup.clusterId !== undefined ? { SourceCluster: backup.clusterId } : {}),
      },
    };
  }

  /**
   * The receiving end of CopyBackupToRegion: a new backup in this region, CREATE_IN_PROGRESS
   * until `completeCopy` stores its data. Returns its ID.
   */
  async beginCopy(transfer: Omit<BackupTransfer, 'lineageKey' | 'data'>): Promise<string> {
    const backup: BackupRecord = {
      backupId: newResourceId('backup'),
      state: 'CREATE_IN_PROGRESS',
      createdAt: transfer.createdAt,
      neverExpires: false,
      sourceRegion: transfer.sourceRegion,
      sourceBackup: transfer.sourceBackup,
      ...(transfer.sourceCluster !== '' ? { sourceCluster: transfer.sourceCluster } : {}),
      tags: transfer.tags,
      hsmType: transfer.hsmType,
      mode: transfer.mode,
      lineageId: transfer.lineageId,
      ...(transfer.clusterCertificate !== undefined ? { clusterCertificate: transfer.clusterCertificate } : {}),
      ...(transfer.trustAnchor !== undefined ? { trustAnchor: transfer.trustAnchor } : {}),
    };
    await this.store.transaction((tx) => tx.create(HSM_PATHS.backup(backup.backupId), JSON.stringify(backup)));
    return backup.backupId;
  }

  /**
   * Stores a copied backup's data and lineage key (wrapped under this region's master key); the
   * backup is then READY, or DELETED when the data does not open under that key. False when
   * `from` is not the region that began this copy, or names another lineage.
   */
  async completeCopy(backupId: string, from: string, lineageId: string, lineageKey: Buffer, data: string): Promise<boolean> {
    const known = await this.store.transaction((tx) => this.backup(tx, backupId));
    if (known.sourceRegion !== from || known.lineageId !== lineageId) return false;
    try {
      openContents(lineageKey, lineageId, data);
    } catch {
      await this.failCopy(backupId);
      return true;
    }
    const record = await this.lineages.record(known.lineageId, lineageKey);
    const now = this.now();
    await this.store.transaction(async (tx) => {
      const backup = await this.backupForUpdate(tx, backupId);
      if (backup.state !== 'CREATE_IN_PROGRESS') return;
      await this.lineages.adopt(tx, backup.lineageId, record);
      tx.put(HSM_PATHS.backupData(backupId), data);
      backup.state = 'READY';
      backup.copiedAt = now;
      tx.put(HSM_PATHS.backup(backupId), JSON.stringify(backup));
    });
    return true;
  }

  /** A copy that could not be completed is DELETED, as AWS shows a failed copy. */
  private async failCopy(backupId: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      const backup = await this.backupForUpdate(tx, backupId);
      if (backup.state !== 'CREATE_IN_PROGRESS') return;
      backup.state = 'DELETED';
      tx.put(HSM_PATHS.backup(backupId), JSON.stringify(backup));
    });
  }

  /**
   * Runs `work` on the users and keys of a cluster's HSMs (every HSM of a cluster holds the same)
   * and stores them as it left them, also when it answers a refusal (a failed login is counted).
   * A cluster whose precrypto officer has become the primary crypto officer is ACTIVE.
   */
  async onHsms<T>(clusterId: string, work: (contents: HsmContents) => T): Promise<T> {
    const known = await this.store.transaction((tx) => this.cluster(tx, clusterId));
    const key = await this.store.transaction((tx) => this.lineages.key(tx, known.lineageId));
    return this.store.transaction(async (tx) => {
      const cluster = await this.clusterForUpdate(tx, clusterId);
      const sealed = await tx.getForUpdate(HSM_PATHS.contents(clusterId));
      if (sealed === undefined || cluster.hsms.length === 0) throw invalidRequest(`Cluster ${clusterId} has no initialized HSM.`);
      const contents = openContents(key, cluster.lineageId, this.fromRest(clusterId, sealed));
      const result = work(contents);
      tx.put(HSM_PATHS.contents(clusterId), this.atRest(clusterId, sealContents(key, cluster.lineageId, contents)));
      if (cluster.state === 'INITIALIZED' && contents.users.some((user) => user.type === 'PCO')) {
        cluster.state = 'ACTIVE';
        tx.put(HSM_PATHS.cluster(clusterId), JSON.stringify(cluster));
      }
      return result;
    });
  }

  /** Lineage-sealed contents as the HSMs keep them at rest, and back. */
  private atRest = (clusterId: string, sealed: string): string => this.vault?.seal(clusterId, sealed) ?? sealed;
  private fromRest = (clusterId: string, stored: string): string => this.vault?.open(clusterId, stored) ?? stored;

  /**
   * Runs `work` as an HSM user of the cluster, logged in with `credentials` (a failed login is
   * counted as the HSM counts it, and refused) or by an open session.
   */
  async asUser<T>(clusterId: string, credentials: HsmCredentials | HsmSessionUser, work: (contents: HsmContents, user: HsmUser) => T): Promise<T> {
    const outcome = await this.onHsms(clusterId, (contents): { error: string } | { value: T } => {
      const { user, error } =
        'password' in credentials ? login(contents, credentials.type, credentials.name, credentials.password) : resumeSession(contents, credentials);
      return user ? { value: work(contents, user) } : { error: error ?? 'login failed' };
    });
    if ('error' in outcome) throw new HsmUserError(`login failed on cluster ${clusterId}: ${outcome.error}`);
    return outcome.value;
  }

  /**
   * syncKey's source half (ExtractMaskedObject): the key, with its attributes, owner and
   * sharing, sealed under the cluster's lineage key. Only a cluster of the same lineage (made
   * from a backup of this one, or of a common ancestor) opens it.
   */
  async exportKeyForSync(clusterId: string, credentials: HsmCredentials | HsmSessionUser, handle: number): Promise<SyncedKey> {
    return this.sealForSync(clusterId, credentials, (contents, user) => {
      const key = exportKey(contents, user, handle);
      return { ...key, material: key.material.toString('base64') };
    });
  }

  /** syncKey's destination half (InsertMaskedObject): returns the key's handle in this cluster. */
  async importSyncedKey(clusterId: string, credentials: HsmCredentials | HsmSessionUser, synced: SyncedKey): Promise<number> {
    return this.openSynced(clusterId, credentials, synced, (contents, payload) => {
      const parsed = payload as Omit<PortableKey, 'material'> & { material: string };
      return importKey(contents, { ...parsed, material: Buffer.from(parsed.material, 'base64') });
    });
  }

  /** syncUser's source half: a crypto officer takes a user, password hash included, sealed under the lineage key. */
  async exportUserForSync(clusterId: string, credentials: HsmCredentials | HsmSessionUser, userId: number): Promise<SyncedKey> {
    return this.sealForSync(clusterId, credentials, (contents, actor) => {
      if (actor.type !== 'CO' && actor.type !== 'PCO') throw new HsmUserError('only a crypto officer syncs users');
      const user = contents.users.find((u) => u.id === userId);
      if (!user) throw new HsmUserError(`user ${userId} does not exist`);
      return { name: user.name, type: user.type, salt: user.salt, hash: user.hash };
    });
  }

  /** syncUser's destination half: the user is created, or takes the source's password. */
  async importSyncedUser(clusterId: string, credentials: HsmCredentials | HsmSessionUser, synced: SyncedKey): Promise<void> {
    await this.openSynced(clusterId, credentials, synced, (contents, payload) => {
      const synced = payload as Pick<HsmUser, 'name' | 'type' | 'salt' | 'hash'>;
      const known = contents.users.find((u) => u.name === synced.name);
      if (known && known.type !== synced.type) throw new HsmUserError(`user ${synced.name} is a ${known.type} here and a ${synced.type} on the source`);
      if (known) Object.assign(known, { salt: synced.salt, hash: synced.hash, loginFailures: 0 });
      else contents.users.push({ id: Math.max(0, ...contents.users.map((u) => u.id)) + 1, ...synced, loginFailures: 0 });
    });
  }

  /** What `take` returns, with the name and type of the user who took it, sealed under the cluster's lineage key. */
  private async sealForSync(
    clusterId: string,
    credentials: HsmCredentials | HsmSessionUser,
    take: (contents: HsmContents, user: HsmUser) => object,
  ): Promise<SyncedKey> {
    const taken = await this.asUser(clusterId, credentials, (contents, user) => ({ ...take(contents, user), actor: { name: user.name, type: user.type } }));
    const cluster = await this.store.transaction((tx) => this.cluster(tx, clusterId));
    const lineageKey = await this.store.transaction((tx) => this.lineages.key(tx, cluster.lineageId));
    const sealed = aesGcmEncrypt(lineageKey, Buffer.from(JSON.stringify(taken)), syncedKeyAad(cluster.lineageId));
    return { lineageId: cluster.lineageId, sealed: [sealed.iv, sealed.tag, sealed.ciphertext].map((part) => part.toString('base64')).join('.') };
  }

  /**
   * Opens what `sealForSync` sealed and gives it to `put` as the same user on this cluster: the
   * clusters must be of one lineage, and the user logged in here must have the name and type
   * of the one who took it there (AWS: consistent CO and CU credentials).
   */
  private async openSynced<T>(
    clusterId: string,
    credentials: HsmCredentials | HsmSessionUser,
    synced: SyncedKey,
    put: (contents: HsmContents, payload: Record<string, unknown>) => T,
  ): Promise<T> {
    const cluster = await this.store.transaction((tx) => this.cluster(tx, clusterId));
    if (cluster.lineageId !== synced.lineageId) {
      throw new HsmUserError(
        `cluster ${clusterId} was not created from a backup of the source cluster, nor the source from one of it: keys sync only between related clusters`,
      );
    }
    const lineageKey = await this.store.transaction((tx) => this.lineages.key(tx, cluster.lineageId));
    const [iv, tag, ciphertext] = synced.sealed.split('.').map((part) => Buffer.from(part, 'base64'));
    const plain = iv && tag && ciphertext ? aesGcmDecrypt(lineageKey, { iv, tag, ciphertext }, syncedKeyAad(cluster.lineageId)) : undefined;
    if (!plain) throw new HsmUserError('the synced object does not open under the cluster lineage key');
    const { actor, ...payload } = JSON.parse(plain.toString('utf8')) as { actor: { name: string; type: HsmUserType } };
    return this.asUser(clusterId, credentials, (contents, user) => {
      const sameKind = user.type === actor.type || (officer(user.type) && officer(actor.type));
      if (user.name !== actor.name || !sameKind) {
        throw new HsmUserError(
          `the user credentials differ between the clusters: taken by ${actor.name}(${actor.type}), logged in here as ${user.name}(${user.type})`,
        );
      }
      return put(contents, payload);
    });
  }

  // Tags and resource policies

  private async tagResource(input: Input, authorize: Authorize): Promise<Output> {
    const resourceId = input.ResourceId as string;
    await authorize('TagResource', this.resourceArn(resourceId));
    const added = checkTags(input.TagList as Tag[]);
    await this.changeTags(resourceId, (tags) => {
      const merged = new Map(tags.map((tag) => [tag.Key, tag.Value]));
      for (const tag of added) merged.set(tag.Key, tag.Value);
      if (merged.size > MAX_TAGS) throw new CloudHsmError('CloudHsmResourceLimitExceededException', `A resource has at most ${MAX_TAGS} tags.`);
      return [...merged].map(([Key, Value]) => ({ Key, Value }));
    });
    return {};
  }

  private async untagResource(input: Input, authorize: Authorize): Promise<Output> {
    const resourceId = input.ResourceId as string;
    await authorize('UntagResource', this.resourceArn(resourceId));
    const removed = new Set(input.TagKeyList as string[]);
    await this.changeTags(resourceId, (tags) => tags.filter((tag) => !removed.has(tag.Key)));
    return {};
  }

  private async listTags(input: Input, authorize: Authorize): Promise<Output> {
    const resourceId = input.ResourceId as string;
    await authorize('ListTags', this.resourceArn(resourceId));
    const tags = await this.store.transaction(async (tx) =>
      resourceId.startsWith('backup-') ? (await this.backup(tx, resourceId)).tags : (await this.cluster(tx, resourceId)).tags,
    );
    const page = pageOf(tags, input.NextToken as string | undefined, (input.MaxResults as number | undefined) ?? 50);
    return { TagList: page.items, ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}) };
  }

  private resourceArn(resourceId: string): string {
    if (isResourceId(resourceId, 'cluster')) return this.clusterArn(resourceId);
    if (isResourceId(resourceId, 'backup')) return this.backupArn(resourceId);
    throw invalidRequest(`${resourceId} is not a cluster or backup ID.`);
  }

  private async changeTags(resourceId: string, change: (tags: Tag[]) => Tag[]): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (resourceId.startsWith('backup-')) {
        const backup = await this.backupForUpdate(tx, resourceId);
        backup.tags = change(backup.tags);
        tx.put(HSM_PATHS.backup(resourceId), JSON.stringify(backup));
      } else {
        const cluster = await this.clusterForUpdate(tx, resourceId);
        cluster.tags = change(cluster.tags);
        tx.put(HSM_PATHS.cluster(resourceId), JSON.stringify(cluster));
      }
    });
  }

  /** The backup a resource policy ARN names: only backups take resource policies. */
  private policyBackupId(arn: unknown): string {
    if (typeof arn !== 'string') throw invalidRequest('ResourceArn is required.');
    const prefix = `arn:aws:cloudhsm:${this.region}:${this.account}:backup/`;
    const id = arn.startsWith(prefix) ? arn.slice(prefix.length) : '';
    if (!isResourceId(id, 'backup')) throw invalidRequest(`${arn} is not the ARN of a backup in ${this.region}; only backups take resource policies.`);
    return id;
  }

  private async getResourcePolicy(input: Input, authorize: Authorize): Promise<Output> {
    const backupId = this.policyBackupId(input.ResourceArn);
    await authorize('GetResourcePolicy', this.backupArn(backupId));
    const backup = await this.store.transaction((tx) => this.backup(tx, backupId));
    return backup.policy !== undefined ? { Policy: backup.policy } : {};
  }

  private async putResourcePolicy(input: Input, authorize: Authorize): Promise<Output> {
    const backupId = this.policyBackupId(input.ResourceArn);
    await authorize('PutResourcePolicy', this.backupArn(backupId));
    const policy = checkPolicy(input.Policy);
    await this.store.transaction(async (tx) => {
      const backup = await this.backupForUpdate(tx, backupId);
      if (backup.state !== 'READY') throw invalidRequest(`Backup ${backupId} is ${backup.state}; only a READY backup is shared.`);
      backup.policy = policy;
      tx.put(HSM_PATHS.backup(backupId), JSON.stringify(backup));
    });
    return { ResourceArn: this.backupArn(backupId), Policy: policy };
  }

  private async deleteResourcePolicy(input: Input, authorize: Authorize): Promise<Output> {
    const backupId = this.policyBackupId(input.ResourceArn);
    await authorize('DeleteResourcePolicy', this.backupArn(backupId));
    const policy = await this.store.transaction(async (tx) => {
      const backup = await this.backupForUpdate(tx, backupId);
      const { policy } = backup;
      delete backup.policy;
      tx.put(HSM_PATHS.backup(backupId), JSON.stringify(backup));
      return policy;
    });
    return { ResourceArn: this.backupArn(backupId), ...(policy !== undefined ? { Policy: policy } : {}) };
  }

  // Background work

  /**
   * The service's own schedule: a backup of each initialized cluster with HSMs at least every
   * backup interval; backups past their cluster's retention to PENDING_DELETION, except the
   * cluster's newest and those that never expire; backups pending deletion for 7 days DELETED,
   * their data dropped.
   */
  async runBackground(): Promise<{ backedUp: number; expired: number; deleted: number }> {
    const now = this.now();
    const clusters = (await this.store.list(HSM_PATHS.clusters)).map((entry) => JSON.parse(entry.value) as ClusterRecord);
    let backedUp = 0;
    for (const known of clusters) {
      if (!['INITIALIZED', 'ACTIVE', 'DEGRADED'].includes(known.state) || known.hsms.length === 0) continue;
      if (known.lastBackupAt !== undefined && now - known.lastBackupAt < this.backupIntervalMs) continue;
      const key = await this.store.transaction((tx) => this.lineages.key(tx, known.lineageId));
      await this.store.transaction(async (tx) => {
        const cluster = await this.clusterForUpdate(tx, known.clusterId);
        if (cluster.lastBackupAt !== known.lastBackupAt) return;
        await this.takeBackup(tx, cluster, key, now);
        tx.put(HSM_PATHS.cluster(cluster.clusterId), JSON.stringify(cluster));
        backedUp++;
      });
    }
    const retentionOf = new Map(clusters.map((c) => [c.clusterId, c.retentionDays * DAY_MS]));
    const backups = (await this.store.list(HSM_PATHS.backups)).map((entry) => JSON.parse(entry.value) as BackupRecord);
    const newest = new Map<string, BackupRecord>();
    for (const backup of backups) {
      if (backup.clusterId === undefined || backup.state !== 'READY') continue;
      const seen = newest.get(backup.clusterId);
      if (!seen || backup.createdAt > seen.createdAt) newest.set(backup.clusterId, backup);
    }
    let expired = 0;
    let deleted = 0;
    for (const backup of backups) {
      const retentionMs = backup.clusterId === undefined ? undefined : retentionOf.get(backup.clusterId);
      const expires =
        backup.state === 'READY' &&
        !backup.neverExpires &&
        retentionMs !== undefined &&
        backup.createdAt + retentionMs <= now &&
        newest.get(backup.clusterId!) !== backup;
      const purge = backup.state === 'PENDING_DELETION' && backup.deletedAt! + PENDING_DELETION_MS <= now;
      if (!expires && !purge) continue;
      await this.store.transaction(async (tx) => {
        const current = await this.backupForUpdate(tx, backup.backupId);
        if (current.state !== backup.state) return;
        if (expires) {
          this.deleteBackup(current, now);
          expired++;
        } else {
          current.state = 'DELETED';
          tx.delete(HSM_PATHS.backupData(current.backupId));
          deleted++;
        }
        tx.put(HSM_PATHS.backup(current.backupId), JSON.stringify(current));
      });
    }
    return { backedUp, expired, deleted };
  }

  // Records

  private backupIdOf(source: string): string {
    const arnPrefix = `arn:aws:cloudhsm:${this.region}:${this.account}:backup/`;
    if (source.startsWith('arn:')) {
      if (!source.startsWith(arnPrefix)) throw notFound(`Backup ${source} does not exist in ${this.region} of account ${this.account}.`);
      return source.slice(arnPrefix.length);
    }
    return source;
  }

  private async cluster(reader: Reader, clusterId: string): Promise<ClusterRecord> {
    const stored = isResourceId(clusterId, 'cluster') ? await reader.get(HSM_PATHS.cluster(clusterId)) : undefined;
    if (stored === undefined) throw notFound(`Cluster ${clusterId} does not exist.`);
    return JSON.parse(stored) as ClusterRecord;
  }

  /** A cluster to change: it must exist and not be deleted. */
  private async clusterForUpdate(tx: Transaction, clusterId: string): Promise<ClusterRecord> {
    const stored = isResourceId(clusterId, 'cluster') ? await tx.getForUpdate(HSM_PATHS.cluster(clusterId)) : undefined;
    if (stored === undefined) throw notFound(`Cluster ${clusterId} does not exist.`);
    const cluster = JSON.parse(stored) as ClusterRecord;
    if (cluster.state === 'DELETED') throw invalidRequest(`Cluster ${clusterId} is deleted.`);
    return cluster;
  }

  private async changeCluster(clusterId: string, change: (cluster: ClusterRecord) => void): Promise<ClusterRecord> {
    return this.store.transaction(async (tx) => {
      const cluster = await this.clusterForUpdate(tx, clusterId);
      change(cluster);
      tx.put(HSM_PATHS.cluster(clusterId), JSON.stringify(cluster));
      return cluster;
    });
  }

  private async backup(reader: Reader, backupId: string): Promise<BackupRecord> {
    const stored = isResourceId(backupId, 'backup') ? await reader.get(HSM_PATHS.backup(backupId)) : undefined;
    if (stored === undefined) throw notFound(`Backup ${backupId} does not exist.`);
    return JSON.parse(stored) as BackupRecord;
  }

  private async backupForUpdate(tx: Transaction, backupId: string): Promise<BackupRecord> {
    const stored = isResourceId(backupId, 'backup') ? await tx.getForUpdate(HSM_PATHS.backup(backupId)) : undefined;
    if (stored === undefined) throw notFound(`Backup ${backupId} does not exist.`);
    return JSON.parse(stored) as BackupRecord;
  }
}

const officer = (type: HsmUserType): boolean => type === 'CO' || type === 'PCO';

const emptyContents = (): HsmContents => ({ users: [], keys: [], nextHandle: 1 });

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function retention(policy: unknown): number {
  if (policy === undefined) return DEFAULT_RETENTION_DAYS;
  const { Type, Value } = policy as { Type?: string; Value?: string };
  if (Type !== undefined && Type !== 'DAYS') throw invalidRequest('BackupRetentionPolicy.Type must be DAYS.');
  const days = Value === undefined ? NaN : Number(Value);
  if (!Number.isInteger(days) || days < MIN_RETENTION_DAYS || days > MAX_RETENTION_DAYS) {
    throw invalidRequest(`BackupRetentionPolicy.Value must be a number of days from ${MIN_RETENTION_DAYS} to ${MAX_RETENTION_DAYS}.`);
  }
  return days;
}

/** Tag keys beginning with aws: are AWS's own, as everywhere in AWS. */
function checkTags(tags: Tag[] | undefined): Tag[] {
  if (tags === undefined) return [];
  for (const tag of tags) {
    if (tag.Key.toLowerCase().startsWith('aws:')) throw new CloudHsmError('CloudHsmTagException', `The tag key ${tag.Key} uses the reserved prefix aws:.`);
  }
  if (new Set(tags.map((tag) => tag.Key)).size !== tags.length) throw new CloudHsmError('CloudHsmTagException', 'A tag key is given twice.');
  return tags.map(({ Key, Value }) => ({ Key, Value }));
}

/** A policy must be a JSON object with a Statement list; only its shape is checked: a deployment is one account. */
function checkPolicy(policy: unknown): string {
  if (typeof policy !== 'string') throw invalidRequest('Policy is required.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    throw invalidRequest('The policy is not valid JSON.');
  }
  const statement = (parsed as { Statement?: unknown } | null)?.Statement;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || (!Array.isArray(statement) && typeof statement !== 'object')) {
    throw invalidRequest('The policy must be a JSON object with a Statement.');
  }
  return policy;
}

function checkFilters(filters: unknown, names: readonly string[]): Partial<Record<string, Set<string>>> {
  const out: Partial<Record<string, Set<string>>> = {};
  for (const [name, values] of Object.entries((filters ?? {}) as Record<string, string[]>)) {
    if (!names.includes(name)) throw invalidRequest(`Unknown filter ${name}; the filters are ${names.join(', ')}.`);
    out[name] = new Set(values);
  }
  return out;
}

const matches = (filter: Set<string> | undefined, value: string | undefined): boolean => filter === undefined || (value !== undefined && filter.has(value));
