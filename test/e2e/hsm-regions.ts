import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { SoftwareCryptoUnit, type UnitVault } from '../../src/cryptounits/index.ts';
import { changePassword, CloudHsmService, createUser, generateSymmetricKey, HsmVault } from '../../src/hsm/index.ts';
import { KeyService } from '../../src/kms/index.ts';
import { Outbox } from '../../src/outbox/index.ts';
import { MultiRegionKeys, RegionIdentity } from '../../src/regions/index.ts';
import { buildRegionServer } from '../../src/server/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { freePorts } from './harness.ts';

export const SUBNETS = ['subnet-0a1b2c3d4e5f60718', 'subnet-0a1b2c3d4e5f60719'];
const ACCOUNT = '111122223333';
const allow = (): Promise<void> => Promise.resolve();

export interface HsmRegion {
  region: string;
  store: SqliteStore;
  unit: SoftwareCryptoUnit;
  clusters: CloudHsmService;
  call: (name: Parameters<CloudHsmService['call']>[0], input: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

/**
 * Regions of one deployment in this process, each with its real store, crypto unit, cluster
 * service and peer link served over loopback HTTP, so backups copy between them as between
 * `concord` regions. For tests and benchmarks that need HSM contents no client makes yet.
 */
export async function startHsmRegions(
  names: string[],
  /** The crypto-unit backend each region's HSMs keep their contents in, if any. */
  vaultOf?: (region: string) => Promise<UnitVault>,
): Promise<{ regions: Record<string, HsmRegion>; dir: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-hsm-regions-'));
  const logger = pino({ level: 'silent' });
  const base = await freePorts(names.length);
  const identities = names.map((name) => RegionIdentity.openOrInit(join(dir, `${name}-identity.json`)));
  const regions: Record<string, HsmRegion> = {};
  const running: { app: FastifyInstance; outbox: Outbox; store: SqliteStore; vault?: HsmVault }[] = [];
  for (const [i, region] of names.entries()) {
    const peers = Object.fromEntries(
      names.flatMap((other, j) => (j === i ? [] : [[other, { url: `http://127.0.0.1:${base + j}`, publicKey: identities[j]!.publicKey }]])),
    );
    const store = new SqliteStore(join(dir, `${region}.db`));
    const unit = SoftwareCryptoUnit.openOrInit(join(dir, `${region}-unit.json`));
    const outbox = new Outbox(store, logger);
    const multiRegion = new MultiRegionKeys({ region, store, identity: identities[i]!, peers, outbox, logger });
    const service = new KeyService({ region, account: ACCOUNT, store, unit, moreOperations: multiRegion.operations });
    const vault = vaultOf && (await HsmVault.open(await vaultOf(region)));
    const clusters = new CloudHsmService({ region, account: ACCOUNT, store, unit, copier: multiRegion.backupCopies, ...(vault ? { vault } : {}) });
    multiRegion.backupCopies.attach(clusters);
    const app = buildRegionServer({ service, accessKeys: [], logger, peerApi: multiRegion.peerApi, peers });
    await app.listen({ host: '127.0.0.1', port: base + i });
    running.push({ app, outbox, store, ...(vault ? { vault } : {}) });
    regions[region] = { region, store, unit, clusters, call: (name, input) => clusters.call(name, input, allow) };
  }
  const stop = async (): Promise<void> => {
    for (const { app, outbox, store, vault } of running) {
      await app.close();
      await outbox.close();
      await store.close();
      await vault?.close();
    }
  };
  return { regions, dir, stop };
}

/**
 * An ACTIVE cluster with an HSM in each of `zones`, initialized with a CA made by openssl in
 * `dir`, its admin activated and a crypto user `owner` holding `keys` AES-256 keys, as the
 * management shells would leave it. Returns its ID.
 */
export async function clusterWithKeys(region: HsmRegion, dir: string, zones: string[], keys: number, owner = 'app_user'): Promise<string> {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const { Cluster } = (await region.call('CreateCluster', { HsmType: 'hsm2m.medium', SubnetIds: SUBNETS })) as { Cluster: { ClusterId: string } };
  const id = Cluster.ClusterId;
  await region.call('CreateHsm', { ClusterId: id, AvailabilityZone: zones[0] });
  const { Clusters } = (await region.call('DescribeClusters', { Filters: { clusterIds: [id] } })) as { Clusters: { Certificates: { ClusterCsr: string } }[] };
  writeFileSync(join(dir, `${id}.csr`), Clusters[0]!.Certificates.ClusterCsr);
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${id}-ca.key`, '-out', `${id}-ca.crt`, '-days', '365', '-subj', '/CN=Our CA');
  openssl('x509', '-req', '-in', `${id}.csr`, '-CA', `${id}-ca.crt`, '-CAkey', `${id}-ca.key`, '-CAcreateserial', '-out', `${id}.crt`, '-days', '365');
  await region.call('InitializeCluster', {
    ClusterId: id,
    SignedCert: readFileSync(join(dir, `${id}.crt`), 'utf8'),
    TrustAnchor: readFileSync(join(dir, `${id}-ca.crt`), 'utf8'),
  });
  await region.clusters.asUser(id, { type: 'PRECO', name: 'admin', password: 'password' }, (contents, admin) => {
    changePassword(contents, admin, 'admin', 'officer-pass-1');
    const user = createUser(contents, admin, 'CU', owner, 'user-pass-1');
    for (let i = 0; i < keys; i++) generateSymmetricKey(contents, user, { type: 31, bytes: 32, label: `key-${i}` });
  });
  for (const zone of zones.slice(1)) await region.call('CreateHsm', { ClusterId: id, AvailabilityZone: zone });
  return id;
}
