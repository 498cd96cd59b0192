import type { Logger } from 'pino';
import type { Store, Transaction } from '../store/index.ts';

/** Something another party must learn of, written in the same transaction as the change it tells. */
export interface OutboxMessage<Body = unknown> {
  /** Whose message it is (multi-Region replication, webhooks, ...): each topic registers how its messages are delivered. */
  topic: string;
  /** Where it goes, in the topic's terms (a peer region, a webhook). */
  destination: string;
  /**
   * What the order is kept for within the destination (a key, say): messages of one topic,
   * destination and partition leave one at a time in sequence order, those of different
   * partitions in parallel. Without one, the destination's messages all leave in one line.
   */
  partition?: string;
  body: Body;
  /**
   * Delivering a message with a coalesce key also settles the later ones of its line (topic,
   * destination and partition) with the same key: the delivery sends the state as of now, which covers them.
   */
  coalesce?: string;
}

export interface OutboxEntry<Body = unknown> extends OutboxMessage<Body> {
  seq: number;
}

/** What a delivery achieved: done, or the message belongs to another destination (a key's primary moved). */
export type DeliveryResult = { done: true } | { retarget: string };

export type Deliver<Body = unknown> = (entry: OutboxEntry<Body>) => Promise<DeliveryResult>;

export interface OutboxOptions {
  /** How many deliveries may be under way at once, across all topics and lines (32 unless set). */
  concurrency?: number;
}

const PREFIX = 'outbox/';
const SEQ_PREFIX = 'outbox-seq/';
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 10_000;
/** How often the lock holder looks for messages other nodes wrote, and the others for a lock left free. */
const POLL_MS = 1000;
const BATCH = 1000;
/** The most entries of one topic a look reads past blocked lines, so a long backlog of a failing destination is not read whole each second. */
const MAX_SCANNED = 10 * BATCH;
export const DEFAULT_OUTBOX_CONCURRENCY = 32;
const TOPIC = /^[a-z][a-z0-9-]*$/;

/** Where a topic's messages are stored, one entry each in delivery order: readers such as metrics list this prefix. */
export const topicPrefix = (topic: string): string => `${PREFIX}${topic}/`;
const entryPath = (topic: string, seq: number): string => `${topicPrefix(topic)}${String(seq).padStart(15, '0')}`;
const lineOf = (entry: OutboxEntry): string => `${entry.topic}\n${entry.destination}\n${entry.partition ?? ''}`;

export async function enqueue(tx: Transaction, message: OutboxMessage): Promise<void> {
  if (!TOPIC.test(message.topic)) throw new Error(`outbox topic ${message.topic} is not a lowercase name`);
  const seqKey = SEQ_PREFIX + message.topic;
  const seq = Number((await tx.getForUpdate(seqKey)) ?? 0) + 1;
  tx.put(seqKey, String(seq));
  tx.put(entryPath(message.topic, seq), JSON.stringify({ ...message, seq }));
}

/**
 * How long a line waits after its `failures`-th failure in a row: exponential backoff
 * up to a ceiling, of which a random half, so that destinations failing together (a peer that
 * restarts) are not retried in step.
 */
export function retryDelay(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(FIRST_RETRY_MS * 2 ** (failures - 1), MAX_RETRY_MS);
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** The background job, and the store's exclusive lock, under which a region delivers its outbox. */
export const OUTBOX_JOB = 'outbox delivery';

interface Stored {
  path: string;
  entry: OutboxEntry;
}

/** The messages of one topic, destination and partition this process has read and not yet delivered, in sequence order. */
interface Line {
  id: string;
  topic: string;
  queue: Stored[];
  /** A message of the line is being delivered. */
  busy: boolean;
  /** The line waits in its topic's ready queue. */
  ready: boolean;
}

/**
 * Delivers outbox messages right after the commit that wrote them (`kick`) and again with
 * backoff while a line fails. A line is a topic, destination and partition: its messages leave
 * one at a time in sequence order, and up to `concurrency` lines deliver at once, taken in
 * turn from each topic, so one topic's backlog never starves another and a slow or failing
 * destination holds up only its own lines. A look at the store while deliveries are under way
 * starts what is new at once. A message is removed only once delivered (the removals of
 * deliveries finished together share one transaction), so a restart, even kill -9, loses
 * nothing; deliverers must make a repeated delivery harmless. Of the nodes sharing a store
 * only the holder of the OUTBOX_JOB lock delivers, so messages leave in order and once; what
 * another node writes waits for the holder's next look (each second). A topic's messages wait,
 * kept, while no deliverer is registered for it.
 */
export class Outbox {
  private readonly topics = new Map<string, Deliver>();
  private readonly concurrency: number;
  private running: Promise<number> | undefined;
  private kicked: Promise<void> = Promise.resolve();
  private again = false;
  private closed = false;
  /** Per line. */
  private readonly failures = new Map<string, number>();
  private readonly retryAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly poll: NodeJS.Timeout;

  private readonly lines = new Map<string, Line>();
  /** Lines with a message to deliver and none under way, per topic, taken from the topics in turn. */
  private readonly ready = new Map<string, Line[]>();
  private turn = 0;
  private inFlight = 0;
  private delivered = 0;
  /** Paths of messages queued in a line, being delivered, or delivered and not yet removed: a look at the store skips them. */
  private readonly known = new Set<string>();
  /** Paths removed or rewritten since the last look began: forgotten by `known` when the next one begins, as it reads the store after. */
  private released: string[] = [];
  private readonly removals: string[] = [];
  private removing: Promise<void> | undefined;
  /** Wakes the pass waiting for a delivery to end or a kick; `woken` counts the wake-ups, so one that comes before the pass waits is not lost. */
  private wake: (() => void) | undefined;
  private woken = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    options: OutboxOptions = {},
  ) {
    this.concurrency = options.concurrency ?? DEFAULT_OUTBOX_CONCURRENCY;
    this.poll = setInterval(() => {
      this.kick();
    }, POLL_MS);
    this.poll.unref();
  }

  /** How messages of `topic` are delivered; the module that writes them registers it once. */
  register<Body>(topic: string, deliver: Deliver<Body>): void {
    if (!TOPIC.test(topic)) throw new Error(`outbox topic ${topic} is not a lowercase name`);
    if (this.topics.has(topic)) throw new Error(`outbox topic ${topic} is registered already`);
    this.topics.set(topic, deliver as Deliver);
  }

  /** Starts a delivery pass now, or has the one under way look again, if this node is the store's deliverer. */
  kick(): void {
    if (this.closed || this.topics.size === 0) return;
    if (this.running) {
      this.again = true;
      this.wakeUp();
      return;
    }
    this.kicked = this.store
      .runExclusive(OUTBOX_JOB, async () => {
        if (!this.closed) await this.run();
      })
      .then(
        (ran) => {
          if (!ran) this.log.debug('outbox left to the node delivering it');
        },
        (error: unknown) => {
          this.log.error({ err: error }, 'outbox pass failed');
        },
      );
  }

  /** One delivery pass: until everything due (and what kicks bring meanwhile) is delivered or waits for a retry; returns how many messages were delivered. */
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
    this.wakeUp();
    await this.kicked;
    await this.running;
  }

  private async pass(): Promise<number> {
    const before = this.delivered;
    try {
      let look = true;
      while (!this.closed || this.inFlight > 0) {
        const woken = this.woken;
        if (look && !this.closed) {
          this.again = false;
          look = await this.look();
        } else look = false;
        // Nothing under way after a look: all is delivered or waits for a retry.
        if (this.inFlight === 0) break;
        if (this.woken === woken) await new Promise<void>((resolve) => (this.wake = resolve));
        look ||= this.again;
      }
    } finally {
      await this.removed();
    }
    this.scheduleRetry();
    return this.delivered - before;
  }

  /** Reads each topic's messages not yet known into their lines and starts deliveries; true when a topic had more than one look takes. */
  private async look(): Promise<boolean> {
    for (const path of this.released) this.known.delete(path);
    this.released = [];
    let more = false;
    const now = Date.now();
    for (const topic of this.topics.keys()) {
      const present = new Set<string>();
      const grown = new Set<Line>();
      let scanned = 0;
      let after: string | undefined;
      let whole = false;
      while (grown.size < BATCH && scanned < MAX_SCANNED) {
        const page = await this.store.list(topicPrefix(topic), { limit: BATCH, ...(after === undefined ? {} : { after }) });
        scanned += page.length;
        for (const { key: path, value } of page) {
          if (this.known.has(path)) continue;
          const entry = JSON.parse(value) as OutboxEntry;
          const id = lineOf(entry);
          present.add(id);
          if ((this.retryAt.get(id) ?? 0) > now) continue;
          this.known.add(path);
          const line = this.lineFor(id, topic);
          line.queue.push({ path, entry });
          grown.add(line);
        }
        if (page.length < BATCH) {
          whole = true;
          break;
        }
        after = page.at(-1)!.key;
      }
      more ||= !whole;
      if (whole) {
        for (const id of this.retryAt.keys()) if (id.startsWith(`${topic}\n`) && !present.has(id) && !this.lines.has(id)) this.forgetFailures(id);
      }
      for (const line of grown) this.markReady(line);
    }
    this.dispatch();
    return more;
  }

  private lineFor(id: string, topic: string): Line {
    let line = this.lines.get(id);
    if (!line) {
      line = { id, topic, queue: [], busy: false, ready: false };
      this.lines.set(id, line);
    }
    return line;
  }

  private markReady(line: Line): void {
    if (line.busy || line.ready || line.queue.length === 0) return;
    line.ready = true;
    let queue = this.ready.get(line.topic);
    if (!queue) {
      queue = [];
      this.ready.set(line.topic, queue);
    }
    queue.push(line);
  }

  /** Starts deliveries up to the concurrency, one line at a time from each topic in turn. */
  private dispatch(): void {
    while (!this.closed && this.inFlight < this.concurrency) {
      const topics = [...this.ready.keys()];
      if (topics.length === 0) return;
      const topic = topics[this.turn++ % topics.length]!;
      const queue = this.ready.get(topic)!;
      const line = queue.shift()!;
      if (queue.length === 0) this.ready.delete(topic);
      line.ready = false;
      line.busy = true;
      this.inFlight += 1;
      void this.deliverNext(line).finally(() => {
        this.inFlight -= 1;
        line.busy = false;
        if (line.queue.length === 0) this.lines.delete(line.id);
        else this.markReady(line);
        this.dispatch();
        this.wakeUp();
      });
    }
  }

  private async deliverNext(line: Line): Promise<void> {
    const { path, entry } = line.queue.shift()!;
    try {
      const result = await this.topics.get(line.topic)!(entry);
      if ('retarget' in result) {
        await this.store.transaction((tx) => {
          tx.put(path, JSON.stringify({ ...entry, destination: result.retarget }));
        });
        this.released.push(path);
        this.again = true;
        return;
      }
      const covered = entry.coalesce === undefined ? [] : line.queue.filter((later) => later.entry.coalesce === entry.coalesce);
      if (covered.length > 0) line.queue = line.queue.filter((later) => !covered.includes(later));
      this.delivered += 1;
      this.forgetFailures(line.id);
      await this.remove([path, ...covered.map((later) => later.path)]);
    } catch (error) {
      const failures = (this.failures.get(line.id) ?? 0) + 1;
      this.failures.set(line.id, failures);
      const delay = retryDelay(failures);
      this.retryAt.set(line.id, Date.now() + delay);
      // The line waits for its retry: what it held is read again then, in order.
      for (const waiting of [path, ...line.queue.map((later) => later.path)]) this.known.delete(waiting);
      line.queue = [];
      this.scheduleRetry();
      this.log.warn(
        {
          topic: line.topic,
          destination: entry.destination,
          seq: entry.seq,
          body: entry.body,
          failures,
          retryInMs: Math.round(delay),
          reason: (error as Error).message,
        },
        'outbox delivery failed',
      );
    }
  }

  /** Removes delivered messages: the removals of deliveries that end while one is being written wait and share the next transaction. */
  private remove(paths: string[]): Promise<void> {
    this.removals.push(...paths);
    this.removing ??= this.writeRemovals();
    return this.removing;
  }

  private async writeRemovals(): Promise<void> {
    try {
      while (this.removals.length > 0) {
        const batch = this.removals.splice(0);
        try {
          await this.store.transaction((tx) => {
            for (const path of batch) tx.delete(path);
          });
        } catch (error) {
          // Left in the store, they are delivered again: deliverers make that harmless.
          for (const path of batch) this.known.delete(path);
          throw error;
        }
        this.released.push(...batch);
      }
    } finally {
      this.removing = undefined;
    }
  }

  private async removed(): Promise<void> {
    while (this.removing) await this.removing.catch(() => undefined);
  }

  private wakeUp(): void {
    this.woken += 1;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private forgetFailures(line: string): void {
    this.failures.delete(line);
    this.retryAt.delete(line);
  }

  private scheduleRetry(): void {
    clearTimeout(this.timer);
    if (this.closed || this.retryAt.size === 0) return;
    const wait = Math.max(0, Math.min(...this.retryAt.values()) - Date.now());
    this.timer = setTimeout(() => {
      this.kick();
    }, wait);
    this.timer.unref();
  }
}
