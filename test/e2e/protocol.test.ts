import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ACCESS_KEY_ID, rawRequest, startDev, type DevDeployment, type RawRequest, type RawResponse } from './harness.ts';

const OPERATIONS = Object.keys(
  (JSON.parse(readFileSync(new URL('../../src/server/aws-json/kms-model.json', import.meta.url), 'utf8')) as { operations: object }).operations,
);

describe('the AWS JSON 1.1 protocol over raw signed HTTP', () => {
  let dev: DevDeployment;
  const responses: RawResponse[] = [];
  const send = async (request: RawRequest): Promise<RawResponse> => {
    const response = await rawRequest(dev.endpoint(), request);
    responses.push(response);
    return response;
  };
  const expectError = async (request: RawRequest, type: string, status = 400): Promise<RawResponse> => {
    const response = await send(request);
    assert.equal(response.json.__type, type, response.text);
    assert.equal(response.status, status);
    assert.equal(response.headers.get('content-type'), 'application/x-amz-json-1.1');
    assert.equal(typeof response.json.message, 'string');
    return response;
  };

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
  });
  after(async () => {
    await dev.stop();
    assert.ok(responses.length > 30);
    assert.deepEqual(
      responses.filter((r) => r.status >= 500).map((r) => r.text),
      [],
    );
    for (const response of responses) assert.match(response.headers.get('x-amzn-RequestId') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('answers a signed request in the AWS JSON shape with a request ID', async () => {
    const response = await send({ operation: 'CreateKey', body: JSON.stringify({ Description: 'raw' }) });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/x-amz-json-1.1');
    assert.equal((response.json.KeyMetadata as { Description: string }).Description, 'raw');
    const again = await send({ operation: 'ListKeys' });
    assert.notEqual(again.headers.get('x-amzn-RequestId'), response.headers.get('x-amzn-RequestId'));
  });

  it('answers GET /healthz without authentication', async () => {
    const response = await fetch(`${dev.endpoint()}/healthz`);
    assert.equal(response.status, 200);
    assert.ok(response.headers.get('x-amzn-RequestId'));
    assert.deepEqual(await response.json(), { status: 'ok', region: 'us-east-1', pid: dev.pid() });
    const missing = await fetch(`${dev.endpoint()}/no-such-path`);
    assert.equal(missing.status, 404);
    assert.ok(missing.headers.get('x-amzn-RequestId'));
  });

  describe('malformed requests', () => {
    it('answers UnknownOperationException for an operation that does not exist', async () => {
      await expectError({ operation: 'MakeCoffee' }, 'UnknownOperationException');
      await expectError({}, 'UnknownOperationException');
    });

    it('answers SerializationException for malformed JSON', async () => {
      for (const body of ['{"KeyId": ', '{KeyId: 1}', 'null', '[]', '"text"']) {
        await expectError({ operation: 'DescribeKey', body }, 'SerializationException');
      }
    });

    it('answers SerializationException for members of the wrong JSON type', async () => {
      await expectError({ operation: 'DescribeKey', body: '{"KeyId": 12}' }, 'SerializationException');
      await expectError({ operation: 'ListKeys', body: '{"Limit": "ten"}' }, 'SerializationException');
      await expectError({ operation: 'ListKeys', body: '{"Limit": 1.5}' }, 'SerializationException');
      await expectError({ operation: 'CreateKey', body: '{"Tags": {"TagKey": "a"}}' }, 'SerializationException');
      await expectError({ operation: 'Encrypt', body: '{"KeyId": "alias/x", "Plaintext": "not base64!"}' }, 'SerializationException');
      await expectError({ operation: 'Encrypt', body: '{"KeyId": "alias/x", "Plaintext": "AA==", "EncryptionContext": {"a": 1}}' }, 'SerializationException');
    });

    it('answers SerializationException for a content type other than AWS JSON', async () => {
      await expectError({ operation: 'ListKeys', contentType: 'application/json' }, 'SerializationException');
    });

    it('answers ValidationException in AWS words for a missing required member', async () => {
      const response = await expectError({ operation: 'Encrypt', body: '{"Plaintext": "AA=="}' }, 'ValidationException');
      assert.equal(response.json.message, "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
    });

    it('answers ValidationException for Decrypt and ReEncrypt without a CiphertextBlob', async () => {
      for (const [operation, body] of [
        ['Decrypt', '{}'],
        ['ReEncrypt', '{"DestinationKeyId": "alias/any"}'],
      ] as const) {
        const response = await expectError({ operation, body }, 'ValidationException');
        assert.equal(
          response.json.message,
          "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null",
        );
      }
    });

    it('answers ValidationException in AWS words for a KeyId longer than 2048 characters', async () => {
      const response = await expectError({ operation: 'DescribeKey', body: JSON.stringify({ KeyId: 'k'.repeat(2049) }) }, 'ValidationException');
      assert.match(
        response.json.message!,
        /^1 validation error detected: Value 'k+(\.\.\.)?' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048$/,
      );
    });

    it('answers ValidationException in AWS words for an unknown enum value and numbers out of range', async () => {
      const enumError = await expectError({ operation: 'CreateKey', body: '{"KeyUsage": "MAKE_TEA"}' }, 'ValidationException');
      assert.match(
        enumError.json.message!,
        /^1 validation error detected: Value 'MAKE_TEA' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: \[.*ENCRYPT_DECRYPT.*\]$/,
      );
      const range = await expectError({ operation: 'ListKeys', body: '{"Limit": 0}' }, 'ValidationException');
      assert.equal(
        range.json.message,
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
      );
    });

    it('lists every broken constraint in one ValidationException', async () => {
      const response = await expectError({ operation: 'GenerateDataKey', body: '{"KeySpec": "AES_512", "NumberOfBytes": 2048}' }, 'ValidationException');
      assert.match(response.json.message!, /^3 validation errors detected: /);
      assert.match(response.json.message!, /'keyId'/);
      assert.match(response.json.message!, /'keySpec'/);
      assert.match(response.json.message!, /'numberOfBytes'/);
    });

    it('never echoes plaintext in an error', async () => {
      const secret = 'TOP-SECRET-PLAINTEXT-7f3a9c';
      const tooLong = Buffer.from(secret.repeat(200));
      const cases: RawRequest[] = [
        { operation: 'Encrypt', body: JSON.stringify({ KeyId: 'alias/none', Plaintext: tooLong.toString('base64') }) },
        { operation: 'Encrypt', body: JSON.stringify({ KeyId: 'alias/none', Plaintext: Buffer.from(secret).toString('base64') }) },
        { operation: 'Encrypt', body: JSON.stringify({ Plaintext: Buffer.from(secret).toString('base64') }) },
        { operation: 'Encrypt', body: JSON.stringify({ KeyId: 'alias/none', Plaintext: `${secret}!` }) },
        {
          operation: 'GenerateMac',
          body: JSON.stringify({ KeyId: 'alias/none', MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from(secret).toString('base64') }),
        },
      ];
      for (const request of cases) {
        const response = await send(request);
        assert.ok(response.status >= 400 && response.status < 500, response.text);
        assert.equal(response.text.includes(secret), false, response.text);
        assert.equal(response.text.includes(Buffer.from(secret).toString('base64').slice(0, 20)), false, response.text);
      }
    });

    it('answers 413 for a body over the size limit', async () => {
      const response = await expectError(
        { operation: 'Encrypt', body: JSON.stringify({ KeyId: 'alias/none', Plaintext: Buffer.alloc(1536 * 1024).toString('base64') }) },
        'RequestEntityTooLargeException',
        413,
      );
      assert.ok(response.headers.get('x-amzn-RequestId'));
    });

    it('answers every TrentService operation with a client error, never a 500, for empty and odd bodies', async () => {
      const odd = JSON.stringify({ KeyId: 'alias/none', Plaintext: 'AA==', CiphertextBlob: 'AAAA', Limit: 1, GrantTokens: [] });
      for (const operation of OPERATIONS) {
        for (const body of ['{}', odd, '']) {
          const response = await send({ operation, body });
          assert.ok(response.status < 500, `${operation} ${body}: ${response.text}`);
          assert.ok(response.status === 200 || typeof response.json.__type === 'string', `${operation} ${body}: ${response.text}`);
        }
      }
    });
  });

  describe('SigV4', () => {
    it('answers MissingAuthenticationTokenException without an Authorization header', async () => {
      await expectError({ operation: 'ListKeys', sign: false }, 'MissingAuthenticationTokenException', 403);
    });

    it('answers UnrecognizedClientException for an unknown access key', async () => {
      await expectError(
        { operation: 'ListKeys', credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'whatever-secret-key' } },
        'UnrecognizedClientException',
      );
    });

    it('answers InvalidSignatureException for a wrong secret', async () => {
      await expectError(
        { operation: 'ListKeys', credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: 'not-the-right-secret-access-key' } },
        'InvalidSignatureException',
      );
    });

    it('answers InvalidSignatureException for a request time 6 minutes off either way', async () => {
      for (const offset of [-6, 6]) {
        await expectError({ operation: 'ListKeys', signingDate: new Date(Date.now() + offset * 60 * 1000) }, 'InvalidSignatureException');
      }
      const slightlyOff = await send({ operation: 'ListKeys', signingDate: new Date(Date.now() - 4 * 60 * 1000) });
      assert.equal(slightlyOff.status, 200);
    });

    it('answers InvalidSignatureException for another region or service in the credential scope', async () => {
      await expectError({ operation: 'ListKeys', region: 'us-west-2' }, 'InvalidSignatureException');
      await expectError({ operation: 'ListKeys', service: 'sqs' }, 'InvalidSignatureException');
    });

    it('answers InvalidSignatureException for a body changed after signing', async () => {
      await expectError({ operation: 'CreateKey', body: '{"Description":"signed"}', sentBody: '{"Description":"swapd"}' }, 'InvalidSignatureException');
    });

    it('answers IncompleteSignatureException for an Authorization header that is not SigV4', async () => {
      const response = await fetch(dev.endpoint(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys', authorization: 'Basic YWRtaW46YWRtaW4=' },
        body: '{}',
      });
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { __type: string }).__type, 'IncompleteSignatureException');
    });
  });
});
