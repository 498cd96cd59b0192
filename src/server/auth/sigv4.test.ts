import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { KmsError } from '../../errors/index.ts';
import { NodeSha256 } from '../../util/index.ts';
import { SigV4Verifier, type AccessKey, type SignedRequest } from './sigv4.ts';

const KEY: AccessKey = {
  accessKeyId: 'AKIAUNITTEST00000001',
  secretAccessKey: 'unit-test-secret-access-key-0001',
  principal: 'arn:aws:iam::111122223333:user/unit',
};
const NOW = Date.UTC(2025, 0, 2, 3, 4, 5);
const BODY = '{"KeyId":"alias/x"}';

interface Signing {
  headers?: Record<string, string>;
  query?: Record<string, string>;
  sessionToken?: string;
  /** Headers added after signing, as a man in the middle would. */
  unsigned?: Record<string, string>;
}

/** A request as the AWS SDK signs it, with @smithy/signature-v4. */
async function signed({ headers = {}, query = {}, sessionToken, unsigned = {} }: Signing = {}): Promise<SignedRequest> {
  const signer = new SignatureV4({
    service: 'kms',
    region: 'us-east-1',
    credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) },
    sha256: NodeSha256,
  });
  const request = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: 'localhost',
      port: 4000,
      path: '/',
      query,
      headers: { host: 'localhost:4000', 'content-type': 'application/x-amz-json-1.1', ...headers },
      body: BODY,
    },
    { signingDate: new Date(NOW) },
  );
  const search = new URLSearchParams(query).toString();
  const lowerCase = Object.fromEntries(Object.entries({ ...request.headers, ...unsigned }).map(([name, value]) => [name.toLowerCase(), value]));
  return { method: 'POST', url: search ? `/?${search}` : '/', headers: lowerCase, body: Buffer.from(BODY) };
}

const kms = new SigV4Verifier('us-east-1', 'kms', [KEY], { signedHeaders: ['X-Amz-Target'], now: () => NOW });
const TARGET = { 'x-amz-target': 'TrentService.Decrypt' };

describe('SigV4Verifier', () => {
  it('accepts a request signed by a known access key, the operation among the signed headers', async () => {
    assert.equal((await kms.verify(await signed({ headers: TARGET }))).principal, KEY.principal);
  });

  it('refuses temporary credentials: a signed X-Amz-Security-Token header is an unrecognized client', async () => {
    const request = await signed({ headers: TARGET, sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' });
    assert.equal(request.headers['x-amz-security-token'], 'FwoGZXIvYXdzEXAMPLETOKEN');
    assert.throws(() => kms.verify(request), { code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  });

  it('refuses a session token in the query string, whatever the spelling of its name', async () => {
    for (const name of ['X-Amz-Security-Token', 'x-amz-security-token']) {
      const request = await signed({ headers: TARGET, query: { [name]: 'FwoGZXIvYXdzEXAMPLE' } });
      assert.throws(() => kms.verify(request), { code: 'UnrecognizedClientException' });
    }
  });

  it('refuses a session token header added after signing, even an empty one', async () => {
    const request = await signed({ headers: TARGET, unsigned: { 'X-Amz-Security-Token': '' } });
    assert.throws(() => kms.verify(request), { code: 'UnrecognizedClientException' });
  });

  it('refuses an X-Amz-Target that is not a signed header where the operation depends on it', async () => {
    const request = await signed({ unsigned: TARGET });
    assert.throws(() => kms.verify(request), { code: 'InvalidSignatureException', message: "'X-Amz-Target' must be a signed header." });
  });

  it('refuses a signed X-Amz-Target swapped for another operation', async () => {
    const request = await signed({ headers: TARGET });
    request.headers['x-amz-target'] = 'TrentService.ScheduleKeyDeletion';
    assert.throws(() => kms.verify(request), { code: 'InvalidSignatureException' });
  });

  it('needs only Host and X-Amz-Date signed on a surface that names no other header', async () => {
    const mgmt = new SigV4Verifier('us-east-1', 'kms', [KEY], { now: () => NOW });
    assert.equal((await mgmt.verify(await signed({ unsigned: TARGET }))).accessKeyId, KEY.accessKeyId);
  });

  it('refuses a request whose X-Amz-Date was fine for an earlier one once the clock has moved past five minutes', async () => {
    let now = NOW;
    const verifier = new SigV4Verifier('us-east-1', 'kms', [KEY], { now: () => now });
    const request = await signed({ headers: TARGET });
    assert.equal((await verifier.verify(request)).principal, KEY.principal);
    now += 5 * 60 * 1000 + 1000;
    assert.throws(() => verifier.verify(request), { code: 'InvalidSignatureException', message: /^Signature expired/ });
    assert.throws(() => verifier.verify({ ...request, headers: { ...request.headers, 'x-amz-date': '2025-01-02T03:04:05Z' } }), {
      code: 'IncompleteSignatureException',
    });
  });

  it('leaves a request without X-Amz-Target to the surface, which answers that the operation is unknown', async () => {
    assert.equal((await kms.verify(await signed())).accessKeyId, KEY.accessKeyId);
  });
});

/** A small seeded generator, so a failing case can be replayed from its seed. */
function generator(seed: number): { int(below: number): number; pick<T>(items: readonly T[]): T; text(alphabet: string, min: number, max: number): string } {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number): number => Math.floor(next() * below);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const text = (alphabet: string, min: number, max: number): string =>
    Array.from({ length: min + int(max - min + 1) }, () => pick(Array.from(alphabet))).join('');
  return { int, pick, text };
}

const OTHER_KEY: AccessKey = {
  accessKeyId: 'AKIAUNITTEST00000002',
  secretAccessKey: 'unit-test-secret-access-key-0002',
  principal: 'arn:aws:iam::111122223333:user/other',
};
const UNRESERVED = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~';
/** Characters a path or query carries percent-encoded, some outside ASCII. */
const RESERVED = " !*'()@:$&=+,;%#[]é€";
/** What an HTTP header value carries: visible ASCII, spaces and tabs. */
const HEADER_VALUE = `${UNRESERVED} \t!"#$%&'()*+,/:;<=>?@[\\]^\`{|}`;

interface RandomRequest {
  method: string;
  /** As sent: percent-encoded. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer;
}

function randomRequest(seed: number): RandomRequest {
  const g = generator(seed);
  // Segments that are neither empty nor dots: @smithy/signature-v4 would sign '/a//b' or '/a/./b' as '/a/b', which Concord does not route as such.
  const segment = (): string => {
    const raw = g.text(UNRESERVED + RESERVED, 1, 8);
    return /^\.+$/.test(raw) ? `${raw}x` : encodeURIComponent(raw);
  };
  const path = `/${Array.from({ length: g.int(4) }, segment).join('/')}`;
  const query: Record<string, string> = {};
  for (let i = g.int(4); i > 0; i--) query[g.text(UNRESERVED + RESERVED, 1, 6)] = g.text(UNRESERVED + RESERVED, 0, 10);
  const headers: Record<string, string> = {};
  for (let i = g.int(4); i > 0; i--)
    headers[`x-test-${g.text('abcdefghijklmnopqrstuvwxyz0123456789-', 1, 10)}`] =
      `${g.text(UNRESERVED, 1, 1)}${g.text(HEADER_VALUE, 0, 30)}${g.text(UNRESERVED, 1, 1)}`;
  if (g.int(2) === 0) headers['x-amz-target'] = `TrentService.${g.pick(['Encrypt', 'Decrypt', 'ListKeys'])}`;
  const body = Buffer.from(Array.from({ length: g.pick([0, 1, 17, 300]) }, () => g.int(256)));
  return { method: g.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']), path, query, headers, body };
}

/** `request` signed by @smithy/signature-v4, as the verifier receives it: lower-case header names, the query in the URL. */
async function signedBySmithy(request: RandomRequest, key: AccessKey = KEY): Promise<SignedRequest> {
  const signer = new SignatureV4({ service: 'kms', region: 'us-east-1', credentials: key, sha256: NodeSha256 });
  const signedRequest = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: 'kms.local',
      path: request.path,
      query: request.query,
      headers: { host: 'kms.local', ...request.headers },
      body: request.body,
    },
    { signingDate: new Date(NOW) },
  );
  const search = new URLSearchParams(request.query).toString();
  const headers = Object.fromEntries(Object.entries(signedRequest.headers).map(([name, value]) => [name.toLowerCase(), value]));
  return { method: request.method, url: search ? `${request.path}?${search}` : request.path, headers, body: request.body };
}

/** Every way of changing one field of a signed request, each named. */
function mutations(request: SignedRequest): [string, SignedRequest][] {
  const changed = (change: Partial<SignedRequest>): SignedRequest => ({ ...request, ...change });
  const withHeaders = (headers: SignedRequest['headers']): SignedRequest => changed({ headers });
  const [path, search = ''] = request.url.split('?') as [string, string?];
  const query = [...new URLSearchParams(search)];
  const url = (pairs: [string, string][]): string => (pairs.length ? `${path}?${new URLSearchParams(pairs).toString()}` : path);
  const authorization = request.headers.authorization as string;
  const credential = /Credential=([^,]+)/.exec(authorization)![1]!;
  const [accessKeyId, date, region, service] = credential.split('/') as [string, string, string, string];
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)![1]!.split(';');
  const signature = /Signature=([0-9a-f]{64})/.exec(authorization)![1]!;
  const withCredential = (scope: string): SignedRequest => withHeaders({ ...request.headers, authorization: authorization.replace(credential, scope) });
  const amzDate = request.headers['x-amz-date'] as string;
  const second = Number(amzDate.slice(13, 15));

  return [
    ['method', changed({ method: request.method === 'POST' ? 'PUT' : 'POST' })],
    ['path', changed({ url: url(query).replace(path, path === '/' ? '/x' : `${path}x`) })],
    ...query.map((_, i): [string, SignedRequest] => [`query value ${i}`, changed({ url: url(query.map(([k, v], j) => [k, j === i ? `${v}x` : v])) })]),
    ...query.map((_, i): [string, SignedRequest] => [`query parameter ${i} removed`, changed({ url: url(query.filter((__, j) => j !== i)) })]),
    ['query parameter added', changed({ url: url([...query, ['added', '1']]) })],
    ...signedHeaders
      .filter((name) => name !== 'x-amz-date')
      .map((name): [string, SignedRequest] => [`header ${name}`, withHeaders({ ...request.headers, [name]: `${String(request.headers[name])}x` })]),
    ...signedHeaders.map((name): [string, SignedRequest] => [
      `header ${name} removed`,
      withHeaders(Object.fromEntries(Object.entries(request.headers).filter(([n]) => n !== name))),
    ]),
    ['x-amz-date', withHeaders({ ...request.headers, 'x-amz-date': `${amzDate.slice(0, 13)}${String((second + 1) % 60).padStart(2, '0')}Z` })],
    ['body', changed({ body: Buffer.concat([request.body, Buffer.from([0])]) })],
    ...(request.body.length
      ? [['body byte', changed({ body: Buffer.from(request.body.map((b, i) => (i === 0 ? b ^ 1 : b))) })] as [string, SignedRequest]]
      : []),
    [
      'signature',
      withHeaders({ ...request.headers, authorization: authorization.replace(signature, `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`) }),
    ],
    ['access key', withCredential([OTHER_KEY.accessKeyId, date, region, service, 'aws4_request'].join('/'))],
    ['scope date', withCredential([accessKeyId, String(Number(date) + 1), region, service, 'aws4_request'].join('/'))],
    ['scope region', withCredential([accessKeyId, date, 'us-west-2', service, 'aws4_request'].join('/'))],
    ['scope service', withCredential([accessKeyId, date, region, 'concord-mgmt', 'aws4_request'].join('/'))],
    ...signedHeaders.map((name): [string, SignedRequest] => [
      `signed header ${name} dropped from the list`,
      withHeaders({ ...request.headers, authorization: authorization.replace(signedHeaders.join(';'), signedHeaders.filter((n) => n !== name).join(';')) }),
    ]),
  ];
}

describe('SigV4Verifier against @smithy/signature-v4', () => {
  const verifier = new SigV4Verifier('us-east-1', 'kms', [KEY, OTHER_KEY], { signedHeaders: ['X-Amz-Target'], now: () => NOW });
  const SEEDS = Array.from({ length: 200 }, (_, i) => 0x5157 + i);

  it('accepts every random request the AWS SDK signer signs, for the key that signed it', async () => {
    for (const seed of SEEDS) {
      for (const key of [KEY, OTHER_KEY]) {
        const request = await signedBySmithy(randomRequest(seed), key);
        assert.equal((await verifier.verify(request)).accessKeyId, key.accessKeyId, `seed ${seed}: ${request.method} ${request.url}`);
      }
    }
  });

  it('refuses every change of a single field of a signed request', async () => {
    for (const seed of SEEDS) {
      const request = await signedBySmithy(randomRequest(seed));
      for (const [field, mutated] of mutations(request)) {
        assert.throws(() => verifier.verify(mutated), KmsError, `seed ${seed}: ${field} changed, yet ${mutated.method} ${mutated.url} verified`);
      }
    }
  });
});
