import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { KmsError } from '../../errors/index.ts';
import type { KeyService } from '../../kms/index.ts';
import { callerOf } from '../auth/caller-of.ts';
import type { SigV4Verifier } from '../auth/sigv4.ts';
import { errorAnswer, errorJson } from '../error-answer.ts';
import { kmsModel } from './kms-model.ts';
import { validateInput } from './validate-input.ts';

const TARGET_PREFIX = 'TrentService.';
/** AWS's content type, exactly. */
export const AWS_JSON_1_1 = 'application/x-amz-json-1.1';
const CONTENT_TYPES = new Set([AWS_JSON_1_1, 'application/x-amz-json-1.0']);

export interface AwsJsonHandlerOptions {
  service: KeyService;
  verifier: SigV4Verifier;
  logger: Logger;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
}

/** What the request line in the log reports, filled in as the request is understood. */
interface Exchange {
  id: string;
  operation?: string;
  accessKeyId?: string;
}

/** True for the requests awsJsonHandler serves: POST / (any query string goes into the signature). */
export const isAwsJsonRequest = (request: IncomingMessage): boolean =>
  request.method === 'POST' && (request.url === '/' || request.url?.startsWith('/?') === true);

/**
 * POST / with X-Amz-Target: TrentService.<Operation>, SigV4-signed, AWS JSON 1.1 in and out.
 * Served straight from node:http rather than through Fastify: on this, the hot path, Fastify's
 * request, reply, hook and routing machinery cost about 5% of an Encrypt's server CPU time
 * (npm run bench). Like every other route, each answer carries x-amzn-RequestId and gets one
 * `request` line at info, with the request ID as `reqId`.
 */
export function awsJsonHandler({ service, verifier, logger, bodyLimit }: AwsJsonHandlerOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const answer = async (request: IncomingMessage, exchange: Exchange): Promise<string> => {
    const body = await readBody(request, bodyLimit);
    const accessKey = verifier.verify({ method: request.method!, url: request.url!, headers: request.headers, body });
    exchange.accessKeyId = accessKey.accessKeyId;

    const target = request.headers['x-amz-target'];
    const name = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    const operation = name === undefined ? undefined : service.operation(name);
    const model = name === undefined ? undefined : kmsModel.operations[name];
    if (!operation || !model?.input) {
      throw new KmsError('UnknownOperationException', `The operation ${String(target ?? '')} is not known to this service.`);
    }
    exchange.operation = name;
    const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (!CONTENT_TYPES.has(contentType)) {
      throw new KmsError('SerializationException', 'Content-Type must be application/x-amz-json-1.1.');
    }
    const input = validateInput(kmsModel, model.input, parseJson(body));
    return toJson(await operation(input, callerOf(accessKey)));
  };

  return (request, response) => {
    const started = performance.now();
    const exchange: Exchange = { id: randomUUID() };
    // A string body goes out in one write together with the headers.
    const send = (status: number, body: string, errorType?: string): void => {
      response.writeHead(status, {
        'x-amzn-requestid': exchange.id,
        'content-type': AWS_JSON_1_1,
        'content-length': Buffer.byteLength(body),
        ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
      });
      response.end(body);
      if (logger.isLevelEnabled('info')) {
        const ms = Math.round((performance.now() - started) * 10) / 10;
        logger.info({ reqId: exchange.id, operation: exchange.operation, accessKeyId: exchange.accessKeyId, status, ms }, 'request');
      }
    };
    answer(request, exchange).then(
      (body) => send(200, body),
      (error: unknown) => {
        const reported = errorAnswer(error, exchange.id, logger.child({ reqId: exchange.id }), exchange.operation);
        send(reported.status, errorJson(reported), reported.code);
      },
    );
  };
}

/** The whole body, refused once it passes `limit` bytes (the rest is discarded by node:http). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new KmsError('RequestEntityTooLargeException', 'The request body is too large.');
    if (Number(request.headers['content-length']) > limit) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length <= limit) chunks.push(chunk);
      else {
        request.off('data', onData);
        reject(tooLarge());
      }
    };
    request.on('data', onData);
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    request.once('error', () => reject(new KmsError('SerializationException', 'The request could not be read.')));
  });
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new KmsError('SerializationException', 'The request body is not valid JSON.');
  }
}

/**
 * An operation's output as AWS JSON. Top-level blobs are written directly: base64 needs no
 * escaping, and JSON.stringify's scan of a large ciphertext or plaintext is a real cost.
 */
function toJson(output: Record<string, unknown>): string {
  let json = '';
  for (const key in output) {
    const value = output[key];
    const encoded: string | undefined = Buffer.isBuffer(value) ? `"${value.toString('base64')}"` : JSON.stringify(encodeBlobs(value));
    if (encoded === undefined) continue;
    json += `${json === '' ? '{' : ','}${JSON.stringify(key)}:${encoded}`;
  }
  return json === '' ? '{}' : `${json}}`;
}

/** Blobs travel as base64 strings. */
function encodeBlobs(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(encodeBlobs);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key in value) out[key] = encodeBlobs((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}
