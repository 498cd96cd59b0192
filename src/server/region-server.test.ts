import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { inject, testRegionServer } from './test-region-server.ts';

describe('the region server outside its surfaces', () => {
  const { app, store } = testRegionServer('region-server');
  after(async () => {
    await app.close();
    await store.close();
  });

  it('answers GET /healthz without authentication, with a request ID', async () => {
    const response = await inject(app, { method: 'GET', url: '/healthz' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { status: 'ok', region: 'us-east-1', pid: process.pid });
    assert.match(String(response.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route 404 in the neutral format, also under the prefix of a surface the region does not serve', async () => {
    for (const [method, url] of [
      ['GET', '/no-such-path?x=1'],
      ['GET', '/'],
      ['POST', '/mgmt/v1/units'],
      ['POST', '/peer/v1/hello'],
    ]) {
      const response = await inject(app, { method: method!, url: url!, body: '{}' });
      assert.equal(response.statusCode, 404);
      assert.deepEqual(response.json(), { message: `No route for ${method} ${url!.split('?')[0]}` });
      assert.equal(response.headers['x-amzn-errortype'], undefined);
      assert.ok(response.headers['x-amzn-requestid']);
    }
  });

  it('answers a body over the limit sent to an unknown route 413 in the neutral format', async () => {
    const response = await inject(app, { url: '/no-such-path', body: Buffer.alloc(1024 * 1024 + 1) });
    assert.equal(response.statusCode, 413);
    assert.deepEqual(response.json(), { message: 'The request body is too large.' });
  });
});
