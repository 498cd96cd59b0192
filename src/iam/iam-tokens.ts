import { createHash, randomUUID } from 'node:crypto';
import type { CryptoUnit } from '../cryptounits/index.ts';
import type { Caller } from '../kms/index.ts';
import type { Store } from '../store/index.ts';
import { ApiKeys, type ApiKey } from './api-keys.ts';
import { invalidBearer, invalidRefreshToken } from './iam-error.ts';
import { IamSecrets } from './iam-secrets.ts';
import { signJwt, verifyJwt, type JwtClaims } from './jwt.ts';

/** IBM IAM's lifetimes: an access token for an hour, a refresh token for 30 days. */
const ACCESS_TOKEN_SECONDS = 3600;
const REFRESH_TOKEN_SECONDS = 30 * 24 * 3600;
/** What tells an access token from a refresh token: one is never accepted as the other. */
const ACCESS_AUDIENCE = 'concord-iam-access';
const REFRESH_AUDIENCE = 'concord-iam-refresh';
export const APIKEY_GRANT = 'urn:ibm:params:oauth:grant-type:apikey';

/** IBM IAM's token response. */
export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  /** Seconds. */
  expires_in: number;
  /** Seconds since the epoch. */
  expiration: number;
  scope: string;
}

/** Tokens just issued, and the API key and principal they were issued for (which the token request's audit event names). */
export interface IssuedTokens {
  response: TokenResponse;
  apiKeyId: string;
  principal: string;
}

/** Who a bearer token speaks for: the caller the policy engine authorizes, and the API key it came from. */
export interface BearerIdentity {
  caller: Caller;
  apiKeyId: string;
  /** IAM's ID of the principal, as services such as Key Protect report who created a resource. */
  iamId: string;
}

export interface IamTokensOptions {
  store: Store;
  unit: CryptoUnit;
  region: string;
  account: string;
  now?: () => number;
  accessTokenSeconds?: number;
}

/**
 * IAM-style tokens for the IBM surfaces: an API key is exchanged for an access token, an
 * ES256 JWT signed by the region's key carrying iat and exp (IBM's SDKs refetch on every
 * request a token without them), and a refresh token. `authenticate` is what a surface calls
 * with the Authorization header: it verifies the token and checks on every call that its API
 * key is still active, so revoking a key stops its tokens at once.
 */
export class IamTokens {
  readonly apiKeys: ApiKeys;
  private readonly secrets: IamSecrets;
  private readonly now: () => number;
  private readonly issuer: string;
  private readonly accessTokenSeconds: number;

  constructor(private readonly options: IamTokensOptions) {
    this.now = options.now ?? Date.now;
    this.secrets = new IamSecrets(options.store, options.unit);
    this.apiKeys = new ApiKeys(options.store, this.secrets, options.account, this.now);
    this.issuer = `concord/${options.region}/identity`;
    this.accessTokenSeconds = options.accessTokenSeconds ?? ACCESS_TOKEN_SECONDS;
  }

  /** grant_type=urn:ibm:params:oauth:grant-type:apikey */
  async exchangeApiKey(secret: string): Promise<IssuedTokens> {
    return this.issue(await this.apiKeys.authenticate(secret), APIKEY_GRANT);
  }

  /** grant_type=refresh_token: new tokens while the refresh token is valid and its API key active. */
  async refresh(refreshToken: string): Promise<IssuedTokens> {
    const claims = await this.verified(refreshToken, REFRESH_AUDIENCE);
    const keyId = claims?.apikey_id;
    const key = typeof keyId === 'string' ? await this.apiKeys.get(keyId) : undefined;
    if (key?.state !== 'active') throw invalidRefreshToken();
    return this.issue(key, 'refresh_token');
  }

  /**
   * The identity of `Authorization: Bearer <access token>`; IamError (401) for a missing,
   * malformed, forged or expired token or one whose API key is revoked.
   */
  async authenticate(authorization: string | undefined): Promise<BearerIdentity> {
    if (authorization === undefined) throw invalidBearer('No bearer token was provided.');
    const match = /^Bearer +(\S+)$/i.exec(authorization);
    if (!match) throw invalidBearer('The Authorization header is not a bearer token.');
    const claims = await this.verified(match[1]!, ACCESS_AUDIENCE);
    if (!claims) throw invalidBearer('The bearer token is not valid or has expired.');
    const { apikey_id: apiKeyId, sub, iam_id: iamId } = claims;
    if (typeof apiKeyId !== 'string' || typeof sub !== 'string' || typeof iamId !== 'string') throw invalidBearer('The bearer token is not valid.');
    if (!(await this.apiKeys.isActive(apiKeyId))) throw invalidBearer('The API key of the bearer token is no longer active.');
    return { caller: { account: this.options.account, arn: sub }, apiKeyId, iamId };
  }

  /** The public key tokens are signed with, as a JWK set (GET /identity/keys). */
  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    const { signingKey } = await this.secrets.values();
    return { keys: [{ ...signingKey.publicKey.export({ format: 'jwk' }), kid: signingKey.kid, alg: 'ES256', use: 'sig' }] };
  }

  private async issue(key: ApiKey, grantType: string): Promise<IssuedTokens> {
    const { signingKey } = await this.secrets.values();
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + this.accessTokenSeconds;
    const iamId = iamIdOf(key.principal);
    const common = { iss: this.issuer, sub: key.principal, iam_id: iamId, apikey_id: key.id, iat };
    const access: JwtClaims = {
      ...common,
      aud: ACCESS_AUDIENCE,
      id: iamId,
      realmid: 'iam',
      jti: randomUUID(),
      identifier: key.principal,
      sub_type: 'ServiceId',
      account: { valid: true, bss: key.account },
      exp,
      grant_type: grantType,
      scope: 'ibm openid',
      client_id: 'default',
    };
    const refresh: JwtClaims = { ...common, aud: REFRESH_AUDIENCE, jti: randomUUID(), exp: iat + REFRESH_TOKEN_SECONDS };
    const response: TokenResponse = {
      access_token: signJwt(access, signingKey),
      refresh_token: signJwt(refresh, signingKey),
      token_type: 'Bearer',
      expires_in: this.accessTokenSeconds,
      expiration: exp,
      scope: 'ibm openid',
    };
    return { response, apiKeyId: key.id, principal: key.principal };
  }

  /** The claims of a token we signed for `audience` and by this issuer, within its lifetime. */
  private async verified(token: string, audience: string): Promise<JwtClaims | undefined> {
    const { signingKey } = await this.secrets.values();
    const claims = verifyJwt(token, signingKey);
    if (claims?.aud !== audience || claims.iss !== this.issuer) return undefined;
    const { iat, exp } = claims;
    const now = this.now() / 1000;
    if (typeof iat !== 'number' || typeof exp !== 'number' || !(exp > now) || iat > now + 60) return undefined;
    return claims;
  }
}

/** IAM's ID of a principal: stable, derived from its ARN so every node agrees. */
export const iamIdOf = (principal: string): string =>
  `iam-ServiceId-${createHash('sha256')
    .update(principal, 'utf8')
    .digest('hex')
    .slice(0, 32)
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')}`;
