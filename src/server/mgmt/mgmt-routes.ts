import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { CryptoUnitError, MasterKeyUnavailableError, type CommandName, type RegionCryptoUnit, type Rewrapper, type SignedCommand, type UnitErrorKind } from '../../cryptounits/index.ts';
import { KmsError } from '../../errors/index.ts';
import type { Caller } from '../../kms/index.ts';
import { callerOf } from '../auth/caller-of.ts';
import { SigV4Verifier, type AccessKey } from '../auth/sigv4.ts';

export interface MgmtApi {
  units: RegionCryptoUnit;
  rewrapper: Rewrapper;
  /** Throws AccessDeniedException unless the caller's identity policies allow `concord:<action>`. */
  authorize(caller: Caller, action: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** The SigV4 service name management requests are signed for. */
export const MGMT_SERVICE = 'concord-mgmt';

const STATUS: Record<UnitErrorKind, number> = { NotFound: 404, InvalidRequest: 400, SignatureRequired: 403, StaleNonce: 409, InvalidState: 409 };
/** The IAM action (after `concord:`) an identity policy must allow for each unit command. */
const COMMAND_ACTIONS: Record<CommandName, string> = {
  'admin-add': 'AddCryptoUnitAdministrator',
  'admin-remove': 'RemoveCryptoUnitAdministrator',
  'thresholds-set': 'SetCryptoUnitThresholds',
  'mk-generate': 'GenerateMasterKey',
  'mk-export': 'ExportMasterKey',
  'mk-load': 'LoadMasterKey',
  'mk-commit': 'CommitMasterKey',
  'mk-set': 'SetMasterKey',
  'mk-recover': 'RecoverMasterKey',
  zeroize: 'ZeroizeCryptoUnit',
};
const COMMANDS = Object.keys(COMMAND_ACTIONS) as CommandName[];
const MAX_REWRAP_BATCH = 5000;

/**
 * The crypto unit management API that `concord tke` talks to, under /mgmt/v1. Requests are
 * signed with SigV4 for the service 'concord-mgmt' by one of the region's access keys, whose
 * principal's identity policies must allow the `concord:` action of the request; errors answer
 * {error, message} with a 4xx status.
 */
export function mgmtRoutes(app: FastifyInstance, api: MgmtApi, region: string, accessKeys: readonly AccessKey[]): void {
  const verifier = new SigV4Verifier(region, MGMT_SERVICE, accessKeys);
  void app.register(
    async (scope) => {
      scope.setErrorHandler((error: FastifyError, request, reply) => {
        const [status, code] = classify(error);
        if (status >= 500) request.log.error({ err: error }, 'management request failed');
        void reply.status(status).send({ error: code, message: status >= 500 ? `An internal error occurred. Request ID: ${request.id}` : error.message });
      });
      scope.addHook('preHandler', async (request) => {
        const accessKey = verifier.verify({ method: request.method, url: request.url, headers: request.headers, body: bodyOf(request) });
        request.accessKeyId = accessKey.accessKeyId;
        request.caller = callerOf(accessKey);
      });
      const authorize = (request: FastifyRequest, action: string): Promise<void> => api.authorize(request.caller!, action);

      scope.get('/units', async (request) => {
        await authorize(request, 'ListCryptoUnits');
        // Another node may have changed a unit within the last second: a command signed for a stale nonce would be refused.
        await api.units.refresh();
        return { region, units: api.units.units.map((u) => u.info()) };
      });
      scope.get<{ Params: { id: string } }>('/units/:id', async (request) => {
        await authorize(request, 'DescribeCryptoUnit');
        await api.units.refresh();
        return api.units.unit(request.params.id).info();
      });
      scope.post<{ Params: { id: string } }>('/units/:id/commands', async (request) => {
        const command = signedCommand(json(request));
        // The request log line then says which command ran on which unit: the audit trail of the ceremony.
        request.operation = `tke ${command.command} ${request.params.id}`;
        await authorize(request, COMMAND_ACTIONS[command.command]);
        return api.units.unit(request.params.id).execute(command);
      });
      scope.get('/rewrap', async (request) => {
        await authorize(request, 'GetRewrapStatus');
        return { total: await api.rewrapper.count(), pattern: api.units.wrapPattern() ?? null };
      });
      scope.post('/rewrap', async (request) => {
        await authorize(request, 'RewrapKeyMaterial');
        const body = json(request);
        const limit = (body.limit ?? 1000) as number;
        if (typeof body.pattern !== 'string') throw invalid("'pattern' is the verification pattern to re-wrap under.");
        if (body.cursor !== undefined && typeof body.cursor !== 'string') throw invalid("'cursor' is a string from the previous answer.");
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REWRAP_BATCH) throw invalid(`'limit' is between 1 and ${MAX_REWRAP_BATCH}.`);
        return api.rewrapper.batch(body.pattern, body.cursor, limit);
      });
    },
    { prefix: '/mgmt/v1' },
  );
}

function classify(error: FastifyError): [number, string] {
  if (error instanceof CryptoUnitError) return [STATUS[error.kind], error.kind];
  // A stored record under a master key no register holds stops a re-wrap; the message says which.
  if (error instanceof MasterKeyUnavailableError) return [409, 'MasterKeyUnavailable'];
  if (error instanceof KmsError) return [error.status >= 500 ? error.status : error.code === 'UnrecognizedClientException' ? 401 : 403, error.code];
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return [413, 'RequestTooLarge'];
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return [error.statusCode, 'InvalidRequest'];
  return [500, 'InternalError'];
}

const bodyOf = (request: FastifyRequest): Buffer => (request.body as Buffer | undefined) ?? Buffer.alloc(0);

function invalid(message: string): CryptoUnitError {
  return new CryptoUnitError('InvalidRequest', message);
}

function json(request: FastifyRequest): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(bodyOf(request).toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw invalid('The request body is not a JSON object.');
}

function signedCommand(body: Record<string, unknown>): SignedCommand {
  const { command, args, nonce, signatures } = body;
  if (typeof command !== 'string' || !COMMANDS.includes(command as CommandName)) throw invalid(`'command' is one of ${COMMANDS.join(', ')}.`);
  if (!args || typeof args !== 'object' || Array.isArray(args) || !Object.values(args).every((v) => typeof v === 'string' || typeof v === 'number')) {
    throw invalid("'args' is an object of strings and numbers.");
  }
  if (typeof nonce !== 'string') throw invalid("'nonce' is the unit's current nonce.");
  if (!Array.isArray(signatures) || !signatures.every((s) => s && typeof s.publicKey === 'string' && typeof s.signature === 'string')) {
    throw invalid("'signatures' is a list of {publicKey, signature}.");
  }
  return { command: command as CommandName, args: args as SignedCommand['args'], nonce, signatures };
}
