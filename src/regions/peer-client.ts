import { catalogue, KmsError, type ErrorName } from '../errors/index.ts';
import type { PeerAuthenticator } from './peer-auth.ts';

const DEFAULT_TIMEOUT_MS = 5000;

/** The peer could not be reached or did not answer authentically; nothing is known to have happened there. */
export class PeerUnavailableError extends Error {
  constructor(
    readonly region: string,
    reason: string,
  ) {
    super(`region ${region} is unavailable: ${reason}`);
    this.name = 'PeerUnavailableError';
  }
}

/** Turns a peer's unavailability into AWS's DependencyTimeoutException, saying what that meant for the request. */
export const dependencyTimeout =
  (consequence: string) =>
  (error: unknown): never => {
    if (error instanceof PeerUnavailableError) throw new KmsError('DependencyTimeoutException', `${error.message}; ${consequence}`);
    throw error;
  };

/** Signed JSON calls to peer regions; a peer's refusal comes back as the KmsError it threw. */
export class PeerClient {
  private readonly transportKeys = new Map<string, string>();

  constructor(
    private readonly auth: PeerAuthenticator,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  async call<T>(region: string, action: string, payload: unknown): Promise<T> {
    const peer = this.auth.peer(region);
    if (!peer) throw new PeerUnavailableError(region, 'not a configured peer');
    const body = JSON.stringify(payload);
    const { headers, nonce } = await this.auth.signRequest(region, action, body);
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${peer.url.replace(/\/$/, '')}/peer/v1/${action}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new PeerUnavailableError(region, (error as Error).name === 'TimeoutError' ? 'timed out' : 'connection failed');
    }
    if (!this.auth.verifyResponse(region, nonce, response.status, Object.fromEntries(response.headers), text)) {
      throw new PeerUnavailableError(region, `answer to ${action} is not signed by the region (status ${response.status})`);
    }
    const parsed = JSON.parse(text) as { result?: T; error?: { code: string; message: string } };
    if (response.status === 200) return parsed.result as T;
    // The peer may have a new transport key (a rebuilt region); learn it again next time.
    this.transportKeys.delete(region);
    const code = parsed.error?.code;
    if (code !== undefined && Object.hasOwn(catalogue, code) && response.status < 500) {
      throw new KmsError(code as ErrorName, parsed.error!.message);
    }
    throw new PeerUnavailableError(region, parsed.error?.message ?? `status ${response.status}`);
  }

  /** The peer's transport public key, learnt from its signed answer and kept for the process's life. */
  async transportKey(region: string): Promise<string> {
    const known = this.transportKeys.get(region);
    if (known) return known;
    const { transportKey } = await this.call<{ transportKey: string }>(region, 'hello', {});
    this.transportKeys.set(region, transportKey);
    return transportKey;
  }
}
