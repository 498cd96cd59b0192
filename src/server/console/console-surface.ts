import { fileURLToPath } from 'node:url';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { adminKeyId } from '../../cryptounits/index.ts';
import { KmsError } from '../../errors/index.ts';
import { KpError, type KeyProtectService } from '../../keyprotect/index.ts';
import type { Caller, KeyService, KmsApi, OperationName } from '../../kms/index.ts';
import type { AccessKey } from '../auth/sigv4.ts';
import { kmsModel } from '../aws-json/kms-model.ts';
import { validateInput } from '../aws-json/validate-input.ts';
import { infrastructureError, routeNotFound } from '../infrastructure-errors.ts';
import type { MgmtApi } from '../mgmt/mgmt-surface.ts';
import { UKO_STATUS } from '../uko/index.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';
import { loadConsoleAssets } from './console-assets.ts';
import { ConsoleError } from './console-error.ts';
import { parseObject } from './parse-object.ts';
import { ConsoleSessions, csrfTokenMatches, MAX_SESSION_MS, type ConsoleSession } from './console-sessions.ts';
import { auditRoutes } from './audit-routes.ts';
import { hsmRoutes, type HsmRoutesOptions } from './hsm-routes.ts';
import { ibmRoutes } from './ibm-routes.ts';
import { accessKeySignIn, apiKeySignIn, type SignInMethod } from './sign-in-methods.ts';
import { UkoError, type Uko } from '../../uko/index.ts';
import type { AuditTrail } from '../../audit/index.ts';
import { CloudHsmError } from '../../hsm/index.ts';
import type { IamTokens } from '../../iam/index.ts';

export interface ConsoleSurfaceOptions {
  service: KeyService;
  accessKeys: readonly AccessKey[];
  /** The crypto unit management API, for the crypto units page. */
  mgmt?: MgmtApi | undefined;
  /** Key Protect, for a root key's associated resources. */
  keyProtect?: KeyProtectService | undefined;
  /** Unified Key Orchestrator, for the managed keys pages. */
  uko?: Uko | undefined;
  /** IAM API keys, a second way to sign in. */
  iam?: IamTokens | undefined;
  /** The CloudHSM v2 API's service and authorization, for the HSM clusters and backups pages. */
  cloudhsm?: HsmRoutesOptions | undefined;
  /** The region's audit trail, for a key's audit events. */
  audit?: AuditTrail | undefined;
  /** The deployment's other regions, whose consoles the region menu links to. */
  peers: Readonly<Record<string, { url: string }>>;
  /** Where the built console is; by default dist/console-ui beside the compiled server. */
  assetsDir?: string;
  sessions?: ConsoleSessions;
}

/** The KMS operations the console's pages perform, each authorized as the signed-in principal's API call would be. */
const CONSOLE_OPERATIONS: ReadonlySet<OperationName> = new Set<OperationName>([
  'ListKeys',
  'DescribeKey',
  'ListAliases',
  'ListResourceTags',
  'GetKeyPolicy',
  'ListGrants',
  'GetKeyRotationStatus',
  'CreateKey',
  'CreateAlias',
  'DeleteAlias',
  'TagResource',
  'UntagResource',
  'EnableKey',
  'DisableKey',
  'ScheduleKeyDeletion',
  'CancelKeyDeletion',
  'EnableKeyRotation',
  'DisableKeyRotation',
  'ReplicateKey',
  'UpdatePrimaryRegion',
]);
/** Sign-in forms and KMS inputs the console sends are small. */
const BODY_LIMIT = 64 * 1024;
/** The key list's first page: what one screen shows. */
const KEYS_PAGE = 100;
const CSRF_HEADER = 'x-csrf-token';
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: ConsoleSession;
    consoleCaller?: Caller;
  }
}

/**
 * The web console at /console: the built pages (scripts/build-console.ts, from console/) and the
 * small JSON API they call under /console/api. Signing in with a credential opens a session held
 * in the region's store, carried by an HttpOnly, SameSite=Strict cookie (Secure over TLS); every
 * change needs the request's Origin to be this server's and the session's CSRF token in a header.
 * Each action is `KeyService.call` (or the management API's authorization) with the session's
 * caller, so the console may do exactly what the same principal may do through the API.
 */
export const consoleSurface: FastifyPluginAsync<ConsoleSurfaceOptions> = (scope, options) => {
  const { service, mgmt, peers } = options;
  const region = service.ctx.region;
  const assets = loadConsoleAssets(options.assetsDir ?? fileURLToPath(new URL('../../console-ui/', import.meta.url)));
  const sessions = options.sessions ?? new ConsoleSessions(service.ctx.store);
  const methods: Readonly<Record<string, SignInMethod>> = {
    accessKey: accessKeySignIn(options.accessKeys),
    ...(options.iam ? { apiKey: apiKeySignIn(options.iam) } : {}),
  };
  /** The caller a live session acts as; undefined once the session ended or its credential is gone. */
  const sessionCaller = async (request: FastifyRequest): Promise<{ session: ConsoleSession; caller: Caller } | undefined> => {
    const session = await sessions.resume(cookieOf(request.headers.cookie, cookieName(request)));
    const caller = session && (await methods[session.method]?.callerOf(session));
    return session && caller && { session, caller };
  };
  const regions = [{ name: region, url: '' }, ...Object.entries(peers).map(([name, peer]) => ({ name, url: peer.url }))];

  acceptRawBodies(scope, BODY_LIMIT, ['application/json']);
  scope.addHook('onSend', (_request, reply, payload, done) => {
    void reply.headers(SECURITY_HEADERS);
    done(null, payload);
  });
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = consoleError(error, request.id);
    if (answer.status >= 500) request.log.error({ err: error }, 'console request failed');
    void reply.status(answer.status).header('cache-control', 'no-store').send({ error: answer.code, message: answer.message });
  });
  scope.setNotFoundHandler((request, reply) => {
    const { status, message } = routeNotFound(request);
    void reply.status(status).send({ error: 'NotFound', message });
  });

  const cookieName = (request: FastifyRequest): string =>
    // Cookies ignore ports, and `concord dev` serves each region on a port of one host: each region has its own name.
    `${request.protocol === 'https' ? '__Host-' : ''}concord-console-${region}`;
  const setCookie = (request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number) => {
    const secure = request.protocol === 'https' ? '; Secure' : '';
    void reply.header('set-cookie', `${cookieName(request)}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
  };
  const sessionInfo = (session: ConsoleSession) => ({
    region,
    regions,
    method: session.method,
    principal: session.principal,
    credentialId: session.credentialId,
    csrfToken: session.csrfToken,
    idleTimeoutSeconds: Math.round(sessions.idleTimeoutMs / 1000),
  });

  // A cross-site page can make a browser send a form or a fetch with this site's cookie, but not
  // with this site's Origin, a JSON content type (without a preflight, which is never granted) or
  // a header holding the CSRF token it cannot read. Sign-in is checked too: a forced sign-in
  // would put the victim in the attacker's session.
  scope.addHook('preHandler', async (request) => {
    const route = request.routeOptions.url ?? request.url;
    if (!route.startsWith('/console/api/')) return;
    if (UNSAFE_METHODS.has(request.method)) {
      if (request.headers.origin !== `${request.protocol}://${request.headers.host ?? ''}`)
        throw new ConsoleError(403, 'CrossSiteRequestRefused', 'The request did not come from this console (Origin).');
      if (request.body !== undefined && (request.headers['content-type'] ?? '').split(';')[0]!.trim() !== 'application/json')
        throw new ConsoleError(415, 'UnsupportedMediaType', 'The console API takes application/json.');
    }
    if (route === '/console/api/session' && request.method !== 'DELETE') return;
    const signedIn = await sessionCaller(request);
    if (!signedIn) throw new ConsoleError(401, 'SignInRequired', 'Sign in to the console.');
    const { session, caller } = signedIn;
    if (UNSAFE_METHODS.has(request.method) && !csrfTokenMatches(session, request.headers[CSRF_HEADER]))
      throw new ConsoleError(403, 'CrossSiteRequestRefused', 'The request did not carry this session’s CSRF token.');
    request.consoleSession = session;
    request.consoleCaller = caller;
    request.accessKeyId = session.credentialId;
    // What the console does is the KMS or management API's operation, and is audited as such.
    request.audit = { caller: { accessKeyId: session.credentialId, principal: session.principal } };
  });

  scope.get('/', (_request, reply) => sendAsset(reply, 'index.html', _request));
  scope.get<{ Params: { name: string } }>('/assets/:name', (request, reply) => sendAsset(reply, `assets/${request.params.name}`, request));
  const sendAsset = (reply: FastifyReply, path: string, request: FastifyRequest) => {
    const asset = assets.get(path);
    if (!asset) {
      if (path === 'index.html') throw new ConsoleError(503, 'ConsoleNotBuilt', 'The console is not built: run npm run build.');
      throw new ConsoleError(404, 'NotFound', `No route for GET ${request.url}`);
    }
    const gzip = /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
    void reply
      .header('content-type', asset.contentType)
      .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('vary', 'accept-encoding');
    if (gzip) void reply.header('content-encoding', 'gzip');
    return reply.send(gzip ? asset.gzipped : asset.body);
  };

  scope.get('/api/session', async (request, reply) => {
    const signedIn = await sessionCaller(request);
    if (!signedIn) throw new ConsoleError(401, 'SignInRequired', 'Sign in to the console.');
    void reply.header('cache-control', 'no-store');
    return sessionInfo(signedIn.session);
  });
  scope.post('/api/session', async (request, reply) => {
    const fields = parseObject(rawBody(request));
    const method = typeof fields.method === 'string' && Object.hasOwn(methods, fields.method) ? methods[fields.method] : undefined;
    if (!method) throw new ConsoleError(400, 'InvalidRequest', `Sign in with one of: ${Object.keys(methods).join(', ')}.`);
    const identity = await method.signIn(fields);
    if (!identity) throw new ConsoleError(401, 'SignInFailed', 'The credentials are not valid for this region.');
    request.accessKeyId = identity.credentialId;
    // Whatever cookie came with the request is ended: a signed-in session always has a token made here.
    await sessions.close(cookieOf(request.headers.cookie, cookieName(request)));
    const { token, session } = await sessions.open(identity);
    setCookie(request, reply, token, MAX_SESSION_MS / 1000);
    void reply.header('cache-control', 'no-store');
    return sessionInfo(session);
  });
  scope.delete('/api/session', async (request, reply) => {
    await sessions.close(cookieOf(request.headers.cookie, cookieName(request)));
    setCookie(request, reply, '', 0);
    return reply.status(204).send();
  });

  scope.get<{ Querystring: { marker?: string } }>('/api/keys', async (request, reply) => {
    const caller = request.consoleCaller!;
    const marker = typeof request.query.marker === 'string' && request.query.marker !== '' ? request.query.marker : undefined;
    request.audit = { ...request.audit, source: 'kms', eventName: 'ListKeys' };
    const page = await service.call('ListKeys', { Limit: KEYS_PAGE, ...(marker !== undefined ? { Marker: marker } : {}) }, caller);
    const aliases = await service.call('ListAliases', {}, caller).catch((error: unknown) => denied(error));
    const keys = await Promise.all(
      (page.Keys ?? []).map(async ({ KeyId }) => {
        const described = await service.call('DescribeKey', { KeyId: KeyId! }, caller).catch((error: unknown) => denied(error));
        return {
          KeyId,
          KeyMetadata: 'error' in described ? undefined : described.KeyMetadata,
          error: 'error' in described ? described.error : undefined,
          Aliases: 'error' in aliases ? [] : (aliases.Aliases ?? []).filter((a) => a.TargetKeyId === KeyId).map((a) => a.AliasName),
        };
      }),
    );
    void reply.header('cache-control', 'no-store');
    return { keys, nextMarker: page.Truncated ? page.NextMarker : undefined, aliasesError: 'error' in aliases ? aliases.error : undefined };
  });

  scope.post<{ Params: { operation: string } }>('/api/kms/:operation', async (request, reply) => {
    const name = request.params.operation;
    const model = service.performs(name) && CONSOLE_OPERATIONS.has(name) ? kmsModel.operations[name] : undefined;
    if (!service.performs(name) || !model?.input) throw new ConsoleError(404, 'UnknownOperation', `The console does not perform ${name}.`);
    request.operation = name;
    const audit = (request.audit = { ...request.audit, source: 'kms', eventName: name });
    const input = (audit.input = validateInput(kmsModel, model.input, parseObject(rawBody(request))) as KmsApi[OperationName]['input']);
    void reply.header('cache-control', 'no-store');
    return (audit.output = await service.call(name, input, request.consoleCaller!));
  });

  ibmRoutes(scope, { service, keyProtect: options.keyProtect, uko: options.uko });
  hsmRoutes(scope, options.cloudhsm);
  auditRoutes(scope, { service, audit: options.audit });

  scope.get('/api/crypto-units', async (request, reply) => {
    if (!mgmt) throw new ConsoleError(404, 'NotFound', `Region ${region} has no managed crypto units.`);
    request.operation = 'ListCryptoUnits';
    request.audit = { ...request.audit, source: 'mgmt', eventName: 'ListCryptoUnits' };
    await mgmt.authorize(request.consoleCaller!, 'ListCryptoUnits');
    // Another node may have run a command within the last second.
    await mgmt.units.refresh();
    void reply.header('cache-control', 'no-store');
    return {
      region,
      units: mgmt.units.units.map((unit) => {
        const { nonce: _nonce, transportKey: _transportKey, ...info } = unit.info();
        return { ...info, admins: info.admins.map((admin) => ({ name: admin.name, keyId: adminKeyId(admin.publicKey) })) };
      }),
    };
  });
  return Promise.resolve();
};

/** An error a page shows in place of what it could not read, rather than failing the whole list. */
function denied(error: unknown): { error: { code: string; message: string } } {
  if (error instanceof KmsError && error.status < 500) return { error: { code: error.code, message: error.message } };
  throw error;
}

/** The value of cookie `name` in a Cookie header, if it is there. */
function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

function consoleError(error: unknown, requestId: string): { status: number; code: string; message: string } {
  if (error instanceof ConsoleError) return { status: error.status, code: error.code, message: error.message };
  if (error instanceof KpError) return { status: error.status, code: error.code, message: error.status >= 500 ? internal(requestId) : kpMessage(error) };
  if (error instanceof UkoError) {
    const status = UKO_STATUS[error.kind];
    return { status, code: error.code, message: status >= 500 && error.kind !== 'keystore' ? internal(requestId) : error.message };
  }
  if (error instanceof KmsError) return { status: error.status, code: error.code, message: error.status >= 500 ? internal(requestId) : error.message };
  if (error instanceof CloudHsmError) return { status: error.status, code: error.code, message: error.status >= 500 ? internal(requestId) : error.message };
  const infrastructure = infrastructureError(error);
  if (infrastructure) return { status: infrastructure.status, code: infrastructure.kind, message: infrastructure.message };
  return { status: 500, code: 'InternalError', message: internal(requestId) };
}

const internal = (requestId: string): string => `An internal error occurred. Request ID: ${requestId}`;

/** Key Protect's reason in the console's words; its refusal of a sync within the interval says when to try again. */
function kpMessage(error: KpError): string {
  if (error.code === 'REQ_TOO_EARLY_ERR') return 'The key was synchronized or changed less than an hour ago; try again after an hour has passed since then.';
  return `${error.action}: ${error.reason}`;
}
