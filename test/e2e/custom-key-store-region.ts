import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { SoftwareCryptoUnit } from '../../src/cryptounits/index.ts';
import { changePassword, CloudHsmService, createUser, KmsKeyStoreClusters } from '../../src/hsm/index.ts';
import { KeyService } from '../../src/kms/index.ts';
import { buildRegionServer, type AccessKey } from '../../src/server/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { SUBNETS } from './hsm-regions.ts';

export const REGION = 'us-east-1';
export const ACCOUNT = '111122223333';
export const ADMIN: AccessKey = {
  accessKeyId: 'AKIACKSTEST000000001',
  secretAccessKey: 'custom-key-store-test-secret-01',
  principal: `arn:aws:iam::${ACCOUNT}:user/admin`,
};
/** Allowed every KMS action, but no CloudHSM action: the clusters are not visible to it. */
export const KMS_ONLY: AccessKey = {
  accessKeyId: 'AKIACKSTEST000000002',
  secretAccessKey: 'custom-key-store-test-secret-02',
  principal: `arn:aws:iam::${ACCOUNT}:user/kms-only`,
};
/** A principal of another account. */
export const OUTSIDER: AccessKey = {
  accessKeyId: 'AKIACKSTEST000000003',
  secretAccessKey: 'custom-key-store-test-secret-03',
  principal: 'arn:aws:iam::444455556666:user/outsider',
};
export const KMSUSER_PASSWORD = 'kmsuser-pass-1';
const allow = (): Promise<void> => Promise.resolve();

export interface CustomKeyStoreRegion {
  endpoint: string;
  dir: string;
  /** The PEM of the CA that signs every cluster's certificate here. */
  anchor: string;
  clusters: CloudHsmService;
  store: SqliteStore;
  call: (name: Parameters<CloudHsmService['call']>[0], input: Record<string, unknown>) => Promise<Record<string, unknown>>;
  /** A cluster with HSMs in `zones`, initialized with the CA, activated, with kmsuser when `withKmsUser`. */
  activeCluster: (zones: string[], withKmsUser?: boolean) => Promise<string>;
  /** A cluster made from a fresh backup of `sourceId` (adding an HSM takes one): of the same lineage, holding its keys. */
  relatedCluster: (sourceId: string) => Promise<string>;
  stop: () => Promise<void>;
}

/**
 * A region server with the real key and cluster services, whose KMS custom key stores use its
 * clusters. The clusters are activated and given their `kmsuser` through the cluster domain,
 * as the management shell does it (`changePswd`, `createUser CU kmsuser`).
 */
export async function startCustomKeyStoreRegion(): Promise<CustomKeyStoreRegion> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-cks-'));
  const store = new SqliteStore(join(dir, 'keys.db'));
  const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
  const clusters = new CloudHsmService({ region: REGION, account: ACCOUNT, store, unit });
  const service = new KeyService({
    region: REGION,
    account: ACCOUNT,
    store,
    unit,
    principals: [
      { arn: ADMIN.principal, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:*', 'cloudhsm:*'], Resource: '*' }] }] },
      { arn: KMS_ONLY.principal, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:*'], Resource: '*' }] }] },
    ],
    cloudHsmClusters: new KmsKeyStoreClusters(clusters),
  });
  const call = (name: Parameters<CloudHsmService['call']>[0], input: Record<string, unknown>) => clusters.call(name, input, allow);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '365', '-subj', '/CN=Our CA');
  const anchor = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const app: FastifyInstance = buildRegionServer({ service, accessKeys: [ADMIN, KMS_ONLY, OUTSIDER], logger: pino({ level: 'silent' }) });
  const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });

  async function activeCluster(zones: string[], withKmsUser = true): Promise<string> {
    const { Cluster } = (await call('CreateCluster', { HsmType: 'hsm2m.medium', SubnetIds: SUBNETS })) as { Cluster: { ClusterId: string } };
    const id = Cluster.ClusterId;
    await call('CreateHsm', { ClusterId: id, AvailabilityZone: zones[0] });
    const { Clusters } = (await call('DescribeClusters', { Filters: { clusterIds: [id] } })) as { Clusters: { Certificates: { ClusterCsr: string } }[] };
    writeFileSync(join(dir, `${id}.csr`), Clusters[0]!.Certificates.ClusterCsr);
    openssl('x509', '-req', '-in', `${id}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${id}.crt`, '-days', '365');
    await call('InitializeCluster', { ClusterId: id, SignedCert: readFileSync(join(dir, `${id}.crt`), 'utf8'), TrustAnchor: anchor });
    await clusters.asUser(id, { type: 'PRECO', name: 'admin', password: 'password' }, (contents, admin) => {
      changePassword(contents, admin, 'admin', 'officer-pass-1');
      if (withKmsUser) createUser(contents, admin, 'CU', 'kmsuser', KMSUSER_PASSWORD);
    });
    for (const zone of zones.slice(1)) await call('CreateHsm', { ClusterId: id, AvailabilityZone: zone });
    return id;
  }

  /** A cluster made from a fresh backup of `sourceId` (adding an HSM takes one): of the same lineage, holding its keys. */
  async function relatedCluster(sourceId: string): Promise<string> {
    await call('CreateHsm', { ClusterId: sourceId, AvailabilityZone: 'us-east-1a' });
    const { Backups } = (await call('DescribeBackups', { Filters: { clusterIds: [sourceId] } })) as { Backups: { BackupId: string }[] };
    const { Cluster } = (await call('CreateCluster', { HsmType: 'hsm2m.medium', SubnetIds: SUBNETS, SourceBackupId: Backups[0]!.BackupId })) as {
      Cluster: { ClusterId: string };
    };
    await call('CreateHsm', { ClusterId: Cluster.ClusterId, AvailabilityZone: 'us-east-1a' });
    await call('CreateHsm', { ClusterId: Cluster.ClusterId, AvailabilityZone: 'us-east-1b' });
    return Cluster.ClusterId;
  }

  return {
    endpoint,
    dir,
    anchor,
    clusters,
    store,
    call,
    activeCluster,
    relatedCluster,
    stop: async () => {
      await app.close();
      await store.close();
    },
  };
}
