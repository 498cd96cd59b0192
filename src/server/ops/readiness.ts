import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { CryptoUnit } from '../../cryptounits/index.ts';
import type { Store } from '../../store/index.ts';

/** How long each probe may take before it counts as failed: a load balancer's probe must not hang. */
export const PROBE_TIMEOUT_MS = 2000;

export interface CheckResult {
  ok: boolean;
  /** Why not, safe to show anyone who can reach /readyz: no hosts, no causes. */
  reason?: string;
  ms: number;
}

export interface ReadinessReport {
  status: 'ready' | 'not ready';
  region: string;
  /** What makes the node not ready, one line each; empty when ready. */
  reasons: string[];
  checks: {
    store: CheckResult;
    masterKey: CheckResult;
    /** Reachability of each peer region: a detail, which never makes the node unready. */
    peers: Record<string, CheckResult>;
  };
}

export interface ReadinessOptions {
  region: string;
  store: Store;
  unit: CryptoUnit;
  peers?: Readonly<Record<string, { url: string }>>;
  log: Logger;
  timeoutMs?: number;
}

const PROBE_AAD = Buffer.from('concord readiness probe');

/**
 * Whether this node can serve: its store answers a round trip, and its crypto units hold a
 * master key that wraps and unwraps. Peers are probed too (GET /healthz), as a detail: a
 * region serves its own keys while a peer is away. Probes that overlap share one run. A
 * change of readiness is logged once, with the cause that /readyz does not show.
 */
export class Readiness {
  private running: Promise<ReadinessReport> | undefined;
  private wasReady: boolean | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: ReadinessOptions) {
    this.timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  }

  check(): Promise<ReadinessReport> {
    this.running ??= this.probe().finally(() => (this.running = undefined));
    return this.running;
  }

  private async probe(): Promise<ReadinessReport> {
    const { region, store, unit, peers = {} } = this.options;
    const causes: string[] = [];
    const [storeCheck, masterKey, ...peerChecks] = await Promise.all([
      this.timed('the store is unreachable', causes, () => store.now()),
      this.timed('no usable master key', causes, async () => {
        const probe = randomBytes(32);
        const back = await unit.unwrap(await unit.wrap(probe, PROBE_AAD), PROBE_AAD);
        if (!timingSafeEqual(back, probe)) throw new Error('the master key did not unwrap what it wrapped');
      }),
      ...Object.values(peers).map(({ url }) =>
        this.timed('unreachable', [], async () => {
          const response = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(this.timeoutMs) });
          await response.body?.cancel();
          if (!response.ok) throw new Error(`answered ${response.status}`);
        }),
      ),
    ]);
    const reasons = [...(storeCheck.ok ? [] : ['the store is unreachable']), ...(masterKey.ok ? [] : ['the region has no usable master key'])];
    const ready = reasons.length === 0;
    if (ready !== this.wasReady) {
      if (ready) this.options.log.info('ready');
      else this.options.log.warn({ reasons, causes }, 'not ready');
      this.wasReady = ready;
    }
    return {
      status: ready ? 'ready' : 'not ready',
      region,
      reasons,
      checks: { store: storeCheck, masterKey, peers: Object.fromEntries(Object.keys(peers).map((name, i) => [name, peerChecks[i]!])) },
    };
  }

  /** Runs a probe against the timeout; a failure gives `reason`, and its cause goes to `causes` for the log. */
  private async timed(reason: string, causes: string[], probe: () => Promise<unknown>): Promise<CheckResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    try {
      await Promise.race([probe(), timeout]);
      return { ok: true, ms: elapsed(started) };
    } catch (error) {
      causes.push((error as Error).message);
      return { ok: false, reason, ms: elapsed(started) };
    } finally {
      clearTimeout(timer);
    }
  }
}

const elapsed = (started: number): number => Math.round((performance.now() - started) * 10) / 10;
