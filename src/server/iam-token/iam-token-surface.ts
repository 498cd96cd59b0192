import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { APIKEY_GRANT, IamError, type IamTokens, type IssuedTokens, type NewApiKey } from '../../iam/index.ts';
import type { Caller } from '../../kms/index.ts';
import type { AccessKey, SessionCredentials } from '../auth/sigv4.ts';
import { infrastructureError, type InfrastructureError } from '../infrastructure-errors.ts';
import type { JsonBodySchema } from '../mgmt/json-body-validator.ts';
import { managementScope } from '../mgmt/management-scope.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';

export interface IamTokenSurfaceOptions {
  tokens: IamTokens;
  region: string;
  /** SigV4 for the API key management routes, as for the rest of /mgmt/v1. */
  accessKeys: readonly AccessKey[];
  sessions?: SessionCredentials | undefined;
  /** Throws AccessDeniedException unless the caller's identity policies allow `concord:<action>`. */
  authorize: (caller: Caller, action: string) => Promise<void>;
}

const FORM = 'application/x-www-form-urlencoded';
/** A token request is a grant type and an API key or refresh token. */
const TOKEN_BODY_LIMIT = 16 * 1024;
const MGMT_BODY_LIMIT = 16 * 1024;

const NEW_API_KEY: JsonBodySchema = {
  type: 'object',
  description: 'The request body is not a JSON object.',
  required: ['principal'],
  properties: {
    principal: { description: "'principal' is the ARN of a user or role of the account.", type: 'string' },
    name: { description: "'name' is a string.", type: 'string' },
    description: { description: "'description' is a string.", type: 'string' },
  },
};

/**
 * IBM IAM's token endpoint, which IBM's SDKs call before any request to an IBM surface:
 * POST /identity/token and /oidc/token (form-encoded, an API key or refresh token in, an
 * access token out, IAM's {errorCode, errorMessage, context} on failure), GET /identity/keys
 * (the signing key). Beside it the API keys' management, /mgmt/v1/apikeys: SigV4 for
 * concord-mgmt and `concord:<Action>` like the rest of the management API, {error, message}.
 */
export const iamTokenSurface: FastifyPluginAsync<IamTokenSurfaceOptions> = async (scope, options) => {
  await scope.register(tokenRoutes, options);
  await scope.register(apiKeyRoutes, { ...options, prefix: '/mgmt/v1/apikeys' });
};

const tokenRoutes: FastifyPluginAsync<IamTokenSurfaceOptions> = (scope, { tokens }) => {
  acceptRawBodies(scope, TOKEN_BODY_LIMIT, [FORM]);
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const known = error instanceof IamError ? error : undefined;
    const infrastructure = known ? undefined : infrastructureError(error);
    if (!known && !infrastructure) request.log.error({ err: error }, 'IAM token request failed');
    const { code, status, message } = known ?? iamInfrastructureError(infrastructure);
    void reply.status(status).send({
      errorCode: code,
      errorMessage: message,
      context: { requestId: request.id, requestType: 'incoming.Identity_Token', url: request.url.split('?')[0], locale: 'en_US' },
    });
  });
  /** The trail names the API key the token was issued for by its ID (never the key itself). */
  const issued = (request: FastifyRequest, reply: FastifyReply, { response, apiKeyId, principal }: IssuedTokens) => {
    request.audit = { ...request.audit, caller: { accessKeyId: apiKeyId, principal } };
    return reply.header('cache-control', 'no-store').send(response);
  };
  const token = async (request: FastifyRequest, reply: FastifyReply) => {
    request.operation = 'iam:GetToken';
    if (!(request.headers['content-type'] ?? '').startsWith(FORM)) throw new IamError('BXNIM0109E', 400, `The request body must be ${FORM}.`);
    const form = new URLSearchParams(rawBody(request).toString('utf8'));
    const grantType = form.get('grant_type');
    if (!grantType) throw missing('grant_type');
    // The grant type only: the API key and refresh token never reach the trail.
    request.audit = { eventName: 'GetToken', input: { grant_type: grantType.slice(0, 100) } };
    if (grantType === APIKEY_GRANT) {
      const apikey = form.get('apikey');
      if (!apikey) throw missing('apikey');
      return issued(request, reply, await tokens.exchangeApiKey(apikey));
    }
    if (grantType === 'refresh_token') {
      const refreshToken = form.get('refresh_token');
      if (!refreshToken) throw missing('refresh_token');
      return issued(request, reply, await tokens.refresh(refreshToken));
    }
    throw new IamError('BXNIM0109E', 400, `Unsupported grant_type '${grantType.slice(0, 100)}'.`);
  };
  scope.post('/identity/token', token);
  scope.post('/oidc/token', token);
  scope.get('/identity/keys', () => tokens.jwks());
  return Promise.resolve();
};

const apiKeyRoutes: FastifyPluginAsync<IamTokenSurfaceOptions> = (scope, { tokens, region, accessKeys, sessions, authorize }) => {
  managementScope(scope, {
    region,
    accessKeys,
    sessions,
    bodyLimit: MGMT_BODY_LIMIT,
    moduleError: (error) => (error instanceof IamError ? { status: error.status, code: error.code, message: error.message } : undefined),
  });
  const allows = (action: string) => async (request: FastifyRequest) => {
    request.operation = `concord:${action}`;
    request.audit = { caller: { accessKeyId: request.accessKeyId!, principal: request.caller!.arn }, eventName: action, input: request.params };
    await authorize(request.caller!, action);
  };

  scope.post<{ Body: NewApiKey }>('/', { preValidation: allows('CreateApiKey'), schema: { body: NEW_API_KEY } }, async (request, reply) => {
    const { apiKey, secret } = await tokens.apiKeys.create(request.body, request.caller!.arn);
    return reply
      .status(201)
      .header('cache-control', 'no-store')
      .send({ ...apiKey, apikey: secret });
  });
  scope.get<{ Querystring: { principal?: string } }>('/', { preValidation: allows('ListApiKeys') }, async (request) => ({
    apikeys: await tokens.apiKeys.list(request.query.principal),
  }));
  scope.post<{ Params: { id: string } }>('/:id/revoke', { preValidation: allows('RevokeApiKey') }, async (request) =>
    tokens.apiKeys.revoke(request.params.id, request.caller!.arn),
  );
  return Promise.resolve();
};

const missing = (property: string): IamError => new IamError('BXNIM0109E', 400, `Property missing or empty: ${property}.`);

function iamInfrastructureError(infrastructure: InfrastructureError | undefined): { code: string; status: number; message: string } {
  if (!infrastructure) return { code: 'BXNIM0000E', status: 500, message: 'An internal error occurred.' };
  return { code: infrastructure.status >= 500 ? 'BXNIM0000E' : 'BXNIM0109E', status: infrastructure.status, message: infrastructure.message };
}
