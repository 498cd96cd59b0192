import { createHash, createHmac } from 'node:crypto';
import type { CommandOutcome, RewrapProgress, SignedCommand, UnitInfo } from '../../cryptounits/index.ts';
import { TkeError } from './tke-error.ts';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const SERVICE = 'concord-mgmt';
const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

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

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    this.region ??= await this.discoverRegion();
    const url = new URL(`/mgmt/v1${path}`, this.endpoint);
    const payload = body === undefined ? '' : JSON.stringify(body);
    let response: Response;
    try {
      response = await fetch(url, { method, headers: this.sign(method, url, payload), ...(body === undefined ? {} : { body: payload }) });
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

  private sign(method: string, url: URL, payload: string): Record<string, string> {
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    const region = this.region!;
    const headers: Record<string, string> = { host: url.host, 'x-amz-date': amzDate, ...(payload ? { 'content-type': 'application/json' } : {}) };
    const names = Object.keys(headers).sort();
    const canonicalPath = url.pathname.split('/').map((part) => encodeURIComponent(decodeURIComponent(part))).join('/');
    const canonicalRequest = [method, canonicalPath, '', names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), sha256Hex(payload)].join('\n');
    const scope = `${day}/${region}/${SERVICE}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const key = hmac(hmac(hmac(hmac(`AWS4${this.credentials.secretAccessKey}`, day), region), SERVICE), 'aws4_request');
    const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
    const { host: _host, ...sent } = headers;
    return { ...sent, authorization: `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
  }
}
