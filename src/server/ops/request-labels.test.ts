import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { operationOf, surfaceOf } from './request-labels.ts';

/** The members of a request the labels read. */
const request = (url: string, more: Partial<FastifyRequest> = {}): FastifyRequest =>
  ({ url, method: 'POST', is404: false, routeOptions: { url: undefined }, headers: {}, ...more }) as unknown as FastifyRequest;

describe('request labels', () => {
  it('tells each API surface apart by its path, and CloudHSM from KMS on POST / by what its surface set', () => {
    const cases: [FastifyRequest, string][] = [
      [request('/api/v2/keys/1234/actions/wrap'), 'keyprotect'],
      [request('/api/v4/vaults'), 'uko'],
      [request('/hsm/v1/hsms/10.0.0.10/login'), 'hsm-shell'],
      [request('/identity/token'), 'iam'],
      [request('/oidc/token'), 'iam'],
      [request('/mgmt/v1/apikeys/ApiKey-1/revoke'), 'iam'],
      [request('/mgmt/v1/units'), 'mgmt'],
      [request('/mgmt/v1/instances'), 'mgmt'],
      [request('/', { audit: { source: 'cloudhsm' } }), 'cloudhsm'],
      [request('/', { operation: 'sts:AssumeRole' }), 'sts'],
      [request('/', { operation: 'Encrypt', headers: { 'x-amz-target': 'BaldrApiService.DescribeClusters' } }), 'kms'],
      [request('/nowhere', { is404: true }), 'none'],
      [request('/api/v2/nowhere', { is404: true }), 'none'],
    ];
    for (const [req, surface] of cases) assert.equal(surfaceOf(req), surface, req.url);
  });

  it('labels the new surfaces’ operations by the names they give, else by the route pattern, never the URL', () => {
    assert.equal(operationOf(request('/api/v2/keys/1234/actions/wrap', { operation: 'kp:wrap' }), 'keyprotect'), 'kp:wrap');
    const refused = request('/api/v2/keys/1234abcd/actions/wrap', { routeOptions: { url: '/api/v2/keys/:id/actions/:action' } } as Partial<FastifyRequest>);
    assert.equal(operationOf(refused, 'keyprotect'), 'POST /api/v2/keys/:id/actions/:action');
    assert.equal(operationOf(request('/api/v4/vaults/v-1', { operation: 'uko:GetVault' }), 'uko'), 'uko:GetVault');
    assert.equal(operationOf(request('/', { operation: 'cloudhsm:DescribeClusters' }), 'cloudhsm'), 'cloudhsm:DescribeClusters');
    assert.equal(
      operationOf(request('/identity/token', { routeOptions: { url: '/identity/token' } } as Partial<FastifyRequest>), 'iam'),
      'POST /identity/token',
    );
  });
});
