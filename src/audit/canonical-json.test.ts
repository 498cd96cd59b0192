import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from './canonical-json.ts';

describe('canonicalJson', () => {
  it('writes the same bytes whatever order the members were set in', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, 'x'], c: null } }), canonicalJson({ a: { c: null, d: [1, 'x'] }, b: 1 }));
    assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
  });

  it('leaves undefined members out, as JSON.stringify does', () => {
    assert.equal(canonicalJson({ a: undefined, b: [undefined] }), '{"b":[null]}');
  });
});
