import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { REGISTER_NAMES, type ManagedCryptoUnit, type RegisterState } from '../../cryptounits/index.ts';
import { countKeysByState, keyPairPoolStats } from '../../kms/index.ts';
import type { PeerBacklog } from '../../regions/index.ts';
import type { Reader } from '../../store/index.ts';
import { ClusterMetrics } from './cluster-metrics.ts';
import { PROBE_TIMEOUT_MS, type Readiness } from './readiness.ts';
import { RequestStats } from './request-stats.ts';

export interface MetricSources {
  region: string;
  readiness: Readiness;
  store: Reader;
  /** The region's crypto units, whose mode and master key registers are shown. */
  units?: () => readonly ManagedCryptoUnit[];
  /** The replication outbox per peer; peers with nothing waiting may be left out. */
  replicationBacklog?: () => Promise<PeerBacklog[]>;
  /** The configured peer regions, shown even with nothing waiting for them. */
  peers?: readonly string[];
}

/** Keys are counted at most this often: a scrape reads every key record. */
const KEY_COUNT_TTL_MS = 30_000;
const REGISTER_STATES: readonly RegisterState[] = ['empty', 'full-uncommitted', 'full-committed', 'valid'];
const UNIT_MODES = ['imprint', 'normal'] as const;

/**
 * A region's Prometheus metrics. Requests are counted and timed as they end (RequestStats);
 * everything else is read when scraped: readiness probes (store latency and availability,
 * master key, peers), crypto unit states, the replication outbox, keys by state (cached), and
 * the RSA key pair pool. Nothing here holds key material, plaintext or secrets: labels are
 * surface, operation and error names, unit and peer names, states and key specs.
 * With several worker processes a scrape merges them all (ClusterMetrics): counters and the
 * key pair pool, which are per process, add up; gauges about the region (readiness, the store,
 * units, outbox, keys) are what the workers see, combined by min or max, never summed.
 */
export class RegionMetrics {
  readonly registry = new Registry();
  private readonly requests: RequestStats;
  private readonly cluster: ClusterMetrics;
  private keyCount: { at: number; counts: Promise<Partial<Record<string, number>>> } | undefined;

  constructor(private readonly sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new RequestStats(this.registry);
    this.cluster = new ClusterMetrics(sources.region, this.registry);

    const readiness = () => sources.readiness.check();
    new Gauge({
      name: 'concord_ready',
      aggregator: 'min',
      help: '1 when the node is ready to serve (store reachable, master key usable), as /readyz says',
      registers,
      async collect() {
        this.set((await readiness()).status === 'ready' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'concord_store_up',
      aggregator: 'min',
      help: '1 when the store answered a round trip within the probe timeout',
      registers,
      async collect() {
        this.set((await readiness()).checks.store.ok ? 1 : 0);
      },
    });
    new Gauge({
      name: 'concord_store_probe_seconds',
      aggregator: 'max',
      help: 'How long the store took to answer the probe round trip (or to fail it)',
      registers,
      async collect() {
        this.set((await readiness()).checks.store.ms / 1000);
      },
    });
    new Gauge({
      name: 'concord_master_key_usable',
      aggregator: 'min',
      help: "1 when the region's operational crypto units wrap and unwrap under a master key",
      registers,
      async collect() {
        this.set((await readiness()).checks.masterKey.ok ? 1 : 0);
      },
    });
    new Gauge({
      name: 'concord_peer_up',
      aggregator: 'min',
      help: '1 when the peer region answered GET /healthz within the probe timeout',
      labelNames: ['peer'],
      registers,
      async collect() {
        this.reset();
        for (const [peer, check] of Object.entries((await readiness()).checks.peers)) this.set({ peer }, check.ok ? 1 : 0);
      },
    });

    new Gauge({
      name: 'concord_crypto_unit_mode',
      aggregator: 'max',
      help: '1 for the mode each crypto unit is in, 0 for the others',
      labelNames: ['unit', 'role', 'mode'],
      registers,
      collect() {
        this.reset();
        for (const unit of sources.units?.() ?? []) {
          const { mode } = unit.info();
          for (const each of UNIT_MODES) this.set({ unit: unit.id, role: unit.role, mode: each }, each === mode ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'concord_master_key_register',
      aggregator: 'max',
      help: '1 for the state each master key register of each crypto unit is in, 0 for the others',
      labelNames: ['unit', 'register', 'state'],
      registers,
      collect() {
        this.reset();
        for (const unit of sources.units?.() ?? []) {
          for (const register of REGISTER_NAMES) {
            const { state } = unit.register(register);
            for (const each of REGISTER_STATES) this.set({ unit: unit.id, register, state: each }, each === state ? 1 : 0);
          }
        }
      },
    });

    const backlog = async () => {
      const waiting = new Map((await orNothing(sources.replicationBacklog?.()))?.map((b) => [b.peer, b]) ?? []);
      return [...new Set([...(sources.peers ?? []), ...waiting.keys()])].map((peer) => waiting.get(peer) ?? { peer, messages: 0, oldestWaitMs: 0 });
    };
    if (sources.replicationBacklog) {
      new Gauge({
        name: 'concord_replication_outbox_messages',
        aggregator: 'max',
        help: 'Replication messages waiting in the outbox, per peer region',
        labelNames: ['peer'],
        registers,
        async collect() {
          this.reset();
          for (const { peer, messages } of await backlog()) this.set({ peer }, messages);
        },
      });
      new Gauge({
        name: 'concord_replication_lag_seconds',
        aggregator: 'max',
        help: 'How long the oldest replication message for each peer region has waited (counted from when this node first saw it)',
        labelNames: ['peer'],
        registers,
        async collect() {
          this.reset();
          for (const { peer, oldestWaitMs } of await backlog()) this.set({ peer }, oldestWaitMs / 1000);
        },
      });
    }

    const keyCounts = () => this.keysByState();
    new Gauge({
      name: 'concord_keys',
      aggregator: 'max',
      help: `KMS keys of the region by key state (counted at most every ${KEY_COUNT_TTL_MS / 1000} s)`,
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        for (const [state, count] of Object.entries((await orNothing(keyCounts())) ?? {})) this.set({ state }, count ?? 0);
      },
    });

    new Gauge({
      name: 'concord_key_pair_pool_available',
      help: 'RSA key pairs ready in the pool of the process, per key spec',
      labelNames: ['spec'],
      registers,
      collect() {
        this.reset();
        for (const { spec, available } of keyPairPoolStats()) this.set({ spec }, available);
      },
    });
    new Counter({
      name: 'concord_key_pairs_taken_total',
      help: 'RSA key pairs handed out, from the pool or generated for a taker that found it empty',
      labelNames: ['spec', 'source'],
      registers,
      collect() {
        this.reset();
        for (const { spec, taken } of keyPairPoolStats()) {
          this.inc({ spec, source: 'pool' }, taken.pool);
          this.inc({ spec, source: 'generated' }, taken.generated);
        }
      },
    });
  }

  /** Counts and times one answered request; `error` is its error type when it failed. */
  recordRequest(surface: string, operation: string, statusCode: number, error: string | undefined, seconds: number): void {
    this.requests.record(surface, operation, statusCode, error, seconds);
  }

  /** The metrics in Prometheus' text format. */
  text(): Promise<string> {
    return this.cluster.text();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private keysByState(): Promise<Partial<Record<string, number>>> {
    const now = Date.now();
    if (!this.keyCount || now - this.keyCount.at >= KEY_COUNT_TTL_MS) {
      const counts = countKeysByState(this.sources.store);
      // A failed count is not kept: the next scrape tries again.
      counts.catch(() => (this.keyCount = undefined));
      this.keyCount = { at: now, counts };
    }
    return this.keyCount.counts;
  }
}

/**
 * What a store read gives within the probe timeout, or undefined: a store that is down or slow
 * leaves its series out of the scrape rather than failing or stalling it (concord_store_up says why).
 */
async function orNothing<T>(reading: Promise<T> | undefined): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      resolve(undefined);
    }, PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([reading, timeout]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
