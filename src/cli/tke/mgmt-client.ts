import { SignatureV4 } from '@smithy/signature-v4';
import type { CommandOutcome, RewrapProgress, SignedCommand, UnitInfo } from '../../cryptounits/index.ts';
import { NodeSha256 } from '../../util/index.ts';
import { TkeError } from './tke-error.ts';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const SERVICE = 'concord-mgmt';

/** A region's crypto unit management API (/mgmt/v1), with requests signed by SigV4. */
export class MgmtClient {
  constructor(
    readonly endpoint: string,
    private readonly credentials: Credentials,
    private region?: string,
  ) {}

  units(): Promise<{ region: string; units: UnitInfo[] }> {
    return this.call('GET', '/units');
  }

  unit(id: string): Promise<UnitInfo> {
    return this.call('GET', `/units/${encodeURIComponent(id)}`);
  }

  execute(id: string, command: SignedCommand): Promise<CommandOutcome> {
    return this.call('POST', `/units/${encodeURIComponent(id)}/commands`, command);
  }

  rewrapTotal(): Promise<{ total: number }> {
    return this.call('GET', '/rewrap');
  }

  rewrap(pattern: string, cursor: string | undefined, limit: number): Promise<RewrapProgress> {
    return this.call('POST', '/rewrap', { pattern, limit, ...(cursor !== undefined ? { cursor } : {}) });
  }

  /** A request to /mgmt/v1<path> (which may carry a query), signed; the answer's JSON, or TkeError with its message. */
  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    this.region ??= await this.discoverRegion();
    const url = new URL(`/mgmt/v1${path}`, this.endpoint);
    const payload = body === undefined ? '' : JSON.stringify(body);
    let response: Response;
    try {
      response = await fetch(url, { method, headers: await this.sign(method, url, payload), ...(body === undefined ? {} : { body: payload }) });
    } catch (error) {
      throw new TkeError(`Cannot reach the management API at ${this.endpoint}: ${(error as Error).message}`);
    }
    const text = await response.text();
    const answer = (text ? JSON.parse(text) : {}) as T & { error?: string; message?: string };
    if (!response.ok) throw new TkeError(`${this.endpoint}: ${answer.message ?? `HTTP ${response.status}`}`);
    return answer;
  }

  /** The region a request must be signed for, from the unauthenticated health check. */
  private async discoverRegion(): Promise<string> {
    try {
      const health = (await (await fetch(new URL('/healthz', this.endpoint))).json()) as { region?: string };
      if (health.region) return health.region;
    } catch {
      // answered below
    }
    throw new TkeError(`${this.endpoint} does not answer as a Concord region; check --endpoint.`);
  }

  private async sign(method: string, url: URL, payload: string): Promise<Record<string, string>> {
    const signer = new SignatureV4({ service: SERVICE, region: this.region!, credentials: this.credentials, sha256: NodeSha256 });
    const headers: Record<string, string> = { host: url.host, ...(payload ? { 'content-type': 'application/json' } : {}) };
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: payload,
    });
    const { host: _host, ...sent } = signed.headers;
    return sent;
  }
}
