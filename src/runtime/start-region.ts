import type { Logger } from 'pino';
import { AuditTrail } from '../audit/index.ts';
import { ConfigError, type RegionConfig } from '../config/index.ts';
import { IamTokens } from '../iam/index.ts';
import { KeyProtectService } from '../keyprotect/index.ts';
import { CloudHsmService, HsmShell, KmsKeyStoreClusters } from '../hsm/index.ts';
import { KeyService, prefillKeyPairs } from '../kms/index.ts';
import { MultiRegionKeys, REPLICATION_JOB, RegionIdentity, ReplicationBacklog } from '../regions/index.ts';
import { Outbox, OUTBOX_JOB } from '../outbox/index.ts';
import { buildRegionServer, SessionStore } from '../server/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { Uko } from '../uko/index.ts';
import { openRegionCryptoUnits, warnWithoutMasterKey } from './region-crypto-units.ts';
import { listenFailure, storeFailure } from './startup-error.ts';

/** AWS's default MaxSessionDuration of a role, in seconds. */
const DEFAULT_MAX_SESSION_DURATION = 3600;

export interface RunningRegion {
  region: string;
  url: string;
  close(): Promise<void>;
}

/** The part this process plays among the worker processes serving the region. */
export interface ProcessRole {
  /** Whether other processes of this host serve the region too, on the same SQLite file. */
  shared: boolean;
  /** Whether this process runs the region's background work where the store leaves that to the processes (SQLite). */
  backgroundWork: boolean;
}

const ALONE: ProcessRole = { shared: false, backgroundWork: true };

/** Opens a region's store and crypto unit, serves its API, and runs its background work. */
export async function startRegion(config: Readonly<RegionConfig>, logger: Logger, role: ProcessRole = ALONE): Promise<RunningRegion> {
  const log = logger.child({ region: config.region });
  const store = await openStore(config.store, role).catch((error: unknown) => {
    throw storeFailure(config.region, config.store, error);
  });
  const cryptoUnits = await openRegionCryptoUnits(config, store, log);
  const unit = cryptoUnits.unit;
  const outbox = new Outbox(store, log, { concurrency: config.outbox?.concurrency });
  const identity = config.identity && RegionIdentity.openOrInit(config.identity.path);
  const multiRegion = identity ? new MultiRegionKeys({ region: config.region, store, identity, peers: config.peers, outbox, logger: log }) : undefined;
  const audit = await AuditTrail.open({
    store,
    scope: { region: config.region, account: config.account },
    signer: identity,
    log,
    signIntervalMs: config.audit.signIntervalSeconds * 1000,
    retentionDays: config.audit.retentionDays,
  });
  const cloudHsm = new CloudHsmService({
    region: config.region,
    account: config.account,
    store,
    unit,
    backupIntervalMs: config.hsmBackupIntervalMs,
    copier: multiRegion?.backupCopies,
    vault: cryptoUnits.hsmVault,
  });
  const service = new KeyService({
    region: config.region,
    account: config.account,
    store,
    unit,
    principals: accountPrincipals(config),
    importedMaterialBinder: multiRegion?.importedMaterialBinder,
    moreOperations: multiRegion?.operations,
    cloudHsmClusters: new KmsKeyStoreClusters(cloudHsm),
  });
  if (multiRegion) service.events.subscribe(multiRegion.subscriber);
  const keyProtect = new KeyProtectService({
    service,
    outbox,
    log,
    signer: config.identity && RegionIdentity.openOrInit(config.identity.path),
    webhooks: config.keyProtect?.webhooks,
    syncIntervalMs: seconds(config.keyProtect?.syncIntervalSeconds),
    rotationMonthMs: seconds(config.keyProtect?.rotationMonthSeconds),
    minRotationIntervalMs: seconds(config.keyProtect?.minRotationIntervalSeconds),
  });
  service.events.subscribe(keyProtect.subscriber);
  await service.upgradeStoredData();
  await multiRegion?.upgradeStoredData();
  multiRegion?.backupCopies.attach(cloudHsm);
  const hsmShell = new HsmShell(cloudHsm, store);
  const sessions = new SessionStore(store, unit);
  const uko = new Uko({ store, unit, outbox, pkcs11Modules: config.uko?.pkcs11Modules });
  const iam = new IamTokens({ store, unit, region: config.region, account: config.account });
  for (const key of config.apiKeys ?? []) await iam.apiKeys.ensure({ principal: key.principal, name: key.name }, key.apikey, 'configuration');
  const backlog = multiRegion && new ReplicationBacklog(store);
  const app = buildRegionServer({
    service,
    accessKeys: config.accessKeys,
    logger: log,
    mgmt: { ...cryptoUnits.mgmt, authorize: service.authorizeManagement },
    peerApi: multiRegion?.peerApi,
    cloudhsm: { service: cloudHsm, authorize: service.authorizeCloudHsm },
    hsmShell: { shell: hsmShell },
    peers: config.peers,
    sts: {
      sessions,
      roles: config.principals
        .filter((p) => p.trustPolicy !== undefined)
        .map((p) => ({ arn: p.arn, maxSessionDuration: p.maxSessionDuration ?? DEFAULT_MAX_SESSION_DURATION })),
    },
    iam,
    keyProtect,
    uko: { uko, authenticate: (authorization) => iam.authenticate(authorization), authorize: service.authorizeUko },
    replicationBacklog: backlog && (() => backlog.read()),
    metrics: metricsAccess(config),
    // Off only to measure the trail's cost; the trail stays open so that retention still purges.
    audit: config.audit.enabled ? audit : undefined,
  });
  if (!config.audit.enabled) log.warn('the audit trail is off (audit.enabled: false): requests are not recorded');
  const url = await app.listen({ host: config.listen.host, port: config.listen.port }).catch((error: unknown) => {
    throw listenFailure(config.region, config.listen, error);
  });
  warnWithoutMasterKey(cryptoUnits, url, log);
  // Once listening, so that generating the pairs does not delay the start.
  prefillKeyPairs(config.keyPairPool.prefill, config.keyPairPool.size);
  // Messages left undelivered by an earlier run go out now, not at the first background tick.
  outbox.kick();

  /**
   * Periodic work of the region; each job runs after the previous one, never two at once,
   * and on one node of the region only (the store decides which).
   */
  const jobs: { name: string; run: () => Promise<unknown> }[] = [
    { name: 'deletion sweeper', run: () => service.sweep() },
    { name: 'automatic key rotation', run: () => service.rotateDueKeys() },
    { name: 'imported material expiry', run: () => service.expireImportedMaterial() },
    { name: 'key protect rotation policies', run: () => keyProtect.policies.rotateDueKeys() },
    { name: OUTBOX_JOB, run: () => outbox.run() },
    { name: 'expired session cleanup', run: () => sessions.sweep() },
    { name: 'audit retention', run: () => audit.purge() },
    { name: 'uko verifier', run: () => uko.verifyDue() },
    { name: 'HSM cluster backups', run: () => cloudHsm.runBackground() },
    { name: 'HSM shell session expiry', run: () => hsmShell.purgeSessions() },
    ...(multiRegion ? [{ name: REPLICATION_JOB, run: () => multiRegion.runBackground() }] : []),
  ];
  let background = Promise.resolve();
  const timer = setInterval(() => {
    for (const job of jobs) {
      background = background
        .then(() =>
          store.runExclusive(job.name, async () => {
            log.debug({ job: job.name, result: await job.run() }, 'background job done');
          }),
        )
        .then(
          (ran) => {
            if (!ran) log.debug({ job: job.name }, 'background job left to another node');
          },
          (error: unknown) => {
            log.error({ err: error, job: job.name }, 'background job failed');
          },
        );
    }
  }, config.backgroundIntervalMs);
  timer.unref();

  return {
    region: config.region,
    url,
    async close() {
      clearInterval(timer);
      // Fastify stops accepting, answers requests already begun, then closes.
      await app.close();
      await audit.close();
      await drainOutbox(outbox, store, log);
      await outbox.close();
      await background;
      await cryptoUnits.close();
      await store.close();
    },
  };
}

/** How long a stopping region goes on delivering its outbox before it leaves the rest for its next start. */
const OUTBOX_DRAIN_MS = 5000;

/**
 * Delivers what the last requests queued before the region stops, on the node that delivers
 * for the region, within OUTBOX_DRAIN_MS: the pass under way may have begun before the last
 * request ended, so a second pass follows it. Whatever is left (a peer down, the time up) stays
 * in the store for the next start.
 */
async function drainOutbox(outbox: Outbox, store: Store, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, OUTBOX_DRAIN_MS);
  });
  const drained = store.runExclusive(OUTBOX_JOB, async () => {
    await outbox.run();
    await outbox.run();
  });
  try {
    await Promise.race([drained, deadline]);
  } catch (error) {
    log.warn({ err: error }, 'outbox not drained before stopping; it is delivered at the next start');
  } finally {
    clearTimeout(timer);
  }
}

/** Who may read /metrics, the bearer token read from the environment when the configuration names a variable. */
function metricsAccess({ metrics }: Readonly<RegionConfig>): { listen?: { host: string; port: number }; bearerToken?: string } {
  if (!metrics) return {};
  const bearerToken = metrics.bearerTokenEnv === undefined ? metrics.bearerToken : process.env[metrics.bearerTokenEnv];
  if (metrics.bearerTokenEnv !== undefined && (bearerToken ?? '').length < 16) {
    throw new ConfigError(
      `the metrics bearer token is to be in the environment variable ${metrics.bearerTokenEnv}, at least 16 characters long, which it is not`,
    );
  }
  return { ...(metrics.listen ? { listen: metrics.listen } : {}), ...(bearerToken ? { bearerToken } : {}) };
}

/** A setting in seconds as milliseconds, absent when unset. */
const seconds = (value: number | undefined): number | undefined => (value === undefined ? undefined : value * 1000);

/** The principals policies may name: those declared with identity policies, and every access key's owner. */
const accountPrincipals = (config: Readonly<RegionConfig>) => [...config.principals, ...config.accessKeys.map((key) => ({ arn: key.principal }))];
