import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signingCeilings, type CeilingHandler, type CeilingInput } from './signing-ceilings.ts';
import { openBlob, parseBlob, sealBlob } from '../src/crypto/index.ts';

/**
 * The ceiling: a bare node:http server doing a request's unavoidable work (JSON parse,
 * base64, AES-256-GCM in Concord's blob format) with no authentication, validation or
 * storage. Run as its own process; it prints `listening <port>` once it accepts requests.
 */
const KEY_ID = '00000000-0000-4000-8000-000000000000';
const KEY_ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
const key = randomBytes(32);

const encrypt = (plaintext: Buffer, context: Record<string, string> | undefined): Buffer =>
  sealBlob(key, { keyId: KEY_ID, materialVersion: 1 }, plaintext, context);

/** Ceilings by X-Amz-Target; a scenario for another operation adds its bare equivalent here. */
const handlers: Record<string, CeilingHandler> = {
  'TrentService.Encrypt': (input) => ({
    CiphertextBlob: encrypt(Buffer.from(input.Plaintext, 'base64'), input.EncryptionContext).toString('base64'),
    KeyId: KEY_ARN,
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
  }),
  'TrentService.Decrypt': (input) => {
    const parsed = parseBlob(Buffer.from(input.CiphertextBlob, 'base64'));
    const plaintext = parsed && openBlob(key, parsed, input.EncryptionContext);
    if (!plaintext) throw new Error('invalid ciphertext');
    return { KeyId: KEY_ARN, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },
  'TrentService.GenerateDataKey': (input) => {
    const plaintext = randomBytes(input.KeySpec === 'AES_128' ? 16 : 32);
    return {
      CiphertextBlob: encrypt(plaintext, input.EncryptionContext).toString('base64'),
      Plaintext: plaintext.toString('base64'),
      KeyId: KEY_ARN,
    };
  },
  ...signingCeilings,
};

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const handler = handlers[String(request.headers['x-amz-target'])];
    let status = 200;
    let body: string;
    try {
      if (!handler) throw new Error('unknown operation');
      body = JSON.stringify(handler(JSON.parse(Buffer.concat(chunks).toString('utf8')) as CeilingInput));
    } catch (error) {
      status = 400;
      body = JSON.stringify({ __type: 'ValidationException', message: (error as Error).message });
    }
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(body);
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
