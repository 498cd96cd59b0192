import { AsyncLocalStorage } from 'node:async_hooks';
import type { Store } from '../store/index.ts';

/** The region-wide revision of its crypto units, raised by every change a node makes to one. */
const REVISION_KEY = 'cryptounits/revision';
const CHECK_INTERVAL_MS = 1000;

/**
 * Runs work as the only writer of the region's crypto units, after taking in what other nodes
 * changed; work already running so (a region setting its units up as it starts) just goes on.
 */
export type Exclusive = <T>(work: () => Promise<T>) => Promise<T>;

interface Reloadable {
  reload(): Promise<void>;
}

/**
 * Keeps the nodes of a region that share one store, and the units' vaults (one token, one
 * directory), in step. The units' state and secrets stay in their vaults; the store holds
 * only a revision number. Every change runs while holding the revision's row, after reloading
 * the units if another node raised it, and raises it; so changes on two nodes are serialized
 * and never made to a stale copy. Each node checks the revision every second, and at once
 * when a master key it does not hold is asked for, and reloads its units when it moved.
 */
export class UnitSync {
  private seen: string | undefined;
  private units: readonly Reloadable[] = [];
  private checking: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly holding = new AsyncLocalStorage<true>();

  constructor(private readonly store: Store) {}

  readonly exclusive: Exclusive = (work) => (this.holding.getStore() ? work() : this.locked(work, true));

  /** Starts checking for other nodes' changes to these units. */
  watch(units: readonly Reloadable[]): void {
    this.units = units;
    this.timer = setInterval(() => {
      this.check().catch(() => undefined);
    }, CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * Reloads the units if another node changed one since this node last looked. A check under
   * way may have read the revision before the change a caller is after, so callers arriving
   * meanwhile share one check that starts when it ends.
   */
  check(): Promise<void> {
    if (!this.checking) return this.startCheck();
    this.queued ??= this.checking
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.startCheck();
      });
    return this.queued;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private startCheck(): Promise<void> {
    const run = this.checkNow().finally(() => {
      if (this.checking === run) this.checking = undefined;
    });
    this.checking = run;
    return run;
  }

  private async checkNow(): Promise<void> {
    if (((await this.store.get(REVISION_KEY)) ?? '0') !== this.seen) await this.locked(() => Promise.resolve(), false);
  }

  private async locked<T>(work: () => Promise<T>, changes: boolean): Promise<T> {
    let outcome: { value: T } | { error: unknown } | undefined;
    this.seen = await this.store.transaction(async (tx) => {
      const latest = (await tx.getForUpdate(REVISION_KEY)) ?? '0';
      if (latest !== this.seen) for (const unit of this.units) await unit.reload();
      try {
        outcome = { value: await this.holding.run(true, work) };
      } catch (error) {
        outcome = { error };
      } finally {
        // An enabled AsyncLocalStorage keeps promise hooks installed that tax every promise of
        // every request (about a tenth of Encrypt's server time); the next run enables it again.
        // Nothing started by the work still counts as holding the units once it is done.
        this.holding.disable();
      }
      if (!changes) return latest;
      // Raised even when the work failed: a refused command may still have touched the vault.
      const next = String(Number(latest) + 1);
      tx.put(REVISION_KEY, next);
      return next;
    });
    if (!outcome || 'error' in outcome) throw outcome?.error;
    return outcome.value;
  }
}
