import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { KmsError } from '../../errors/index.ts';

/**
 * Marks a request one region forwarded to another. A region never forwards a request carrying
 * it, so peers misconfigured to point at each other cannot bounce a request between them.
 */
export const FORWARDED_FROM = 'x-concord-forwarded-from';

/** How long a peer region has to answer a forwarded request: ReplicateKey waits on a round trip back. */
const FORWARD_TIMEOUT_MS = 30_000;

/** Headers of one connection, not of the request or answer (RFC 9110 §7.6.1); content-length is set anew. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

export interface ForwardedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface RegionAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/**
 * Sends AWS JSON requests signed for another region of the deployment to that region, bytes
 * unchanged (Host included, so the signature verifies there), and brings back its answer.
 * Only configured peer URLs are ever reached: the caller picks the target by region name.
 */
export class RegionForwarder {
  private readonly http = new HttpAgent({ keepAlive: true });
  private readonly https = new HttpsAgent({ keepAlive: true });

  constructor(
    private readonly region: string,
    private readonly timeoutMs = FORWARD_TIMEOUT_MS,
  ) {}

  forward(targetRegion: string, targetUrl: string, request: ForwardedRequest): Promise<RegionAnswer> {
    const target = new URL(request.url, targetUrl);
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    headers['content-length'] = request.body.length;
    headers[FORWARDED_FROM] = this.region;
    const secure = target.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const outgoing = send(target, { method: request.method, headers, agent: secure ? this.https : this.http, timeout: this.timeoutMs }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', (error) => {
          reject(unreachable(targetRegion, targetUrl, error));
        });
        incoming.on('end', () => {
          const relayed: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (value !== undefined && !HOP_BY_HOP.has(name)) relayed[name] = value;
          }
          resolve({ status: incoming.statusCode ?? 502, headers: relayed, body: Buffer.concat(chunks) });
        });
      });
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      outgoing.on('error', (error) => {
        reject(unreachable(targetRegion, targetUrl, error));
      });
      outgoing.end(request.body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

/**
 * A peer that cannot be reached is a dependency that did not answer in time: AWS's
 * DependencyTimeoutException (503), which the AWS SDKs retry, as they would a region that is down.
 */
function unreachable(region: string, url: string, error: Error): KmsError {
  return new KmsError('DependencyTimeoutException', `The request is signed for ${region}, which could not be reached at ${url} (${error.message}); try again.`);
}
