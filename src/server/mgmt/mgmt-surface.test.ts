import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { MasterKeyUnavailableError, RegionCryptoUnit, Rewrapper } from '../../cryptounits/index.ts';
import { wrappedKeyRecords, type Caller } from '../../kms/index.ts';
import { StoreUnavailableError } from '../../store/index.ts';
import type { AccessKey } from '../auth/sigv4.ts';
import { inject, NOBODY_KEY, testRegionServer } from '../test-region-server.ts';

/** A region whose management API authorizes with `authorize`, or with its key service's identity policies. */
const mgmtRegion = (name: string, authorize?: (caller: Caller, action: string) => Promise<void>) =>
  testRegionServer(name, ({ service, store }) => {
    const units = new RegionCryptoUnit([]);
    return { mgmt: { units, rewrapper: new Rewrapper(store, units, wrappedKeyRecords), authorize: authorize ?? service.authorizeManagement } };
  });

/** A request to /mgmt/v1, signed for concord-mgmt by `key`. */
const mgmt = (app: FastifyInstance, method: string, path: string, body?: string, key?: AccessKey): Promise<LightMyRequestResponse> =>
  inject(app, {
    method,
    url: `/mgmt/v1${path}`,
    ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
    service: 'concord-mgmt',
    ...(key ? { key } : {}),
  });

function assertMgmtError(response: LightMyRequestResponse, status: number, error: string, message?: string | RegExp): void {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/json/);
  assert.equal(response.headers['x-amzn-errortype'], undefined);
  const body = response.json<{ error: string; message: string }>();
  assert.deepEqual(Object.keys(body), ['error', 'message']);
  assert.equal(body.error, error);
  if (typeof message === 'string') assert.equal(body.message, message);
  else if (message) assert.match(body.message, message);
}

describe('the management surface', () => {
  const { app, store } = mgmtRegion('mgmt-surface');
  after(async () => {
    await app.close();
    await store.close();
  });

  it('serves a caller signing for concord-mgmt whose identity policy allows the action', async () => {
    const response = await mgmt(app, 'GET', '/units');
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { region: 'us-east-1', units: [] });
  });

  it('refuses unsigned, wrongly scoped and unauthorized callers in its format', async () => {
    assertMgmtError(await inject(app, { method: 'GET', url: '/mgmt/v1/units' }), 403, 'MissingAuthenticationTokenException');
    assertMgmtError(await inject(app, { method: 'GET', url: '/mgmt/v1/units', service: 'kms' }), 403, 'InvalidSignatureException');
    assertMgmtError(await mgmt(app, 'GET', '/units', undefined, NOBODY_KEY), 403, 'AccessDeniedException', /concord:ListCryptoUnits/);
  });

  it('authorizes a route that names its action before it looks at the body', async () => {
    assertMgmtError(await mgmt(app, 'POST', '/rewrap', '{not json', NOBODY_KEY), 403, 'AccessDeniedException', /concord:RewrapKeyMaterial/);
    assertMgmtError(await inject(app, { url: '/mgmt/v1/units/u/commands', body: '[]' }), 403, 'MissingAuthenticationTokenException');
  });

  describe('checks a unit command against its schema, naming the first member that is wrong', () => {
    const valid = { command: 'mk-commit', args: { a: 'x', b: 1 }, nonce: 'n', signatures: [{ publicKey: 'p', signature: 's' }] };
    const cases: [string, unknown, string][] = [
      ['not JSON', '{command', 'The request body is not a JSON object.'],
      ['empty', '', 'The request body is not a JSON object.'],
      ['a list', [], 'The request body is not a JSON object.'],
      ['null', null, 'The request body is not a JSON object.'],
      [
        'no command',
        { ...valid, command: undefined },
        "'command' is one of admin-add, admin-remove, thresholds-set, mk-generate, mk-export, mk-load, mk-commit, mk-set, mk-recover, zeroize.",
      ],
      [
        'an unknown command',
        { ...valid, command: 'format-disk' },
        "'command' is one of admin-add, admin-remove, thresholds-set, mk-generate, mk-export, mk-load, mk-commit, mk-set, mk-recover, zeroize.",
      ],
      ['args of a boolean', { ...valid, args: { a: true } }, "'args' is an object of strings and numbers."],
      ['args a list', { ...valid, args: ['x'] }, "'args' is an object of strings and numbers."],
      ['a number nonce', { ...valid, nonce: 7 }, "'nonce' is the unit's current nonce."],
      ['a signature without its key', { ...valid, signatures: [{ signature: 's' }] }, "'signatures' is a list of {publicKey, signature}."],
      ['signatures an object', { ...valid, signatures: {} }, "'signatures' is a list of {publicKey, signature}."],
      [
        'a wrong nonce and no command',
        { ...valid, command: undefined, nonce: 7 },
        "'command' is one of admin-add, admin-remove, thresholds-set, mk-generate, mk-export, mk-load, mk-commit, mk-set, mk-recover, zeroize.",
      ],
      ['no signatures and wrong args', { ...valid, signatures: undefined, args: 1 }, "'args' is an object of strings and numbers."],
    ];
    for (const [name, body, message] of cases) {
      it(name, async () => {
        assertMgmtError(await mgmt(app, 'POST', '/units/u-1/commands', typeof body === 'string' ? body : JSON.stringify(body)), 400, 'InvalidRequest', message);
      });
    }

    it('and hands a valid command to the unit, which does not exist here', async () => {
      assertMgmtError(
        await mgmt(app, 'POST', '/units/u-1/commands', JSON.stringify({ ...valid, extra: 'ignored' })),
        404,
        'NotFound',
        "This region has no crypto unit 'u-1'.",
      );
    });
  });

  it('checks a re-wrap batch against its schema, as sent: no coercion, null limit for the default', async () => {
    const cases: [unknown, string][] = [
      [{}, "'pattern' is the verification pattern to re-wrap under."],
      [{ pattern: 1 }, "'pattern' is the verification pattern to re-wrap under."],
      [{ pattern: 'ab', cursor: null }, "'cursor' is a string from the previous answer."],
      [{ pattern: 'ab', limit: 0 }, "'limit' is between 1 and 5000."],
      [{ pattern: 'ab', limit: 5001 }, "'limit' is between 1 and 5000."],
      [{ pattern: 'ab', limit: 1.5 }, "'limit' is between 1 and 5000."],
      [{ pattern: 'ab', limit: '10' }, "'limit' is between 1 and 5000."],
    ];
    for (const [body, message] of cases) assertMgmtError(await mgmt(app, 'POST', '/rewrap', JSON.stringify(body)), 400, 'InvalidRequest', message);
    for (const body of [{ pattern: 'ab' }, { pattern: 'ab', limit: null, cursor: '0:' }, { pattern: 'ab', limit: 5000 }]) {
      // Past the schema: no operational unit here holds the master key.
      assertMgmtError(await mgmt(app, 'POST', '/rewrap', JSON.stringify(body)), 409, 'InvalidState', /No operational unit of this region holds master key ab/);
    }
  });

  it('answers a body over 64 KiB RequestTooLarge, 413', async () => {
    assertMgmtError(
      await mgmt(app, 'POST', '/rewrap', JSON.stringify({ pattern: 'x'.repeat(64 * 1024) })),
      413,
      'RequestTooLarge',
      'The request body is too large.',
    );
  });

  it('answers a body Fastify cannot read InvalidRequest', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/mgmt/v1/rewrap',
      payload: '{}',
      headers: { 'content-type': 'application/json', 'content-length': '10' },
    });
    assertMgmtError(response, 400, 'InvalidRequest', 'The request could not be read.');
  });

  it('answers an unknown route 404 NotFound to anyone, signed or not', async () => {
    assertMgmtError(await inject(app, { method: 'GET', url: '/mgmt/v1/nothing?x=1' }), 404, 'NotFound', 'No route for GET /mgmt/v1/nothing');
    assertMgmtError(await mgmt(app, 'DELETE', '/units'), 404, 'NotFound', 'No route for DELETE /mgmt/v1/units');
  });

  it('answers an unavailable store StoreUnavailable, 503, and a missing master key MasterKeyUnavailable, 409', async () => {
    const failures: [Error, number, string, string][] = [
      [new StoreUnavailableError(new Error('connect ECONNREFUSED')), 503, 'StoreUnavailable', 'The key store is unavailable; try again.'],
      [new MasterKeyUnavailableError('recover it'), 409, 'MasterKeyUnavailable', 'recover it'],
      [new Error('a bug'), 500, 'InternalError', ''],
    ];
    for (const [failure, status, error, message] of failures) {
      const failing = mgmtRegion('mgmt-surface-failing', () => Promise.reject(failure));
      const response = await mgmt(failing.app, 'GET', '/rewrap');
      assertMgmtError(response, status, error, message || /^An internal error occurred\. Request ID: [0-9a-f-]{36}$/);
      await failing.app.close();
      await failing.store.close();
    }
  });
});
