import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../util/index.ts';
import { SigV4Verifier, type AccessKey, type SignedRequest } from './sigv4.ts';

const KEY: AccessKey = { accessKeyId: 'AKIAUNITTEST00000001', secretAccessKey: 'unit-test-secret-access-key-0001', principal: 'arn:aws:iam::111122223333:user/unit' };
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
    { method: 'POST', protocol: 'http:', hostname: 'localhost', port: 4000, path: '/', query, headers: { host: 'localhost:4000', 'content-type': 'application/x-amz-json-1.1', ...headers }, body: BODY },
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
    assert.equal(kms.verify(await signed({ headers: TARGET })).principal, KEY.principal);
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
    assert.equal(mgmt.verify(await signed({ unsigned: TARGET })).accessKeyId, KEY.accessKeyId);
  });

  it('leaves a request without X-Amz-Target to the surface, which answers that the operation is unknown', async () => {
    assert.equal(kms.verify(await signed()).accessKeyId, KEY.accessKeyId);
  });
});

