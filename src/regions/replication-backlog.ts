import type { Reader } from '../store/index.ts';
import { topicPrefix, type OutboxEntry } from '../outbox/index.ts';
import { REPLICATION_TOPIC } from './replication-messages.ts';

/** What a peer region has yet to receive from this one. */
export interface PeerBacklog {
  peer: string;
  messages: number;
  /** How long the oldest of them has waited, as this process has seen it (see ReplicationBacklog). */
  oldestWaitMs: number;
}

/** Where the replication outbox keeps its messages, one entry each, in the order they are delivered. */
const OUTBOX_PREFIX = topicPrefix(REPLICATION_TOPIC);
/** Read at most this many messages per look, so a long outage's backlog costs a bounded read. */
const MAX_READ = 10_000;
const PAGE = 1000;

/**
 * The replication outbox from the store, as metrics show it: messages waiting per peer, and
 * how long the oldest has waited. Messages carry no time, so a message's wait counts from the
 * first look of this process that saw it: exact to the interval between looks for messages
 * written since the process started, an underestimate for those it found waiting. Any node of
 * the region can tell, whichever delivers. Counts stop at MAX_READ messages.
 */
export class ReplicationBacklog {
  private readonly firstSeen = new Map<string, number>();

  constructor(private readonly store: Reader) {}

  async read(now = Date.now()): Promise<PeerBacklog[]> {
    const byPeer = new Map<string, PeerBacklog>();
    const seen = new Set<string>();
    let after: string | undefined;
    while (seen.size < MAX_READ) {
      const page = await this.store.list(OUTBOX_PREFIX, { after, limit: PAGE });
      for (const { key, value } of page) {
        seen.add(key);
        const since = this.firstSeen.get(key) ?? now;
        this.firstSeen.set(key, since);
        const { destination: target } = JSON.parse(value) as Pick<OutboxEntry, 'destination'>;
        const backlog = byPeer.get(target) ?? { peer: target, messages: 0, oldestWaitMs: 0 };
        backlog.messages += 1;
        backlog.oldestWaitMs = Math.max(backlog.oldestWaitMs, now - since);
        byPeer.set(target, backlog);
      }
      if (page.length < PAGE) break;
      after = page.at(-1)!.key;
    }
    for (const key of this.firstSeen.keys()) if (!seen.has(key)) this.firstSeen.delete(key);
    return [...byPeer.values()];
  }
}
