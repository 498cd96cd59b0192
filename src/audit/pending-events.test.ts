import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PendingEvents } from './pending-events.ts';

const event = (i: number): string => JSON.stringify({ i, name: `événement ${i} ✓ ${'x'.repeat(i % 2000)}` });

it('gives back the oldest events as they were pushed, across moves and growth, multi-byte characters included', () => {
  const pending = new PendingEvents();
  let written = 0;
  for (let i = 0; i < 20_000; i += 1) {
    pending.push(1_700_000_000_000 + i, event(i));
    // Writes lag behind pushes, so the waiting events are moved to the front and the arena grows.
    if (i % 700 === 699) {
      const { events, through } = pending.peek(500);
      assert.deepEqual(
        events,
        events.map((_, k) => ({ time: 1_700_000_000_000 + written + k, json: event(written + k) })),
      );
      pending.removeThrough(through);
      written += events.length;
    }
  }
  assert.equal(pending.length, 20_000 - written);
  const { events, through } = pending.peek(Infinity);
  assert.equal(events.at(-1)?.json, event(19_999));
  pending.removeThrough(through);
  assert.equal(pending.length, 0);
});

it('removes by number, so events dropped or pushed during a write shift nothing, and a failed write keeps its events', () => {
  const pending = new PendingEvents();
  for (let i = 0; i < 5; i += 1) pending.push(i, event(i));
  const failed = pending.peek(3);
  assert.equal(pending.length, 5);
  const retried = pending.peek(3);
  assert.deepEqual(retried.events, failed.events);
  pending.dropOldest();
  pending.push(5, event(5));
  pending.removeThrough(retried.through);
  assert.deepEqual(
    pending.peek(10).events.map(({ time }) => time),
    [3, 4, 5],
  );
});
