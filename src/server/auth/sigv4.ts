import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { KmsError } from '../../errors/index.ts';

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  /** The IAM principal the key belongs to, e.g. arn:aws:iam::111122223333:user/admin, or a role session's arn:aws:sts::…:assumed-role/… */
  principal: string;
  /** For temporary credentials: the session they are. */
  session?: Session;
}

/** What a session token stands for beyond its access key. */
export interface Session {
  /** The STS operation that issued it. */
  issuedBy: 'AssumeRole' | 'GetSessionToken';
  /** Milliseconds since the epoch. */
  expiration: number;
  /** For a role session: the role, e.g. arn:aws:iam::111122223333:role/app */
  roleArn?: string;
  /** Session tags passed to AssumeRole. */
  tags?: Record<string, string>;
}

/** Where temporary credentials are looked up: the sessions STS issued. */
export interface SessionCredentials {
  /**
   * The access key a session token stands for. Throws UnrecognizedClientException for a token
   * not issued with that access key ID, ExpiredTokenException for one past its expiration.
   */
  resolve(accessKeyId: string, sessionToken: string): Promise<AccessKey>;
}

export interface SignedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const MAX_SKEW_MS = 5 * 60 * 1000;
const AUTH_PREFIX = 'AWS4-HMAC-SHA256 ';
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNING_KEY_CACHE_LIMIT = 1000;
const SIGNATURE = /^[0-9a-f]{64}$/;

const SECURITY_TOKEN = 'x-amz-security-token';
/** Headers every request must sign, spelled as AWS's errors spell them. */
const ALWAYS_SIGNED = ['Host', 'X-Amz-Date'].map(spelling);

export interface SigV4Options {
  /** Headers this surface needs signed when a request carries them, e.g. X-Amz-Target where it names the operation. */
  signedHeaders?: readonly string[];
  /** Temporary credentials; without them a request with a session token is refused. */
  sessions?: SessionCredentials;
  /** The regions (and their endpoints) that exist, named when a request is signed for any other. */
  validRegions?: string;
  now?: () => number;
}

/**
 * Verifies AWS Signature Version 4. Signing keys are derived once per access key, day, region
 * and service; signatures are compared in constant time. A long-term access key is checked
 * synchronously; temporary credentials (a session token in X-Amz-Security-Token) are looked
 * up first, so only their requests wait.
 */
export class SigV4Verifier {
  private readonly keys: Map<string, AccessKey>;
  private readonly signingKeys = new Map<string, Buffer>();
  private readonly signedWhenPresent: readonly HeaderName[];
  private readonly now: () => number;
  private readonly sessions: SessionCredentials | undefined;
  private readonly validRegions: string;
  private lastDate = '';
  private lastTime = 0;

  constructor(
    private readonly region: string,
    private readonly service: string,
    accessKeys: readonly AccessKey[],
    options: SigV4Options = {},
  ) {
    this.keys = new Map(accessKeys.map((k) => [k.accessKeyId, k]));
    this.signedWhenPresent = (options.signedHeaders ?? []).map(spelling);
    this.now = options.now ?? Date.now;
    this.sessions = options.sessions;
    this.validRegions = options.validRegions === undefined ? '' : ` ${options.validRegions}`;
  }

  /**
   * The access key that signed `request`; a promise only when it carries a session token.
   * `authorization` is the request's own header as readAuthorization parsed it, when the
   * caller has read it already.
   */
  verify(request: SignedRequest, authorization: SigV4Authorization = readAuthorization(request.headers)): AccessKey | Promise<AccessKey> {
    const { parts, scope } = authorization;
    const accessKeyId = scope[0];
    // Only the header carries a session token: the presigned-URL form is refused as AWS refuses an unknown token.
    if (queryHasSecurityToken(request.url)) throw unrecognizedClient();
    const sessionToken = header(request.headers, SECURITY_TOKEN);
    if (sessionToken !== undefined) {
      if (!this.sessions || sessionToken === '') throw unrecognizedClient();
      return this.sessions.resolve(accessKeyId, sessionToken).then((key) => this.check(request, parts, scope, key));
    }
    const key = this.keys.get(accessKeyId);
    if (!key) throw unrecognizedClient();
    return this.check(request, parts, scope, key);
  }

  /** Verifies the signature of `request` as made with `key`. */
  private check(request: SignedRequest, parts: AuthorizationParts, scope: CredentialScope, key: AccessKey): AccessKey {
    const [, scopeDate, scopeRegion, scopeService] = scope;

    const amzDate = header(request.headers, 'x-amz-date');
    const requestTime = amzDate === undefined ? undefined : this.timeOf(amzDate);
    if (!amzDate || requestTime === undefined) {
      throw new KmsError('IncompleteSignatureException', "Authorization header requires existence of a valid 'X-Amz-Date' header.");
    }
    const skew = requestTime - this.now();
    if (skew < -MAX_SKEW_MS)
      throw new KmsError('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than the allowed 5 minutes before the server time.`);
    if (skew > MAX_SKEW_MS)
      throw new KmsError('InvalidSignatureException', `Signature not yet current: ${amzDate} is more than 5 minutes after the server time.`);
    if (scopeDate !== amzDate.slice(0, 8)) {
      throw new KmsError(
        'InvalidSignatureException',
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}'`,
      );
    }
    if (scopeRegion !== this.region) {
      throw new KmsError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${scopeRegion}'.${this.validRegions}`);
    }
    if (scopeService !== this.service) throw new KmsError('InvalidSignatureException', `Credential should be scoped to correct service: '${this.service}'.`);

    const signedHeaders = parts.SignedHeaders.split(';');
    for (const name of ALWAYS_SIGNED) requireSigned(signedHeaders, name);
    for (const name of this.signedWhenPresent) {
      if (request.headers[name.lower] !== undefined) requireSigned(signedHeaders, name);
    }

    let canonicalHeaders = '';
    for (const name of signedHeaders) canonicalHeaders += `${name}:${canonicalHeaderValue(request.headers[name])}\n`;
    const canonicalRequest =
      `${request.method}\n${canonicalUri(request.url)}\n${canonicalQuery(request.url)}\n` +
      `${canonicalHeaders}\n${parts.SignedHeaders}\n${sha256Hex(request.body)}`;
    // The Credential minus its access key ID: the scope, checked above, as the client wrote it.
    const credentialScope = parts.Credential.slice(scope[0].length + 1);
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${credentialScope}\n${sha256Hex(canonicalRequest)}`;
    const expected = createHmac('sha256', this.signingKey(key, scopeDate)).update(stringToSign).digest();
    const provided = Buffer.from(parts.Signature, 'hex');
    if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
      throw new KmsError(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    }
    return key;
  }

  /**
   * X-Amz-Date as milliseconds since the epoch, undefined when malformed. Concurrent clients
   * sign within the same second, so the last date parsed is kept.
   */
  private timeOf(amzDate: string): number | undefined {
    if (amzDate === this.lastDate) return this.lastTime;
    const match = AMZ_DATE.exec(amzDate);
    if (!match) return undefined;
    const [, y, mo, d, h, mi, s] = match.map(Number);
    this.lastTime = Date.UTC(y!, mo! - 1, d, h, mi, s);
    this.lastDate = amzDate;
    return this.lastTime;
  }

  private signingKey(key: AccessKey, date: string): Buffer {
    const cacheKey = `${key.accessKeyId}/${date}`;
    let signingKey = this.signingKeys.get(cacheKey);
    if (!signingKey) {
      const kDate = hmac(`AWS4${key.secretAccessKey}`, date);
      signingKey = hmac(hmac(hmac(kDate, this.region), this.service), 'aws4_request');
      if (this.signingKeys.size >= SIGNING_KEY_CACHE_LIMIT) this.signingKeys.clear();
      this.signingKeys.set(cacheKey, signingKey);
    }
    return signingKey;
  }
}

/** Access key ID, date, region, service, aws4_request. */
type CredentialScope = readonly [string, string, string, string, 'aws4_request'];

/** A request's SigV4 Authorization header, read but not verified. */
export interface SigV4Authorization {
  parts: AuthorizationParts;
  scope: CredentialScope;
}

/**
 * Parses a request's Authorization header, refusing one that is missing or malformed as AWS
 * does. A surface reads the region its credential scope names (which verify then checks)
 * from the result, and hands it to verify rather than have the header parsed twice.
 */
export function readAuthorization(headers: SignedRequest['headers']): SigV4Authorization {
  const authorization = header(headers, 'authorization');
  if (authorization === undefined) throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  if (!authorization.startsWith(AUTH_PREFIX)) {
    throw new KmsError('IncompleteSignatureException', 'Authorization header must use the AWS4-HMAC-SHA256 algorithm.');
  }
  const parts = parseAuthorization(authorization.slice(AUTH_PREFIX.length));
  const scope = parts.Credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') {
    throw new KmsError(
      'IncompleteSignatureException',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${parts.Credential}'`,
    );
  }
  return { parts, scope: scope as unknown as CredentialScope };
}

const unrecognizedClient = (): KmsError => new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');

export interface AuthorizationParts {
  Credential: string;
  SignedHeaders: string;
  Signature: string;
}

function parseAuthorization(text: string): AuthorizationParts {
  // One pass over the comma-separated name=value parts, without splitting into arrays: this runs on every request.
  const fields = { Credential: '', SignedHeaders: '', Signature: '' };
  for (let start = 0; start < text.length;) {
    const comma = text.indexOf(',', start);
    const end = comma < 0 ? text.length : comma;
    const equals = text.indexOf('=', start);
    if (equals > start && equals < end) {
      const name = text.slice(start, equals).trim();
      if (name === 'Credential' || name === 'SignedHeaders' || name === 'Signature') fields[name] = text.slice(equals + 1, end).trim();
    }
    start = end + 1;
  }
  for (const name of ['Credential', 'SignedHeaders', 'Signature'] as const) {
    if (!fields[name]) throw new KmsError('IncompleteSignatureException', `Authorization header requires '${name}' parameter.`);
  }
  if (!SIGNATURE.test(fields.Signature)) {
    throw new KmsError('IncompleteSignatureException', 'The Signature parameter must be 64 lowercase hex digits.');
  }
  return fields;
}

interface HeaderName {
  lower: string;
  /** As AWS's errors spell it. */
  spelled: string;
}

function spelling(spelled: string): HeaderName {
  return { lower: spelled.toLowerCase(), spelled };
}

function requireSigned(signedHeaders: readonly string[], name: HeaderName): void {
  if (!signedHeaders.includes(name.lower)) throw new KmsError('InvalidSignatureException', `'${name.spelled}' must be a signed header.`);
}

/** The presigned-URL form of a session token; parameter names are compared ignoring case, to refuse every spelling. */
function queryHasSecurityToken(url: string): boolean {
  const query = url.indexOf('?');
  if (query < 0) return false;
  for (const name of new URLSearchParams(url.slice(query + 1)).keys()) {
    if (name.toLowerCase() === SECURITY_TOKEN) return true;
  }
  return false;
}

const header = (headers: SignedRequest['headers'], name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

const canonicalHeaderValue = (value: string | string[] | undefined): string =>
  (Array.isArray(value) ? value.join(',') : (value ?? '')).trim().replace(/\s+/g, ' ');

const rfc3986 = (text: string): string => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Characters rfc3986 leaves alone, so a path made only of them is its own canonical form. */
const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]+$/;

function canonicalUri(url: string): string {
  const path = url.split('?')[0] || '/';
  if (UNRESERVED_PATH.test(path)) return path;
  return path.split('/').map(rfc3986).join('/');
}

function canonicalQuery(url: string): string {
  if (!url.includes('?')) return '';
  const query = url.split('?')[1];
  if (!query) return '';
  return [...new URLSearchParams(query)]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak === bk ? (av < bv ? -1 : 1) : ak < bk ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const sha256Hex = (data: string | Buffer): string => hash('sha256', data, 'hex');
