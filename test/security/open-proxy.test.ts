import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../src/util/index.ts';
import { eventually } from '../e2e/eventually.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev, type DevDeployment } from '../e2e/harness.ts';

const [EAST, WEST] = ['us-east-1', 'us-west-2'] as const;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: { __type?: string; message?: string; [member: string]: unknown };
}

interface Sent {
  path?: string;
  /** The Host header, signed: by default the endpoint's own. */
  host?: string;
  region: string;
  service?: string;
  operation?: string;
  body?: string;
  headers?: Record<string, string>;
  secretAccessKey?: string;
}

/** A SigV4-signed POST with whatever Host, path and headers a stranger chooses, over plain node:http. */
async function send(
  endpoint: string,
  { path = '/', host, region, service = 'kms', operation = 'ListKeys', body = '{}', headers = {}, secretAccessKey = SECRET_ACCESS_KEY }: Sent,
): Promise<Answer> {
  const url = new URL(endpoint);
  const unsigned = { host: host ?? url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}`, ...headers };
  const signer = new SignatureV4({ service, region, credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey }, sha256: NodeSha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path,
    query: {},
    headers: unsigned,
    body,
  });
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path, headers: signed.headers }, (incoming) => {
      let text = '';
      incoming.on('data', (chunk: Buffer) => (text += chunk.toString()));
      incoming.on('end', () => {
        let json: Answer['json'] = {};
        try {
          json = JSON.parse(text) as Answer['json'];
        } catch {
          json = {};
        }
        resolve({ status: incoming.statusCode!, headers: incoming.headers, json });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/**
 * A region serves requests signed for another region of its deployment by forwarding them
 * (the any-region rule). These are the ways a stranger might try to use that as an open
 * proxy: to reach a host of their choosing, to carry what the AWS JSON surface would refuse,
 * or to get past authentication. A decoy server stands for the host they aim at.
 */
describe('a region is no open proxy', () => {
  let dev: DevDeployment;
  let decoy: Server;
  let decoyHits = 0;
  let decoyHost = '';
  before(async () => {
    dev = await startDev({ regions: [EAST, WEST] });
    decoy = createServer((_request, response) => {
      decoyHits += 1;
      response.end('{}');
    });
    await new Promise<void>((resolve) => decoy.listen(0, '127.0.0.1', resolve));
    decoyHost = `127.0.0.1:${(decoy.address() as AddressInfo).port}`;
  });
  after(async () => {
    await dev.stop();
    await new Promise((resolve) => decoy.close(resolve));
  });

  /** The log line the first region wrote for a request, by the request ID it answered with (logs reach the test a little later). */
  const eastLogLine = async (requestId: unknown): Promise<Record<string, unknown>> => {
    let found: Record<string, unknown> | undefined;
    await eventually(() => {
      found = dev
        .output()
        .split('\n')
        .filter((line) => line.includes(`"reqId":"${String(requestId)}"`))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.region === EAST && line.msg === 'request');
      assert.ok(found, `the first region logged request ${String(requestId)}`);
    });
    return found!;
  };

  it('refuses a request signed for a region outside the deployment, whatever Host it names, and names the regions that exist', async () => {
    const answer = await send(dev.endpoint(EAST), { region: 'eu-west-1', host: decoyHost });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.__type, 'InvalidSignatureException');
    assert.equal(
      answer.json.message,
      `Credential should be scoped to a valid region, not 'eu-west-1'. This deployment's regions: ${EAST} (this endpoint), ${WEST} (${dev.endpoint(WEST)}).`,
    );
    assert.equal(decoyHits, 0);
    for (const region of ['constructor', '__proto__', 'toString']) {
      const inherited = await send(dev.endpoint(EAST), { region });
      assert.equal(inherited.status, 400, region);
      assert.equal(inherited.json.__type, 'InvalidSignatureException', region);
    }
  });

  it("forwards a request signed for a peer region only to that peer's configured URL, never to the Host it names", async () => {
    const answer = await send(dev.endpoint(EAST), { region: WEST, host: decoyHost, operation: 'CreateKey' });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.match((answer.json.KeyMetadata as { Arn: string }).Arn, new RegExp(`^arn:aws:kms:${WEST}:`));
    assert.equal(decoyHits, 0);
  });

  it('leaves authentication to the peer: a forged signature for the peer region is refused there', async () => {
    const answer = await send(dev.endpoint(EAST), { region: WEST, secretAccessKey: 'not-the-secret-access-key' });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.__type, 'InvalidSignatureException');
    assert.match(answer.json.message ?? '', /does not match the signature you provided/);
  });

  it('applies the body limit before forwarding: an oversized body never reaches the peer', async () => {
    const answer = await send(dev.endpoint(EAST), {
      region: WEST,
      operation: 'Encrypt',
      body: JSON.stringify({ KeyId: 'alias/x', Plaintext: 'A'.repeat(1100 * 1024) }),
    });
    assert.equal(answer.status, 413);
    assert.equal(answer.json.__type, 'RequestEntityTooLargeException');
    assert.equal((await eastLogLine(answer.headers['x-amzn-requestid'])).forwardedTo, undefined);
  });

  it('forwards only the AWS JSON surface: other paths signed for the peer are answered by the region itself', async () => {
    for (const [path, service] of [
      ['/mgmt/v1/units', 'concord-mgmt'],
      ['/peer/v1/sync', 'kms'],
      ['/anything', 'kms'],
    ] as const) {
      const answer = await send(dev.endpoint(EAST), { path, region: WEST, service });
      assert.notEqual(answer.status, 200, path);
      assert.equal((await eastLogLine(answer.headers['x-amzn-requestid'])).forwardedTo, undefined, path);
    }
    assert.equal(decoyHits, 0);
  });

  it('forwards a request once: one that says a region already forwarded it is refused, so no loop can form', async () => {
    const answer = await send(dev.endpoint(EAST), { region: WEST, headers: { 'x-concord-forwarded-from': WEST } });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.__type, 'InvalidSignatureException');
    assert.equal((await eastLogLine(answer.headers['x-amzn-requestid'])).forwardedTo, undefined);
  });
});
