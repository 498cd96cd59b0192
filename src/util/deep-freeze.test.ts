import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deepFreeze } from './deep-freeze.ts';

test('deepFreeze freezes nested objects and arrays and returns the same value', () => {
  const value = { a: { b: [1, { c: 2 }] }, d: 'text' };
  const frozen = deepFreeze(value);
  assert.equal(frozen, value);
  assert.ok(Object.isFrozen(value));
  assert.ok(Object.isFrozen(value.a));
  assert.ok(Object.isFrozen(value.a.b));
  assert.ok(Object.isFrozen(value.a.b[1]));
  assert.throws(() => {
    (value.a.b[1] as { c: number }).c = 3;
  }, TypeError);
});

test('deepFreeze leaves primitives and null as they are', () => {
  assert.equal(deepFreeze(null), null);
  assert.equal(deepFreeze(5), 5);
  assert.equal(deepFreeze('x'), 'x');
});
