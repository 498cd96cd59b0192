import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { MasterKeyUnavailableError } from '../cryptounits/index.ts';
import { KmsError } from '../errors/index.ts';
import { StoreUnavailableError } from '../store/index.ts';
import { infrastructureError, routeNotFound } from './infrastructure-errors.ts';

/** An error as Fastify makes them, with its code and status. */
const fastifyError = (code: string, statusCode: number): Error => Object.assign(new Error(code), { code, statusCode });

describe('infrastructureError', () => {
  it('names an unavailable store 503, with a message that does not pass on the cause', () => {
    assert.deepEqual(infrastructureError(new StoreUnavailableError(new Error('connect ECONNREFUSED 10.0.0.7:5432'))), {
      status: 503,
      kind: 'StoreUnavailable',
      message: 'The key store is unavailable; try again.',
    });
  });

  it('names a missing master key 409, with its message saying what to do', () => {
    const error = new MasterKeyUnavailableError(
      "No operational crypto unit of this region holds the master key ab; recover it with 'concord tke auto-mk-recover'.",
    );
    assert.deepEqual(infrastructureError(error), { status: 409, kind: 'MasterKeyUnavailable', message: error.message });
  });

  it('names a body over the limit 413 and any other request Fastify could not read by its status', () => {
    assert.deepEqual(infrastructureError(fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413)), {
      status: 413,
      kind: 'BodyTooLarge',
      message: 'The request body is too large.',
    });
    assert.deepEqual(infrastructureError(fastifyError('FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400)), {
      status: 400,
      kind: 'MalformedRequest',
      message: 'The request could not be read.',
    });
    assert.deepEqual(infrastructureError(fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)), {
      status: 415,
      kind: 'MalformedRequest',
      message: 'The request could not be read.',
    });
  });

  it('leaves the surfaces their own errors and the unexpected ones', () => {
    for (const error of [
      new KmsError('NotFoundException', 'no key'),
      new Error('bug'),
      fastifyError('FST_ERR_SOMETHING', 500),
      undefined,
      null,
      'thrown text',
    ]) {
      assert.equal(infrastructureError(error), undefined);
    }
  });
});

describe('routeNotFound', () => {
  it('names the method and path, not the query', () => {
    const request = { method: 'GET', url: '/mgmt/v1/nothing?secret=1' } as FastifyRequest;
    assert.deepEqual(routeNotFound(request), { status: 404, kind: 'RouteNotFound', message: 'No route for GET /mgmt/v1/nothing' });
  });
});
