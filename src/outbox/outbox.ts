import type { Logger } from 'pino';
import type { Store, Transaction } from '../store/index.ts';

/** A change a peer region must learn of, written in the same transaction as the change itself. */
export interface OutboxMessage {
  /** sync: send the key's current multi-Region state; replica-deleted: tell the primary this region's replica is gone. */
  kind: 'sync' | 'replica-deleted';
  keyId: string;
  target: string;
}

export interface OutboxEntry extends OutboxMessage {
  seq: number;
}

/** What a delivery achieved: done, or the message belongs to another region (the primary moved). */
export type DeliveryResult = { done: true } | { retarget: string };

const SEQ_KEY = 'region/outbox-seq';
const PREFIX = 'outbox/';
const FIRST_RETRY_MS = 100;
/** How often the lock holder looks for messages other nodes wrote, and the others for a lock left free. */
const POLL_MS = 1000;
const MAX_RETRY_MS = 10_000;
const BATCH = 1000;

const entryPath = (seq: number): string => `${PREFIX}${String(seq).padStart(15, '0')}`;

export async function enqueue(tx: Transaction, message: OutboxMessage): Promise<void> {
  const seq = Number((await tx.getForUpdate(SEQ_KEY)) ?? 0) + 1;
  tx.put(SEQ_KEY, String(seq));
  tx.put(entryPath(seq), JSON.stringify({ ...message, seq }));
}

/** The background job, and the store's exclusive lock, under which a region delivers its outbox. */
export const REPLICATION_JOB = 'multi-Region replication';

/**
 * Delivers outbox messages in sequence order per target region, right after the commit that
 * wrote them and again with exponential backoff while a target is unreachable. A message is
 * removed only once the target acknowledged it, so a restart loses nothing; receivers apply
 * only what is newer than what they hold, so a repeated delivery changes nothing. Of the nodes
 * sharing a store only the holder of the REPLICATION_JOB lock delivers, so messages for one key
 * leave in order and once; what another node writes waits for the holder's next look (each second).
 */
export class Outbox {
  private running: Promise<number> | undefined;
  private kicked: Promise<void> = Promise.resolve();
  private again = false;
  private closed = false;
  private readonly failures = new Map<string, number>();
  private readonly retryAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly poll: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly deliver: (entry: OutboxEntry) => Promise<DeliveryResult>,
    private readonly log: Logger,
  ) {
    this.poll = setInterval(() => this.kick(), POLL_MS);
    this.poll.unref();
  }

  /** Starts a delivery pass now, or right after the one under way, if this node is the region's deliverer. */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.kicked = this.store
      .runExclusive(REPLICATION_JOB, async () => {
        if (!this.closed) await this.run();
      })
      .then(
        (ran) => {
          if (!ran) this.log.debug('replication outbox left to the node delivering it');
        },
        (error: unknown) => this.log.error({ err: error }, 'replication outbox pass failed'),
      );
  }

  /** One delivery pass over everything due; returns how many messages were delivered. */
  run(): Promise<number> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poll);
    clearTimeout(this.timer);
    await this.kicked;
    await this.running;
  }

  private async pass(): Promise<number> {
    const entries = (await this.store.list(PREFIX, { limit: BATCH })).map((e) => ({ path: e.key, entry: JSON.parse(e.value) as OutboxEntry }));
    for (const target of [...this.retryAt.keys()]) {
      if (!entries.some(({ entry }) => entry.target === target)) this.forgetFailures(target);
    }
    const now = Date.now();
    const blocked = new Set([...this.retryAt].filter(([, at]) => at > now).map(([target]) => target));
    const done = new Set<string>();
    let delivered = 0;
    for (const { path, entry } of entries) {
      if (this.closed || blocked.has(entry.target) || done.has(path)) continue;
      try {
        const result = await this.deliver(entry);
        if ('retarget' in result) {
          await this.store.transaction(async (tx) => tx.put(path, JSON.stringify({ ...entry, target: result.retarget })));
          this.again = true;
          continue;
        }
        // A sync sends the key's state as of now, which covers every sync for that key and target queued so far.
        const covered = entries.filter(
          (other) => other.path >= path && other.entry.kind === 'sync' && entry.kind === 'sync' && other.entry.keyId === entry.keyId && other.entry.target === entry.target,
        );
        await this.store.transaction(async (tx) => {
          tx.delete(path);
          for (const other of covered) tx.delete(other.path);
        });
        covered.forEach((other) => done.add(other.path));
        delivered += 1;
        this.forgetFailures(entry.target);
      } catch (error) {
        blocked.add(entry.target);
        const failures = (this.failures.get(entry.target) ?? 0) + 1;
        this.failures.set(entry.target, failures);
        const delay = Math.min(FIRST_RETRY_MS * 2 ** (failures - 1), MAX_RETRY_MS);
        this.retryAt.set(entry.target, Date.now() + delay);
        this.log.warn({ target: entry.target, keyId: entry.keyId, kind: entry.kind, failures, retryInMs: delay, reason: (error as Error).message }, 'replication delivery failed');
      }
    }
    if (entries.length === BATCH && delivered > 0) this.again = true;
    this.scheduleRetry();
    return delivered;
  }

  private forgetFailures(target: string): void {
    this.failures.delete(target);
    this.retryAt.delete(target);
  }

  private scheduleRetry(): void {
    clearTimeout(this.timer);
    if (this.closed || this.retryAt.size === 0) return;
    const wait = Math.max(0, Math.min(...this.retryAt.values()) - Date.now());
    this.timer = setTimeout(() => this.kick(), wait);
    this.timer.unref();
  }
}
