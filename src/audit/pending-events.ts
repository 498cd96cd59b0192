import type { SerializedEvent } from './audit-chain.ts';

const INITIAL_BYTES = 1 << 20;
const INITIAL_EVENTS = 1024;

/**
 * Buffered events waiting for their write, as UTF-8 bytes in one growing Buffer (memory outside
 * V8's heap) with their ends and times in typed arrays, decoded only when a batch is written.
 * Kept as strings (about 1 KB each, up to a second's worth), they outlived two scavenges, so
 * every scavenge copied them and they were promoted to the old generation for a mark-compact
 * to collect; here the collector sees three objects, however many events wait.
 *
 * Events are numbered from the first ever pushed: a writer peeks at the oldest, writes them,
 * then removes them by number, so that events dropped or pushed meanwhile never shift what it
 * removes, and a failed write leaves its events where they were.
 */
export class PendingEvents {
  private bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  /** The byte offset just past each event, by slot. */
  private ends = new Float64Array(INITIAL_EVENTS);
  private times = new Float64Array(INITIAL_EVENTS);
  /** The number of the event in slot 0. */
  private base = 0;
  /** Slots of the oldest event waiting and of the next event. */
  private first = 0;
  private next = 0;

  get length(): number {
    return this.next - this.first;
  }

  push(time: number, json: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    this.makeRoom(json.length * 3);
    const start = this.endOf(this.next);
    this.ends[this.next] = start + this.bytes.write(json, start);
    this.times[this.next] = time;
    this.next += 1;
  }

  /** Forgets the oldest event. */
  dropOldest(): void {
    if (this.length > 0) this.removeThrough(this.base + this.first + 1);
  }

  /** The oldest `count` events (fewer if fewer wait), and the number that removeThrough takes to remove them. */
  peek(count: number): { events: SerializedEvent[]; through: number } {
    const last = Math.min(this.next, this.first + count);
    const events: SerializedEvent[] = [];
    for (let slot = this.first; slot < last; slot += 1) {
      events.push({ time: this.times[slot]!, json: this.bytes.toString('utf8', this.endOf(slot), this.ends[slot]) });
    }
    return { events, through: this.base + last };
  }

  /** Removes the events numbered below `through` that are still waiting. */
  removeThrough(through: number): void {
    this.first = Math.min(this.next, Math.max(this.first, through - this.base));
    if (this.first < this.next) return;
    // Empty: start again from the front, and give back what a long outage made grow.
    this.base += this.next;
    this.first = this.next = 0;
    if (this.bytes.length > INITIAL_BYTES * 4) this.bytes = Buffer.allocUnsafe(INITIAL_BYTES);
    if (this.ends.length > INITIAL_EVENTS * 4) {
      this.ends = new Float64Array(INITIAL_EVENTS);
      this.times = new Float64Array(INITIAL_EVENTS);
    }
  }

  private endOf(slot: number): number {
    return slot === 0 ? 0 : this.ends[slot - 1]!;
  }

  /**
   * Makes room for one more event of up to `byteLength` bytes: moves the waiting events to the
   * front, and grows when they would fill more than three quarters (so moves stay rare).
   */
  private makeRoom(byteLength: number): void {
    const used = this.endOf(this.next);
    if (used + byteLength <= this.bytes.length && this.next < this.ends.length) return;
    const from = this.endOf(this.first);
    const waiting = this.length;
    const needed = used - from + byteLength;
    const bytes = needed > 0.75 * this.bytes.length ? Buffer.allocUnsafe(Math.max(2 * this.bytes.length, needed)) : this.bytes;
    this.bytes.copy(bytes, 0, from, used);
    this.bytes = bytes;
    const grow = waiting + 1 > 0.75 * this.ends.length;
    const ends = grow ? new Float64Array(2 * this.ends.length) : this.ends;
    const times = grow ? new Float64Array(2 * this.times.length) : this.times;
    for (let slot = 0; slot < waiting; slot += 1) {
      ends[slot] = this.ends[this.first + slot]! - from;
      times[slot] = this.times[this.first + slot]!;
    }
    this.ends = ends;
    this.times = times;
    this.base += this.first;
    this.first = 0;
    this.next = waiting;
  }
}
