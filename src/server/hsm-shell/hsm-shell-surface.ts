import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CloudHsmError, HsmShell, HsmShellError, HsmUserError, type HsmShellErrorKind } from '../../hsm/index.ts';
import { infrastructureError, routeNotFound } from '../infrastructure-errors.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';

export interface HsmShellSurfaceOptions {
  shell: HsmShell;
}

/** A command's arguments are small; the largest is a synced key (an RSA 4096 private key, sealed). */
const BODY_LIMIT = 64 * 1024;
const STATUS: Record<HsmShellErrorKind | 'Refused' | 'InvalidRequest' | 'RouteNotFound' | 'InternalError', number> = {
  NoSuchHsm: 404,
  NotLoggedIn: 401,
  LoginFailed: 401,
  InvalidCommand: 400,
  InvalidRequest: 400,
  Refused: 403,
  RouteNotFound: 404,
  InternalError: 500,
};

type Params = { hsm: string; command?: string };

/**
 * The endpoint the HSM shells (`concord hsm-mgmt`, `concord hsm-keys`) talk to, as
 * cloudhsm_mgmt_util and key_mgmt_util talk to an HSM: POST /hsm/v1/hsms/<HSM ID or ENI IP>/...
 * with JSON. No AWS credentials: `login` opens a session with an HSM user's password, whose
 * bearer token every command then carries; the HSM user's type decides what it may do.
 * Errors are {error, message}.
 */
export const hsmShellSurface: FastifyPluginAsync<HsmShellSurfaceOptions> = (scope, { shell }) => {
  acceptRawBodies(scope, BODY_LIMIT, ['application/json']);

  const fail = (request: FastifyRequest, reply: FastifyReply, error: keyof typeof STATUS, message: string) => {
    // The metrics and the audit trail name the error as this surface does.
    request.errorType = error;
    return reply.status(STATUS[error]).header('content-type', 'application/json').send(JSON.stringify({ error, message }));
  };
  scope.setNotFoundHandler((request, reply) => fail(request, reply, 'RouteNotFound', routeNotFound(request).message));
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HsmShellError) return fail(request, reply, error.kind, error.message);
    // The HSM's own refusals (users, keys, lineages) and the cluster's state: their messages are for the shell user.
    if (error instanceof HsmUserError) return fail(request, reply, 'Refused', error.message);
    if (error instanceof CloudHsmError) return fail(request, reply, error.status >= 500 ? 'InternalError' : 'Refused', error.message);
    const infrastructure = infrastructureError(error);
    if (infrastructure) return reply.status(infrastructure.status).send({ error: infrastructure.kind, message: infrastructure.message });
    request.log.error({ err: error }, 'HSM shell request failed');
    return fail(request, reply, 'InternalError', `An internal error occurred. Request ID: ${request.id}`);
  });

  const body = (request: FastifyRequest): Record<string, unknown> => {
    const bytes = rawBody(request);
    let parsed: unknown;
    try {
      parsed = bytes.length === 0 ? {} : JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new HsmShellError('InvalidCommand', 'the body is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HsmShellError('InvalidCommand', 'the body is a JSON object');
    return parsed as Record<string, unknown>;
  };
  const bearer = (request: FastifyRequest): string | undefined => {
    const header = request.headers.authorization;
    return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
  };

  scope.post<{ Params: Params }>('/hsms/:hsm/describe', async (request) => {
    request.operation = 'hsm:describe';
    return shell.locate(request.params.hsm);
  });
  scope.post<{ Params: Params }>('/hsms/:hsm/listUsers', async (request) => {
    request.operation = 'hsm:listUsers';
    return shell.listUsers(request.params.hsm);
  });
  scope.post<{ Params: Params }>('/hsms/:hsm/login', async (request) => {
    request.operation = 'hsm:login';
    return shell.login(request.params.hsm, body(request));
  });
  scope.post<{ Params: Required<Params> }>('/hsms/:hsm/commands/:command', async (request) => {
    // Only known commands name the operation: a metric label must not take any name a caller sends.
    if (shell.knows(request.params.command)) request.operation = `hsm:${request.params.command}`;
    return shell.run(request.params.hsm, bearer(request), request.params.command, body(request));
  });
  return Promise.resolve();
};
