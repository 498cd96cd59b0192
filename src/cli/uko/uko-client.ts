import { TkeError } from '../tke/tke-error.ts';

/** One answer of the UKO API: its JSON body and the ETag a later change must send back in If-Match. */
export interface UkoAnswer<T> {
  json: T;
  etag: string | undefined;
}

/** IBM's error body on /api/v4, and IAM's on /identity/token. */
interface ErrorBody {
  errors?: { code?: string; message?: string }[];
  errorCode?: string;
  errorMessage?: string;
}

/**
 * The UKO v4 API of one region over fetch, as IBM's SDKs reach it: the API key is exchanged once
 * for a bearer token at the region's /identity/token. The key itself goes only into that request
 * body, never into a message; a refusal becomes a TkeError of one line with IBM's code and message.
 */
export class UkoClient {
  private token: Promise<string> | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly apikey: string,
  ) {}

  async call<T>(method: string, path: string, options: { body?: unknown; ifMatch?: string } = {}): Promise<UkoAnswer<T>> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${await this.bearer()}` };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
    const init: RequestInit = { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) };
    const response = await this.fetch(`/api/v4${path}`, init);
    return { json: await this.read<T>(response), etag: response.headers.get('etag') ?? undefined };
  }

  /** A change of a resource guarded by If-Match: the resource is read first for its current ETag. */
  async change<T>(method: string, path: string, resource: string, body?: unknown): Promise<UkoAnswer<T>> {
    const { etag } = await this.call<unknown>('GET', resource);
    return this.call<T>(method, path, { ...(body !== undefined ? { body } : {}), ...(etag !== undefined ? { ifMatch: etag } : {}) });
  }

  private bearer(): Promise<string> {
    this.token ??= this.fetch('/identity/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: this.apikey }).toString(),
    }).then(async (response) => (await this.read<{ access_token: string }>(response)).access_token);
    return this.token;
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.endpoint}${path}`, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new TkeError(`cannot reach ${this.endpoint}${cause !== undefined ? ` (${cause})` : ''}`);
    }
  }

  private async read<T>(response: Response): Promise<T> {
    const text = await response.text();
    let json: unknown = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      if (response.ok) throw new TkeError(`${response.status}: the answer is not JSON`);
    }
    if (response.ok) return json as T;
    const body = json as ErrorBody;
    const error = body.errors?.[0];
    const code = error?.code ?? body.errorCode ?? 'error';
    const message = (error?.message ?? body.errorMessage ?? response.statusText).replace(/\s+/g, ' ');
    throw new TkeError(`${response.status} ${code}: ${message}`);
  }
}
