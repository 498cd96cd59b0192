import { setImmediate } from 'node:timers/promises';
import type { Logger } from 'pino';
import { StoreConflictError, timeIndexTime, type Store } from '../store/index.ts';
import {
  appendEvents,
  AUDIT_KEYS,
  checkpointBytes,
  eventKey,
  GENESIS_HASH,
  indexedBatch,
  parseChained,
  readHead,
  signedHeadBytes,
  signedHeadKey,
  type Checkpoint,
  type SignedHead,
} from './audit-chain.ts';
import type { AuditedRequest } from './audit-sources.ts';
import { buildAuditEvent, type AuditScope } from './build-audit-event.ts';
import { PendingEvents } from './pending-events.ts';

/** Signs with the region's identity key (P-256, SHA-256), answering base64. */
export interface AuditSigner {
  sign(data: Buffer): string;
}

export interface AuditTrailOptions {
  store: Store;
  scope: AuditScope;
  /** The region's identity; without one (PostgreSQL without identity.path) heads are not signed. */
  signer?: AuditSigner | undefined;
  log: Logger;
  /** How often the chain's head is signed. */
  signIntervalMs: number;
  /** How long events are kept. */
  retentionDays: number;
}

/** Buffered events are written at least this often: a crash loses at most this much of them. */
export const FLUSH_INTERVAL_MS = 1000;
/** Events kept in memory while the store is unreachable; past this the oldest are dropped (and the loss logged). */
const MAX_PENDING = 100_000;
/**
 * Events per transaction. A busy second's events written at once held the event loop (the
 * SQLite driver is synchronous) for 44 ms of CPU and up to 180 ms of wall clock at 3,000 events;
 * a batch this size takes about 5 ms, and requests run between batches. Not smaller: each
 * transaction's commit waits for an fsync on the event loop too (2 to 17 ms on a loaded VM), so
 * at 256 a second's several commits cost more waiting than they saved.
 */
const BATCH = 1024;
const PURGE_PAGE = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A region's audit trail: every request of every audited surface becomes an event, appended to
 * the region's one hash chain in the store. A successful change is in the store before its
 * request is answered; reads, cryptographic operations and refusals are buffered and written
 * together at least every second, in one transaction, and at a clean stop. The chain's head is
 * signed with the region's identity key at intervals and at a clean stop, and events older than
 * the retention are purged behind a signed checkpoint.
 */
export class AuditTrail {
  private readonly pending = new PendingEvents();
  private writing: Promise<void> = Promise.resolve();
  private nextWrite: Promise<void> | undefined;
  private dropped = 0;
  private readonly timers: NodeJS.Timeout[] = [];

  private constructor(private readonly options: AuditTrailOptions) {}

  /** Opens the trail and starts its flush and signing timers. */
  static async open(options: AuditTrailOptions): Promise<AuditTrail> {
    const trail = new AuditTrail(options);
    // The head row exists before the first append, so that appenders always find a row to lock.
    await options.store
      .transaction(async (tx) => {
        if ((await tx.getForUpdate(AUDIT_KEYS.head)) === undefined) await tx.create(AUDIT_KEYS.head, JSON.stringify({ seq: 0, hash: GENESIS_HASH }));
      })
      .catch((error: unknown) => {
        if (!(error instanceof StoreConflictError)) throw error;
      });
    const every = (ms: number, work: () => Promise<unknown>, what: string): void => {
      const timer = setInterval(() => {
        work().catch((error: unknown) => {
          options.log.error({ err: error }, what);
        });
      }, ms);
      timer.unref();
      trail.timers.push(timer);
    };
    every(FLUSH_INTERVAL_MS, () => trail.flush(), 'audit events not written; retried at the next flush');
    every(options.signIntervalMs, () => trail.signHead(), 'audit chain head not signed');
    return trail;
  }

  /**
   * Records a request's event. Answers a promise when the request must wait for it (a
   * successful change: answered only once its event is in the store), nothing otherwise.
   */
  record(request: AuditedRequest): Promise<void> | undefined {
    const built = buildAuditEvent(request, this.options.scope);
    if (!built) return undefined;
    if (this.pending.length >= MAX_PENDING) {
      this.pending.dropOldest();
      if (this.dropped++ === 0) this.options.log.error({ limit: MAX_PENDING }, 'audit events dropped: the store has not taken them for too long');
    }
    this.pending.push(request.time, built.json);
    if (built.durable) return this.flush();
    // A full batch is written now, not at the next tick: the tick's write stays one batch long.
    if (this.pending.length === BATCH && !this.nextWrite) this.flush().catch(this.flushFailed);
    return undefined;
  }

  private readonly flushFailed = (error: unknown): void => {
    this.options.log.error({ err: error }, 'audit events not written; retried at the next flush');
  };

  /**
   * Writes every buffered event, after any write under way, in transactions of at most BATCH
   * events with the event loop free between them; concurrent callers share one write.
   */
  flush(): Promise<void> {
    if (!this.nextWrite) {
      const next = this.writing.then(() => {
        this.nextWrite = undefined;
        return this.write(this.pending.length);
      });
      this.nextWrite = next;
      this.writing = next.catch(() => undefined);
    }
    return this.nextWrite;
  }

  /** Writes the oldest `count` buffered events; those recorded meanwhile are the next write's. */
  private async write(count: number): Promise<void> {
    for (let left = count; left > 0;) {
      if (left < count) await setImmediate();
      const { events, through } = this.pending.peek(Math.min(left, BATCH));
      // Fewer when the oldest were dropped meanwhile (the store refused them for too long).
      if (events.length === 0) return;
      left -= events.length;
      // Should the write fail, the events stay buffered for the next flush.
      const head = await this.options.store.transaction((tx) => appendEvents(tx, events));
      this.pending.removeThrough(through);
      this.options.log.debug({ seq: head.seq, events: events.length }, 'audit events appended');
      if (this.dropped > 0) {
        this.options.log.error({ dropped: this.dropped }, 'audit events were dropped while the store was unreachable');
        this.dropped = 0;
      }
    }
  }

  /** Signs the chain's head with the region's identity key, unless it is signed already; logs it, so a copy lives outside the store. */
  async signHead(): Promise<void> {
    const { signer, store, scope, log } = this.options;
    if (!signer) return;
    const head = await readHead(store);
    if (head.seq === 0 || (await store.get(signedHeadKey(head.seq))) !== undefined) return;
    const signedAt = await store.now();
    const signed: SignedHead = { ...head, signedAt, signature: signer.sign(signedHeadBytes(scope.region, head, signedAt)) };
    await store.transaction((tx) => {
      tx.put(signedHeadKey(head.seq), JSON.stringify(signed));
    });
    log.info({ auditHead: signed }, 'audit chain head signed');
  }

  /**
   * Purges events older than the retention from the oldest, through the time index: only an
   * unbroken run from the chain's start (or the last checkpoint), so the chain stays verifiable
   * from the new checkpoint, which records (signed) the hash of the last event purged.
   */
  async purge(): Promise<number> {
    const { store, signer, scope } = this.options;
    const before = (await store.now()) - this.options.retentionDays * DAY_MS;
    let purged = 0;
    for (;;) {
      const page = await store.list(`${AUDIT_KEYS.timeIndex}/`, { limit: PURGE_PAGE });
      const due = page.filter((entry) => timeIndexTime(entry.key) < before);
      const batches = due.map((entry) => ({ entry: entry.key, ...indexedBatch(entry) })).sort((a, b) => a.firstSeq - b.firstSeq);
      const removed = await store.transaction(async (tx) => {
        const value = await tx.getForUpdate(AUDIT_KEYS.checkpoint);
        const checkpoint = value === undefined ? { seq: 0, hash: GENESIS_HASH } : (JSON.parse(value) as Checkpoint);
        let { seq, hash } = checkpoint;
        let batchesRemoved = 0;
        for (const batch of batches) {
          if (batch.firstSeq !== seq + 1) break;
          const last = await tx.get(eventKey(batch.lastSeq));
          if (last === undefined) break;
          for (let gone = batch.firstSeq; gone <= batch.lastSeq; gone += 1) tx.delete(eventKey(gone));
          tx.delete(batch.entry);
          seq = batch.lastSeq;
          hash = parseChained(last).hash;
          batchesRemoved += 1;
        }
        if (seq === checkpoint.seq) return { batches: 0, events: 0 };
        // The oldest signed heads a page at a time: those covered by the checkpoint mean nothing any more.
        for (const { key } of await tx.list(AUDIT_KEYS.signedHeads, { limit: PURGE_PAGE })) if (key <= signedHeadKey(seq)) tx.delete(key);
        const next: Checkpoint = { seq, hash, purgedBefore: before };
        if (signer) next.signature = signer.sign(checkpointBytes(scope.region, next));
        tx.put(AUDIT_KEYS.checkpoint, JSON.stringify(next));
        return { batches: batchesRemoved, events: seq - checkpoint.seq };
      });
      purged += removed.events;
      if (removed.batches < batches.length || page.length < PURGE_PAGE || removed.batches === 0) return purged;
    }
  }

  /** Stops the timers, writes what is buffered and signs the head: the trail of a clean stop is whole and signed. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.flush();
    await this.signHead();
  }
}
