import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressBar } from './progress-bar.ts';

/** A stream that records what is written, and a clock the test moves. */
function setUp(isTTY: boolean) {
  const written: string[] = [];
  let time = 1_000_000;
  return {
    written,
    out: { isTTY, write: (text: string) => written.push(text) },
    now: () => time,
    advance: (ms: number) => (time += ms),
  };
}

describe('the progress of a long run', () => {
  it('draws a bar in place on a terminal, with the rate and the time left', () => {
    const { written, out, now, advance } = setUp(true);
    const bar = new ProgressBar('re-wrapping', 1000, out, now);
    assert.deepEqual(written, []);
    advance(2000);
    bar.update(400);
    assert.equal(written[written.length - 1], `\rre-wrapping [############..................] 40% 400/1000, 200/s, 3s left\x1b[K`);
    advance(3000);
    bar.finish(1000);
    assert.equal(written[written.length - 2], `\rre-wrapping [##############################] 100% 1000/1000, 200/s, done in 5s\x1b[K`);
    assert.equal(written[written.length - 1], '\n');
  });

  it('redraws at most every 100 ms on a terminal', () => {
    const { written, out, now, advance } = setUp(true);
    const bar = new ProgressBar('re-wrapping', 1000, out, now);
    advance(200);
    bar.update(10);
    bar.update(20);
    advance(50);
    bar.update(30);
    assert.equal(written.length, 1);
  });

  it('writes plain lines on a pipe: at the start, at most every 5 s, and at the end', () => {
    const { written, out, now, advance } = setUp(false);
    const bar = new ProgressBar('re-wrapping', 600, out, now);
    assert.deepEqual(written, ['re-wrapping: 0% 0/600\n']);
    advance(1000);
    bar.update(100);
    advance(5000);
    bar.update(300);
    advance(1000);
    bar.update(350);
    advance(2000);
    bar.finish(600);
    assert.deepEqual(written, ['re-wrapping: 0% 0/600\n', 're-wrapping: 50% 300/600, 50/s, 6s left\n', 're-wrapping: 100% 600/600, 67/s, done in 9s\n']);
    assert.ok(written.every((line) => !line.includes('\r') && !line.includes('\x1b')));
  });
});
