import type { FastifyError, FastifyInstance } from 'fastify';
import { CryptoUnitError } from '../../cryptounits/index.ts';
import { KmsError } from '../../errors/index.ts';
import { callerOf } from '../auth/caller-of.ts';
import { SigV4Verifier, type AccessKey, type SessionCredentials } from '../auth/sigv4.ts';
import { infrastructureError } from '../infrastructure-errors.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';
import { jsonBodyValidator } from './json-body-validator.ts';
import { MGMT_SERVICE } from './mgmt-surface.ts';

export interface ManagementScopeOptions {
  region: string;
  accessKeys: readonly AccessKey[];
  sessions?: SessionCredentials | undefined;
  bodyLimit: number;
  /** The errors of the module served here, as status, code and message; undefined for any other. */
  moduleError?: (error: unknown) => { status: number; code: string; message: string } | undefined;
}

/**
 * Makes `scope` a part of the management API that another module serves under /mgmt/v1 (API
 * keys, Key Protect instances): SigV4 for concord-mgmt before anything else, request.caller
 * set, JSON bodies checked by route schemas, and errors as {error, message}.
 */
export function managementScope(scope: FastifyInstance, options: ManagementScopeOptions): void {
  const verifier = new SigV4Verifier(options.region, MGMT_SERVICE, options.accessKeys, { sessions: options.sessions });
  acceptRawBodies(scope, options.bodyLimit, ['application/json']);
  scope.setValidatorCompiler(jsonBodyValidator);
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, code, message } = options.moduleError?.(error) ?? managementError(error, request.id);
    if (status >= 500) request.log.error({ err: error }, 'management request failed');
    void reply.status(status).send({ error: code, message });
  });
  scope.addHook('preValidation', async (request) => {
    const accessKey = await verifier.verify({ method: request.method, url: request.url, headers: request.headers, body: rawBody(request) });
    request.accessKeyId = accessKey.accessKeyId;
    request.caller = callerOf(accessKey);
  });
}

function managementError(error: unknown, requestId: string): { status: number; code: string; message: string } {
  if (error instanceof CryptoUnitError) return { status: 400, code: error.kind, message: error.message };
  if (error instanceof KmsError && error.status < 500) {
    return { status: error.code === 'UnrecognizedClientException' ? 401 : 403, code: error.code, message: error.message };
  }
  const infrastructure = infrastructureError(error);
  if (infrastructure) return { status: infrastructure.status, code: infrastructure.kind, message: infrastructure.message };
  return { status: 500, code: 'InternalError', message: `An internal error occurred. Request ID: ${requestId}` };
}
