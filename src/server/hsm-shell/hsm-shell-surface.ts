import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CloudHsmError, HsmShell, HsmShellError, HsmUserError, type ActorSeen, type HsmShellErrorKind } from '../../hsm/index.ts';
import type { RequestAudit } from '../audit-hook.ts';
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
type Args = Record<string, unknown>;

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

  const body = (request: FastifyRequest): Args => {
    const bytes = rawBody(request);
    let parsed: unknown;
    try {
      parsed = bytes.length === 0 ? {} : JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new HsmShellError('InvalidCommand', 'the body is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HsmShellError('InvalidCommand', 'the body is a JSON object');
    return parsed as Args;
  };
  const bearer = (request: FastifyRequest): string | undefined => {
    const header = request.headers.authorization;
    return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
  };

  /**
   * Names the operation for the metrics and the audit trail, and runs it with its arguments (`read`
   * from the body): the trail keeps their allow-listed part, the HSM user the shell reveals, and
   * the answer's allow-listed part.
   */
  const audited = async <T>(
    request: FastifyRequest<{ Params: Params }>,
    name: string | undefined,
    read: (request: FastifyRequest) => Args,
    run: (args: Args, seen: ActorSeen) => Promise<T>,
  ): Promise<T> => {
    const audit: RequestAudit = { input: { hsm: request.params.hsm } };
    if (name !== undefined) {
      request.operation = `hsm:${name}`;
      audit.eventName = name;
    }
    request.audit = audit;
    const args = read(request);
    audit.input = { ...args, hsm: request.params.hsm };
    const answer = await run(args, (actor) => {
      audit.hsm = actor;
    });
    audit.output = answer;
    return answer;
  };
  const noBody = (): Args => ({});

  scope.post<{ Params: Params }>('/hsms/:hsm/describe', (request) =>
    audited(request, 'describe', noBody, (_args, seen) => shell.locate(request.params.hsm, seen)),
  );
  scope.post<{ Params: Params }>('/hsms/:hsm/listUsers', (request) =>
    audited(request, 'listUsers', noBody, (_args, seen) => shell.listUsers(request.params.hsm, seen)),
  );
  scope.post<{ Params: Params }>('/hsms/:hsm/login', (request) => audited(request, 'login', body, (args, seen) => shell.login(request.params.hsm, args, seen)));
  scope.post<{ Params: Required<Params> }>('/hsms/:hsm/commands/:command', (request) => {
    const { hsm, command } = request.params;
    // Only known commands name the operation: a metric label or an event name must not take any name a caller sends.
    return audited(request, shell.knows(command) ? command : undefined, body, (args, seen) => shell.run(hsm, bearer(request), command, args, seen));
  });
  return Promise.resolve();
};
