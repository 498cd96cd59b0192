import type { Logger } from 'pino';
import { KmsError } from '../errors/index.ts';
import { PEER_HEADERS, PeerAuthError, type PeerAuthenticator, type PeerHeaders } from './peer-auth.ts';
import type { PeerHandler } from './replication-receiver.ts';

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
 * The receiving end of the peer API: authenticates the calling region, runs the handler, and
 * signs whatever it answers, refusals included, so the caller can trust the outcome.
 */
export class PeerApi {
  constructor(
    private readonly auth: PeerAuthenticator,
    private readonly handlers: Record<string, PeerHandler>,
    private readonly log: Logger,
  ) {}

  async handle({ action, headers, body }: PeerRequest): Promise<PeerAnswer> {
    const claimed = typeof headers[PEER_HEADERS.region] === 'string' ? String(headers[PEER_HEADERS.region]) : '';
    const claimedNonce = typeof headers[PEER_HEADERS.nonce] === 'string' ? String(headers[PEER_HEADERS.nonce]) : '';
    const answer = (requester: string, nonce: string, status: number, payload: unknown): PeerAnswer => {
      const text = JSON.stringify(payload);
      return { status, headers: this.auth.signResponse(requester, nonce, status, text), body: text };
    };
    let from: string;
    let nonce: string;
    try {
      ({ from, nonce } = await this.auth.verifyRequest(action, headers, body));
    } catch (error) {
      if (!(error instanceof PeerAuthError)) throw error;
      this.log.warn({ peer: claimed, action, reason: error.message }, 'peer request refused');
      return answer(claimed, claimedNonce, 401, { error: { code: 'PeerAuthentication', message: error.message } });
    }
    const handler = Object.hasOwn(this.handlers, action) ? this.handlers[action] : undefined;
    if (!handler) return answer(from, nonce, 404, { error: { code: 'UnknownPeerAction', message: `unknown peer action ${action}` } });
    try {
      return answer(from, nonce, 200, { result: (await handler(from, JSON.parse(body.toString('utf8')))) ?? {} });
    } catch (error) {
      if (error instanceof KmsError && error.status < 500) {
        return answer(from, nonce, 400, { error: { code: error.code, message: error.message } });
      }
      this.log.error({ err: error, peer: from, action }, 'peer request failed');
      return answer(from, nonce, 500, { error: { code: 'PeerInternal', message: 'the peer region failed to handle the request' } });
    }
  }
}
