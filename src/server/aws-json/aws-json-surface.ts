import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { KmsError, type ErrorName } from '../../errors/index.ts';
import type { KeyService, KmsApi, OperationName } from '../../kms/index.ts';
import { callerOf } from '../auth/caller-of.ts';
import { SigV4Verifier, readAuthorization, type AccessKey, type SessionCredentials } from '../auth/sigv4.ts';
import { infrastructureError, type InfrastructureErrorKind } from '../infrastructure-errors.ts';
import type { RequestAudit } from '../audit-hook.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';
import { FORWARDED_FROM, RegionForwarder } from './forward-to-region.ts';
import { kmsModel } from './kms-model.ts';
import { validateInput } from './validate-input.ts';

export interface AwsJsonSurfaceOptions {
  service: KeyService;
  accessKeys: readonly AccessKey[];
  /** Temporary credentials STS issued; without them a request with a session token is refused. */
  sessions?: SessionCredentials | undefined;
  /** The deployment's other regions and where they listen: requests signed for one of them are served there. */
  peers: Readonly<Record<string, { url: string }>>;
}

const TARGET_PREFIX = 'TrentService.';
/** AWS's content type, exactly: a Buffer reply keeps Fastify from appending `; charset=utf-8`. */
const AWS_JSON_1_1 = 'application/x-amz-json-1.1';
const AWS_JSON_CONTENT_TYPES = [AWS_JSON_1_1, 'application/x-amz-json-1.0'];
const CONTENT_TYPES = new Set(AWS_JSON_CONTENT_TYPES);
/** AWS KMS's limit on a request body. */
const BODY_LIMIT = 1024 * 1024;

/** The AWS exception each infrastructure error is told as; its status is AWS's for that exception. */
const AWS_ERRORS: Record<InfrastructureErrorKind, ErrorName> = {
  StoreUnavailable: 'DependencyTimeoutException',
  MasterKeyUnavailable: 'KeyUnavailableException',
  BodyTooLarge: 'RequestEntityTooLargeException',
  MalformedRequest: 'SerializationException',
  RouteNotFound: 'UnknownOperationException',
};

/**
 * The AWS KMS API: POST / with X-Amz-Target: TrentService.<Operation>, SigV4-signed for the
 * service 'kms', AWS JSON 1.1 in and out, inputs checked against botocore's model, errors
 * answered as {__type, message} with X-Amzn-ErrorType. This is the hot path: no hooks.
 *
 * A request signed for another region of the deployment is served by that region: forwarded
 * as it came (within this surface's body limit) to that peer's configured URL, where its
 * signature is verified, and its answer relayed. So one endpoint serves every region, as
 * Terraform's replica keys need (it sends ReplicateKey to the replica's endpoint, signed for
 * the primary's region). Any other region is refused, naming those that exist.
 */
export const awsJsonSurface: FastifyPluginAsync<AwsJsonSurfaceOptions> = (scope, { service, accessKeys, sessions, peers }) => {
  const region = service.ctx.region;
  // A Map, not the config object: a scope naming "constructor" or "__proto__" must find no peer.
  const peerUrls = new Map(Object.entries(peers).map(([name, peer]) => [name, peer.url]));
  const validRegions = `This deployment's regions: ${[`${region} (this endpoint)`, ...Object.entries(peers).map(([name, peer]) => `${name} (${peer.url})`)].join(', ')}.`;
  // X-Amz-Target names the operation: unsigned, it could turn a signed Decrypt into any other call.
  const verifier = new SigV4Verifier(region, 'kms', accessKeys, { signedHeaders: ['X-Amz-Target'], validRegions, sessions });
  const forwarder = new RegionForwarder(region);
  scope.addHook('onClose', (_scope, done) => {
    forwarder.close();
    done();
  });
  acceptRawBodies(scope, BODY_LIMIT, AWS_JSON_CONTENT_TYPES);

  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const known = toKmsError(error);
    if (!known) request.log.error({ err: error, operation: request.operation }, 'unexpected error');
    else if (known.status >= 500) request.log.warn({ err: error, operation: request.operation }, known.message);
    const reported = known ?? new KmsError('KMSInternalException', `An internal error occurred. Request ID: ${request.id}`);
    void reply
      .status(reported.status)
      .header('content-type', AWS_JSON_1_1)
      .header('x-amzn-ErrorType', reported.code)
      .send(Buffer.from(JSON.stringify({ __type: reported.code, message: reported.message })));
  });

  scope.post('/', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = rawBody(request);
    // Parsed once: the region it names picks where the request is served, and verify reads it again from here.
    const authorization = readAuthorization(request.headers);
    const signedFor = authorization.scope[2];
    const peerUrl = signedFor === region ? undefined : peerUrls.get(signedFor);
    if (peerUrl !== undefined) {
      const from = request.headers[FORWARDED_FROM];
      if (from !== undefined) {
        throw new KmsError(
          'InvalidSignatureException',
          `Credential is scoped to ${signedFor}, and ${String(from)} already forwarded this request here: check the peer URLs of both regions. ${validRegions}`,
        );
      }
      const target = request.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith(TARGET_PREFIX)) request.operation = target.slice(TARGET_PREFIX.length);
      request.forwardedTo = signedFor;
      const answer = await forwarder.forward(signedFor, peerUrl, { method: request.method, url: request.url, headers: request.headers, body });
      request.forwardedRequestId = String(answer.headers['x-amzn-requestid'] ?? '');
      void reply.status(answer.status).headers(answer.headers);
      return answer.body;
    }
    const verified = verifier.verify({ method: request.method, url: request.url, headers: request.headers, body }, authorization);
    // Only session credentials are looked up asynchronously: a long-term key's request goes on without yielding.
    const accessKey = verified instanceof Promise ? await verified : verified;
    request.accessKeyId = accessKey.accessKeyId;
    const audit = (request.audit = { caller: accessKey } as RequestAudit);
    request.principal = accessKey.principal;

    const target = request.headers['x-amz-target'];
    const name = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    const model = name === undefined ? undefined : kmsModel.operations[name];
    if (name === undefined || !service.performs(name) || !model?.input) {
      throw new KmsError('UnknownOperationException', `The operation ${String(target ?? '')} is not known to this service.`);
    }
    request.operation = audit.eventName = name;
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (!CONTENT_TYPES.has(contentType)) {
      throw new KmsError('SerializationException', 'Content-Type must be application/x-amz-json-1.1.');
    }
    // The validator builds exactly the request type kms-api.ts declares: both are made from kms-model.json.
    const input = validateInput(kmsModel, model.input, parseJson(body)) as KmsApi[OperationName]['input'];
    audit.input = input;
    request.keyId = keyNamedIn(input);
    const output = (audit.output = await service.call(name, input, callerOf(accessKey)));
    request.keyId = keyNamedIn(output) ?? request.keyId;
    reply.header('content-type', AWS_JSON_1_1);
    return toJson(output);
  });
  return Promise.resolve();
};

/** The AWS exception an error is answered as; undefined for an unexpected one. */
export function toKmsError(error: unknown): KmsError | undefined {
  if (error instanceof KmsError) return error;
  const infrastructure = infrastructureError(error);
  return infrastructure && new KmsError(AWS_ERRORS[infrastructure.kind], infrastructure.message);
}

/**
 * The key a request or its answer names, for the request's log line: the key ID, ARN or alias
 * the caller gave, then the key the answer reports (an ARN, and the key of a Decrypt or CreateKey).
 */
function keyNamedIn(message: object): string | undefined {
  const { KeyId, KeyMetadata, TargetKeyId, DestinationKeyId } = message as {
    KeyId?: unknown;
    KeyMetadata?: { KeyId?: unknown };
    TargetKeyId?: unknown;
    DestinationKeyId?: unknown;
  };
  const named = KeyId ?? KeyMetadata?.KeyId ?? TargetKeyId ?? DestinationKeyId;
  return typeof named === 'string' ? named : undefined;
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
 * An operation's output as AWS JSON, in the Buffer the reply sends. Top-level blobs are written
 * directly: base64 needs no escaping, and JSON.stringify's scan of a large ciphertext or
 * plaintext is a real cost; and the pieces are written into the Buffer as they are rather than
 * joined into one string first, which V8 would flatten into another copy of the answer.
 */
function toJson(output: object): Buffer {
  /** Per member: its name as JSON with the colon, its value as JSON, or as base64 to be quoted. */
  const pieces: { name: string; json?: string; base64?: string }[] = [];
  let length = 1;
  for (const key in output) {
    const value = (output as Record<string, unknown>)[key];
    const name = memberName(key);
    if (Buffer.isBuffer(value)) {
      const base64 = value.toString('base64');
      pieces.push({ name, base64 });
      length += 1 + Buffer.byteLength(name) + base64.length + 2;
      continue;
    }
    const json = (typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(encodeBlobs(value))) as string | undefined;
    if (json === undefined) continue;
    pieces.push({ name, json });
    length += 1 + Buffer.byteLength(name) + Buffer.byteLength(json);
  }
  if (pieces.length === 0) return Buffer.from('{}');
  const answer = Buffer.allocUnsafe(length);
  let at = 0;
  for (const { name, json, base64 } of pieces) {
    answer[at] = at === 0 ? OPENING_BRACE : COMMA;
    at++;
    at += answer.write(name, at, 'utf8');
    if (base64 === undefined) {
      at += answer.write(json!, at, 'utf8');
      continue;
    }
    answer[at++] = QUOTE;
    at += answer.write(base64, at, 'latin1');
    answer[at++] = QUOTE;
  }
  answer[at] = CLOSING_BRACE;
  return answer;
}

/** Output member names as JSON, with their colon: the operations' own few names, made once. */
const memberNames = new Map<string, string>();
const memberName = (key: string): string => {
  let name = memberNames.get(key);
  if (name === undefined) memberNames.set(key, (name = `${JSON.stringify(key)}:`));
  return name;
};

const OPENING_BRACE = 0x7b;
const COMMA = 0x2c;
const QUOTE = 0x22;
const CLOSING_BRACE = 0x7d;

/** Blobs travel as base64 strings. */
function encodeBlobs(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(encodeBlobs);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // Defined, not assigned: a map key named __proto__ (an encryption context's) is data.
    for (const key in value)
      Object.defineProperty(out, key, { value: encodeBlobs((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}
