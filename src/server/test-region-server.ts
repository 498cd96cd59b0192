import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { KeyService } from '../kms/index.ts';
import { SqliteStore } from '../store/index.ts';
import { NodeSha256 } from '../util/index.ts';
import type { AccessKey } from './auth/sigv4.ts';
import { buildRegionServer, type RegionServerOptions } from './region-server.ts';

export const REGION = 'us-east-1';
export const ACCOUNT = '111122223333';
/** An access key whose principal's identity policy allows kms:* and concord:*. */
export const ADMIN_KEY: AccessKey = {
  accessKeyId: 'AKIASURFACETEST00001',
  secretAccessKey: 'surface-test-secret-access-key-01',
  principal: `arn:aws:iam::${ACCOUNT}:user/admin`,
};
/** An access key whose principal no identity policy allows anything. */
export const NOBODY_KEY: AccessKey = {
  accessKeyId: 'AKIASURFACETEST00002',
  secretAccessKey: 'surface-test-secret-access-key-02',
  principal: `arn:aws:iam::${ACCOUNT}:user/nobody`,
};
export const PRINCIPALS = [
  { arn: ADMIN_KEY.principal, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:*', 'concord:*'], Resource: '*' }] }] },
  { arn: NOBODY_KEY.principal },
];

/**
 * For unit tests of the surfaces: a region's real key service on a fresh SQLite store and
 * single-file crypto unit in a temporary directory named after `name`, and its HTTP server
 * with the surfaces `surfaces` gives it. Close the server and the store when done.
 */
export function testRegionServer(
  name: string,
  surfaces: (region: { service: KeyService; store: SqliteStore }) => Pick<RegionServerOptions, 'mgmt' | 'peerApi' | 'peers' | 'metrics'> = () => ({}),
): { app: FastifyInstance; service: KeyService; store: SqliteStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), `concord-${name}-`));
  const store = new SqliteStore(join(dir, 'keys.db'));
  const service = new KeyService({
    region: REGION,
    account: ACCOUNT,
    store,
    unit: SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json')),
    principals: PRINCIPALS,
  });
  const app = buildRegionServer({ service, accessKeys: [ADMIN_KEY, NOBODY_KEY], logger: pino({ level: 'silent' }), ...surfaces({ service, store }) });
  return { app, service, store, dir };
}

export interface TestRequest {
  method?: string;
  url: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** The SigV4 service name; omitted, the request is not signed. */
  service?: string;
  key?: AccessKey;
}

/** A request injected into `app`, signed now with SigV4 as the AWS SDK signs it. */
export async function inject(
  app: FastifyInstance,
  { method = 'POST', url, body, headers = {}, service, key = ADMIN_KEY }: TestRequest,
): Promise<LightMyRequestResponse> {
  let sent = { host: 'localhost', ...headers };
  if (service !== undefined) {
    const signer = new SignatureV4({ service, region: REGION, credentials: key, sha256: NodeSha256 });
    const signed = await signer.sign({
      method,
      protocol: 'http:',
      hostname: 'localhost',
      path: url,
      query: {},
      headers: sent,
      ...(body !== undefined ? { body } : {}),
    });
    sent = signed.headers as typeof sent;
  }
  return app.inject({ method: method as 'POST', url, headers: sent, ...(body !== undefined ? { payload: body } : {}) });
}

/** An AWS JSON 1.1 call of `operation`, signed for 'kms'. */
export const kmsCall = (app: FastifyInstance, operation: string, input: unknown, key = ADMIN_KEY): Promise<LightMyRequestResponse> =>
  inject(app, {
    url: '/',
    body: JSON.stringify(input),
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
    service: 'kms',
    key,
  });
