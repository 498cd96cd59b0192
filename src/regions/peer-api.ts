import { Ajv, type ValidateFunction } from 'ajv';
import type { Logger } from 'pino';
import { KmsError } from '../errors/index.ts';
import { PEER_HEADERS, PeerAuthError, type PeerAuthenticator, type PeerHeaders } from './peer-auth.ts';
import { PeerRefusal } from './peer-refusal.ts';
import { PEER_SCHEMAS, type PeerActionName } from './peer-schemas.ts';

export interface PeerRequest {
  action: string;
  headers: PeerHeaders;
  body: Buffer;
}

export interface PeerAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A peer action: the authenticated calling region and its payload, checked against the action's
 * schema, so each handler names the payload's type (never here: any payload type is accepted).
 */
export type PeerHandler = (from: string, payload: never) => Promise<unknown>;

export type PeerHandlers = Record<PeerActionName, PeerHandler>;

/** Values the caller chose (headers, the action in the path) reach the log at most this long. */
const LOGGED_CHARS = 64;

const truncated = (value: string): string => (value.length > LOGGED_CHARS ? `${value.slice(0, LOGGED_CHARS)}…` : value);

const errorBody = (code: string, message: string): string => JSON.stringify({ error: { code, message } });

/** An answer given before anyone is authenticated: short, and with no signature made for a stranger. */
export const unsignedPeerError = (status: number, code: string, message: string): PeerAnswer => ({ status, headers: {}, body: errorBody(code, message) });

const ajv = new Ajv({ strict: true });
const validators = new Map(Object.entries(PEER_SCHEMAS).map(([action, schema]): [string, ValidateFunction] => [action, ajv.compile(schema)]));

const parse = (body: Buffer): { payload: unknown } | undefined => {
  try {
    return { payload: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return undefined;
  }
};

/**
 * The receiving end of the peer API: authenticates the calling region, checks the payload
 * against the action's schema, runs the handler, and signs whatever it answers an
 * authenticated peer, refusals included, so the caller can trust the outcome.
 */
export class PeerApi {
  constructor(
    private readonly auth: PeerAuthenticator,
    private readonly handlers: PeerHandlers,
    private readonly log: Logger,
  ) {}

  /** Whether `action` is a peer action; the HTTP layer names only those in its log. */
  knows(action: string): boolean {
    return validators.has(action);
  }

  async handle({ action, headers, body }: PeerRequest): Promise<PeerAnswer> {
    let from: string;
    let nonce: string;
    try {
      ({ from, nonce } = await this.auth.verifyRequest(action, headers, body));
    } catch (error) {
      if (!(error instanceof PeerAuthError)) throw error;
      const claimed = headers[PEER_HEADERS.region];
      this.log.warn(
        { peer: typeof claimed === 'string' ? truncated(claimed) : undefined, action: truncated(action), reason: error.message },
        'peer request not authenticated',
      );
      return unsignedPeerError(401, 'PeerAuthentication', 'The request is not signed by a peer region.');
    }
    const answer = (status: number, payload: unknown): PeerAnswer => {
      const text = JSON.stringify(payload);
      return { status, headers: this.auth.signResponse(from, nonce, status, text), body: text };
    };
    const validate = validators.get(action);
    if (!validate) return answer(404, { error: { code: 'UnknownPeerAction', message: `unknown peer action ${truncated(action)}` } });
    const parsed = parse(body);
    if (!parsed) return answer(400, { error: { code: 'MalformedPeerRequest', message: 'the body is not JSON' } });
    if (!validate(parsed.payload)) {
      return answer(400, { error: { code: 'MalformedPeerRequest', message: ajv.errorsText(validate.errors, { dataVar: 'body' }) } });
    }
    try {
      return answer(200, { result: (await this.handlers[action as PeerActionName](from, parsed.payload as never)) ?? {} });
    } catch (error) {
      if (error instanceof PeerRefusal) {
        this.log.warn({ peer: from, action, keyId: error.keyId, reason: error.message }, 'peer request refused');
        return answer(403, { error: { code: 'PeerRefused', message: error.message } });
      }
      if (error instanceof KmsError && error.status < 500) {
        return answer(400, { error: { code: error.code, message: error.message } });
      }
      if (error instanceof KmsError) {
        this.log.warn({ peer: from, action, reason: error.message }, 'peer request not served');
        return answer(error.status, { error: { code: error.code, message: error.message } });
      }
      this.log.error({ err: error, peer: from, action }, 'peer request failed');
      return answer(500, { error: { code: 'PeerInternal', message: 'the peer region failed to handle the request' } });
    }
  }
}
