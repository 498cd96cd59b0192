import type { Logger } from 'pino';
import type { Store, Transaction } from '../store/index.ts';

/** Something another party must learn of, written in the same transaction as the change it tells. */
export interface OutboxMessage<Body = unknown> {
  /** Whose message it is (multi-Region replication, webhooks, ...): each topic registers how its messages are delivered. */
  topic: string;
  /** Where it goes, in the topic's terms (a peer region, a webhook); messages leave in order per topic and destination. */
  destination: string;
  body: Body;
  /**
   * Delivering a message with a coalesce key also settles the later ones of its topic and
   * destination with the same key: the delivery sends the state as of now, which covers them.
   */
  coalesce?: string;
}

export interface OutboxEntry<Body = unknown> extends OutboxMessage<Body> {
  seq: number;
}

/** What a delivery achieved: done, or the message belongs to another destination (a key's primary moved). */
export type DeliveryResult = { done: true } | { retarget: string };

export type Deliver<Body = unknown> = (entry: OutboxEntry<Body>) => Promise<DeliveryResult>;

const PREFIX = 'outbox/';
const SEQ_PREFIX = 'outbox-seq/';
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 10_000;
/** How often the lock holder looks for messages other nodes wrote, and the others for a lock left free. */
const POLL_MS = 1000;
const BATCH = 1000;
const TOPIC = /^[a-z][a-z0-9-]*$/;

/** Where a topic's messages are stored, one entry each in delivery order: readers such as metrics list this prefix. */
export const topicPrefix = (topic: string): string => `${PREFIX}${topic}/`;
const entryPath = (topic: string, seq: number): string => `${topicPrefix(topic)}${String(seq).padStart(15, '0')}`;

export async function enqueue(tx: Transaction, message: OutboxMessage): Promise<void> {
  if (!TOPIC.test(message.topic)) throw new Error(`outbox topic ${message.topic} is not a lowercase name`);
  const seqKey = SEQ_PREFIX + message.topic;
  const seq = Number((await tx.getForUpdate(seqKey)) ?? 0) + 1;
  tx.put(seqKey, String(seq));
  tx.put(entryPath(message.topic, seq), JSON.stringify({ ...message, seq }));
}

/**
 * How long a destination waits after its `failures`-th failure in a row: exponential backoff
 * up to a ceiling, of which a random half, so that destinations failing together (a peer that
 * restarts) are not retried in step.
 */
export function retryDelay(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(FIRST_RETRY_MS * 2 ** (failures - 1), MAX_RETRY_MS);
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** The background job, and the store's exclusive lock, under which a region delivers its outbox. */
export const OUTBOX_JOB = 'outbox delivery';

/**
 * Delivers outbox messages in sequence order per topic and destination, right after the commit
 * that wrote them (`kick`) and again with backoff while a destination fails; a failing
 * destination holds up only its own messages, and each topic is read on its own, so one topic's
 * backlog never starves another. A message is removed only once delivered, so a restart loses
 * nothing; deliverers must make a repeated delivery harmless. Of the nodes sharing a store only
 * the holder of the OUTBOX_JOB lock delivers, so messages leave in order and once; what another
 * node writes waits for the holder's next look (each second). A topic's messages wait, kept,
 * while no deliverer is registered for it.
 */
export class Outbox {
  private readonly topics = new Map<string, Deliver>();
  private running: Promise<number> | undefined;
  private kicked: Promise<void> = Promise.resolve();
  private again = false;
  private closed = false;
  /** Per topic and destination. */
  private readonly failures = new Map<string, number>();
  private readonly retryAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly poll: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {
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

  /** Starts a delivery pass now, or right after the one under way, if this node is the store's deliverer. */
  kick(): void {
    if (this.closed || this.topics.size === 0) return;
    if (this.running) {
      this.again = true;
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
    let delivered = 0;
    for (const [topic, deliver] of this.topics) delivered += await this.passTopic(topic, deliver);
    this.scheduleRetry();
    return delivered;
  }

  private async passTopic(topic: string, deliver: Deliver): Promise<number> {
    const entries = (await this.store.list(topicPrefix(topic), { limit: BATCH })).map((e) => ({ path: e.key, entry: JSON.parse(e.value) as OutboxEntry }));
    const lineOf = (entry: OutboxEntry) => `${topic}\n${entry.destination}`;
    const lines = new Set(entries.map(({ entry }) => lineOf(entry)));
    for (const line of [...this.retryAt.keys()]) {
      if (line.startsWith(`${topic}\n`) && !lines.has(line)) this.forgetFailures(line);
    }
    const now = Date.now();
    const blocked = new Set([...this.retryAt].filter(([, at]) => at > now).map(([line]) => line));
    const done = new Set<string>();
    let delivered = 0;
    for (const { path, entry } of entries) {
      const line = lineOf(entry);
      if (this.closed || blocked.has(line) || done.has(path)) continue;
      try {
        const result = await deliver(entry);
        if ('retarget' in result) {
          await this.store.transaction((tx) => {
            tx.put(path, JSON.stringify({ ...entry, destination: result.retarget }));
          });
          this.again = true;
          continue;
        }
        const covered =
          entry.coalesce === undefined
            ? []
            : entries.filter(({ path: other, entry: later }) => other > path && lineOf(later) === line && later.coalesce === entry.coalesce);
        await this.store.transaction((tx) => {
          tx.delete(path);
          for (const other of covered) tx.delete(other.path);
        });
        covered.forEach((other) => done.add(other.path));
        delivered += 1;
        this.forgetFailures(line);
      } catch (error) {
        blocked.add(line);
        const failures = (this.failures.get(line) ?? 0) + 1;
        this.failures.set(line, failures);
        const delay = retryDelay(failures);
        this.retryAt.set(line, Date.now() + delay);
        this.log.warn(
          { topic, destination: entry.destination, seq: entry.seq, body: entry.body, failures, retryInMs: Math.round(delay), reason: (error as Error).message },
          'outbox delivery failed',
        );
      }
    }
    if (entries.length === BATCH && delivered > 0) this.again = true;
    return delivered;
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
