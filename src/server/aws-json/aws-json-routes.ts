import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KmsError } from '../../errors/index.ts';
import type { KeyService, KmsApi, OperationName } from '../../kms/index.ts';
import { callerOf } from '../auth/caller-of.ts';
import type { SigV4Verifier } from '../auth/sigv4.ts';
import { kmsModel } from './kms-model.ts';
import { validateInput } from './validate-input.ts';

const TARGET_PREFIX = 'TrentService.';
/** AWS's content type, exactly: a Buffer reply keeps Fastify from appending `; charset=utf-8`. */
export const AWS_JSON_1_1 = 'application/x-amz-json-1.1';
export const AWS_JSON_CONTENT_TYPES = [AWS_JSON_1_1, 'application/x-amz-json-1.0'];
const CONTENT_TYPES = new Set(AWS_JSON_CONTENT_TYPES);

declare module 'fastify' {
  interface FastifyRequest {
    operation?: string;
    accessKeyId?: string;
  }
}

/** POST / with X-Amz-Target: TrentService.<Operation>, SigV4-signed, AWS JSON 1.1 in and out. */
export function awsJsonRoutes(app: FastifyInstance, service: KeyService, verifier: SigV4Verifier): void {
  app.post('/', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    const accessKey = verifier.verify({ method: request.method, url: request.url, headers: request.headers, body });
    request.accessKeyId = accessKey.accessKeyId;

    const target = request.headers['x-amz-target'];
    const name = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    const model = name === undefined ? undefined : kmsModel.operations[name];
    if (name === undefined || !service.performs(name) || !model?.input) {
      throw new KmsError('UnknownOperationException', `The operation ${String(target ?? '')} is not known to this service.`);
    }
    request.operation = name;
    const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (!CONTENT_TYPES.has(contentType)) {
      throw new KmsError('SerializationException', 'Content-Type must be application/x-amz-json-1.1.');
    }
    // The validator builds exactly the request type kms-api.ts declares: both are made from kms-model.json.
    const input = validateInput(kmsModel, model.input, parseJson(body)) as KmsApi[OperationName]['input'];
    const output = await service.call(name, input, callerOf(accessKey));
    reply.header('content-type', AWS_JSON_1_1);
    return Buffer.from(toJson(output));
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
function toJson(output: object): string {
  let json = '';
  for (const key in output) {
    const value = (output as Record<string, unknown>)[key];
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
