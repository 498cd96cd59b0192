/** The states of the CloudHSM v2 model. */
export type ClusterState =
  | 'CREATE_IN_PROGRESS'
  | 'UNINITIALIZED'
  | 'INITIALIZE_IN_PROGRESS'
  | 'INITIALIZED'
  | 'ACTIVE'
  | 'UPDATE_IN_PROGRESS'
  | 'MODIFY_IN_PROGRESS'
  | 'ROLLBACK_IN_PROGRESS'
  | 'DELETE_IN_PROGRESS'
  | 'DELETED'
  | 'DEGRADED';
export type HsmState = 'CREATE_IN_PROGRESS' | 'ACTIVE' | 'DEGRADED' | 'DELETE_IN_PROGRESS' | 'DELETED';
export type BackupState = 'CREATE_IN_PROGRESS' | 'READY' | 'DELETED' | 'PENDING_DELETION';
export type ClusterMode = 'FIPS' | 'NON_FIPS';

export interface Tag {
  Key: string;
  Value: string;
}

export interface HsmRecord {
  hsmId: string;
  availabilityZone: string;
  subnetId: string;
  eniId: string;
  eniIp: string;
  state: HsmState;
}

export interface ClusterRecord {
  clusterId: string;
  state: ClusterState;
  hsmType: string;
  mode: ClusterMode;
  networkType: 'IPV4' | 'DUALSTACK';
  /** Availability zone to subnet. */
  subnetMapping: Record<string, string>;
  vpcId: string;
  securityGroup: string;
  /** Milliseconds since the epoch, as every time in these records. */
  createdAt: number;
  retentionDays: number;
  hsms: HsmRecord[];
  tags: Tag[];
  /** The lineage whose key encrypts this cluster's contents and backups: its own, or its source backup's. */
  lineageId: string;
  sourceBackupId?: string;
  /** A cluster made from a backup gets the backup's contents with its first HSM. */
  restored?: boolean;
  /** The CSR its first HSM issued, and that request's public key (SubjectPublicKeyInfo DER, base64). */
  csr?: { pem: string; publicKey: string };
  clusterCertificate?: string;
  trustAnchor?: string;
  lastBackupAt?: number;
}

export interface BackupRecord {
  backupId: string;
  state: BackupState;
  /** The cluster it was taken of; a copy in another region has none. */
  clusterId?: string;
  createdAt: number;
  copiedAt?: number;
  neverExpires: boolean;
  sourceRegion?: string;
  sourceBackup?: string;
  sourceCluster?: string;
  deletedAt?: number;
  tags: Tag[];
  hsmType: string;
  mode: ClusterMode;
  lineageId: string;
  clusterCertificate?: string;
  trustAnchor?: string;
  policy?: string;
}

/** Store paths: one record per key, each kind under its own prefix. */
export const HSM_PATHS = {
  cluster: (id: string): string => `hsm/clusters/${id}`,
  clusters: 'hsm/clusters/',
  backup: (id: string): string => `hsm/backups/${id}`,
  backups: 'hsm/backups/',
  /** A backup's sealed contents, apart from its record so that listing backups does not read them. */
  backupData: (id: string): string => `hsm/backup-data/${id}`,
  /** A cluster's users and keys, sealed under its lineage key. */
  contents: (clusterId: string): string => `hsm/contents/${clusterId}`,
  lineage: (id: string): string => `hsm/lineages/${id}`,
  lineages: 'hsm/lineages/',
} as const;

/** Epoch seconds, as the API's timestamps are (a JSON number with milliseconds). */
const seconds = (ms: number): number => ms / 1000;

export function hsmView(cluster: Pick<ClusterRecord, 'clusterId' | 'hsmType'>, hsm: HsmRecord, state: HsmState = hsm.state): Record<string, unknown> {
  return {
    AvailabilityZone: hsm.availabilityZone,
    ClusterId: cluster.clusterId,
    SubnetId: hsm.subnetId,
    EniId: hsm.eniId,
    EniIp: hsm.eniIp,
    HsmId: hsm.hsmId,
    HsmType: cluster.hsmType,
    State: state,
    StateMessage: state === 'ACTIVE' ? 'HSM created.' : '',
  };
}

/** A cluster as the API shows it; `state` replaces the stored state where a call reports its transition. */
export function clusterView(cluster: ClusterRecord, state: ClusterState = cluster.state): Record<string, unknown> {
  const certificates: Record<string, string> = {};
  if (cluster.csr && cluster.state === 'UNINITIALIZED') certificates.ClusterCsr = cluster.csr.pem;
  if (cluster.clusterCertificate !== undefined) certificates.ClusterCertificate = cluster.clusterCertificate;
  return {
    BackupPolicy: 'DEFAULT',
    BackupRetentionPolicy: { Type: 'DAYS', Value: String(cluster.retentionDays) },
    Certificates: certificates,
    ClusterId: cluster.clusterId,
    CreateTimestamp: seconds(cluster.createdAt),
    Hsms: cluster.hsms.map((hsm) => hsmView(cluster, hsm)),
    HsmType: cluster.hsmType,
    SecurityGroup: cluster.securityGroup,
    ...(cluster.sourceBackupId !== undefined ? { SourceBackupId: cluster.sourceBackupId } : {}),
    State: state,
    StateMessage: stateMessage(state),
    SubnetMapping: cluster.subnetMapping,
    VpcId: cluster.vpcId,
    NetworkType: cluster.networkType,
    ...(cluster.tags.length > 0 ? { TagList: cluster.tags } : {}),
    Mode: cluster.mode,
  };
}

function stateMessage(state: ClusterState): string {
  switch (state) {
    case 'UNINITIALIZED':
      return 'Cluster is not initialized.';
    case 'INITIALIZED':
      return 'Cluster is initialized; activate it with the management shell.';
    case 'ACTIVE':
      return 'Cluster is active.';
    default:
      return '';
  }
}

export function backupView(backup: BackupRecord, arn: string): Record<string, unknown> {
  return {
    BackupId: backup.backupId,
    BackupArn: arn,
    BackupState: backup.state,
    ...(backup.clusterId !== undefined ? { ClusterId: backup.clusterId } : {}),
    CreateTimestamp: seconds(backup.createdAt),
    ...(backup.copiedAt !== undefined ? { CopyTimestamp: seconds(backup.copiedAt) } : {}),
    NeverExpires: backup.neverExpires,
    ...(backup.sourceRegion !== undefined ? { SourceRegion: backup.sourceRegion } : {}),
    ...(backup.sourceBackup !== undefined ? { SourceBackup: backup.sourceBackup } : {}),
    ...(backup.sourceCluster !== undefined ? { SourceCluster: backup.sourceCluster } : {}),
    ...(backup.deletedAt !== undefined ? { DeleteTimestamp: seconds(backup.deletedAt) } : {}),
    ...(backup.tags.length > 0 ? { TagList: backup.tags } : {}),
    HsmType: backup.hsmType,
    Mode: backup.mode,
  };
}
