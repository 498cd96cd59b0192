/**
 * A thin client of the UKO v4 API on plain fetch (IBM ships no UKO Node SDK): it exchanges an
 * API key for a bearer token at the endpoint's /identity/token, as IBM's SDKs do, and answers
 * each call with its status, ETag and JSON body.
 */
export interface UkoAnswer<T = UkoBody> {
  status: number;
  etag: string | null;
  json: T;
}

/** The fields of UKO's answers the tests read. */
export interface UkoBody {
  status_code: number;
  trace: string;
  errors: [{ code: string; message: string; more_info: string; target?: { type: string; name: string } }];
  id: string;
  name: string;
  state: string;
  label: string;
  total_count: number;
  health_status: string;
  key_id_in_keystore?: string;
  managed_keys: UkoBody[];
  status_in_keystores: {
    keystore: { id: string; name: string; type: string };
    status: string;
    keystore_sync_flag: string;
    keystore_sync_flag_detail: string;
    key_id_in_keystore?: string;
  }[];
  [field: string]: unknown;
}

export class UkoClient {
  private token: string | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly apikey: string,
  ) {}

  async bearer(): Promise<string> {
    if (this.token === undefined) {
      const response = await fetch(`${this.endpoint}/identity/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: this.apikey }),
      });
      if (response.status !== 200) throw new Error(`no token: ${response.status} ${await response.text()}`);
      this.token = ((await response.json()) as { access_token: string }).access_token;
    }
    return this.token;
  }

  async call<T = UkoBody>(
    method: string,
    path: string,
    options: { body?: unknown; ifMatch?: string | null; authorization?: string } = {},
  ): Promise<UkoAnswer<T>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: options.authorization ?? `Bearer ${await this.bearer()}`,
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.ifMatch ? { 'if-match': options.ifMatch } : {}),
    };
    const response = await fetch(`${this.endpoint}/api/v4${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, etag: response.headers.get('etag'), json: (text ? JSON.parse(text) : {}) as T };
  }

  /** GET a resource, then a change of it with the ETag just read. */
  async change<T = UkoBody>(method: string, path: string, resource: string, body?: unknown): Promise<UkoAnswer<T>> {
    const { etag } = await this.call('GET', resource);
    return this.call<T>(method, path, { body, ifMatch: etag });
  }
}
