import assert from 'node:assert/strict';
import { IamAuthenticator } from '@ibm-cloud/ibm-key-protect/auth/index.js';
import KeyProtectV2 from '@ibm-cloud/ibm-key-protect/ibm-key-protect-api/v2.js';
import { ACCOUNT } from './harness.ts';

export { KeyProtectV2 };

/** Principals of a Key Protect test region: an administrator, a key user allowed only wrap, and a service that registers resources. */
export const KP_ADMIN = `arn:aws:iam::${ACCOUNT}:user/kp-admin`;
export const KP_WRAPPER = `arn:aws:iam::${ACCOUNT}:user/kp-wrapper`;
export const KP_SERVICE = `arn:aws:iam::${ACCOUNT}:user/cloud-object-storage`;
export const KP_APIKEYS = {
  admin: 'kp-admin-test-api-key-0000000000000000000001',
  wrapper: 'kp-wrapper-test-api-key-00000000000000000002',
  service: 'kp-service-test-api-key-00000000000000000003',
};

/** The configuration a Key Protect test region adds: these principals with their policies and API keys. */
export const kpRegionConfig = (more: Record<string, unknown> = {}): Record<string, unknown> => ({
  principals: [
    { arn: KP_ADMIN, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:*'], Resource: '*' }] }] },
    {
      arn: KP_WRAPPER,
      identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], Resource: '*' }] }],
    },
    {
      arn: KP_SERVICE,
      identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['concord:WriteKeyProtectRegistration', 'kms:DescribeKey'], Resource: '*' }] }],
    },
  ],
  apiKeys: [
    { apikey: KP_APIKEYS.admin, principal: KP_ADMIN },
    { apikey: KP_APIKEYS.wrapper, principal: KP_WRAPPER },
    { apikey: KP_APIKEYS.service, principal: KP_SERVICE },
  ],
  ...more,
});

/** IBM's Key Protect SDK against a Concord region, its IAM token from the same region. */
export const kpClient = (endpoint: string, apikey: string): KeyProtectV2 =>
  new KeyProtectV2({ authenticator: new IamAuthenticator({ apikey, url: endpoint }), serviceUrl: endpoint });

/** A refusal through the SDK: its status and Key Protect reason code (the SDK leaves the body as a raw JSON string). */
export async function rejectsWith(call: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(call, (error: { status?: number; body?: string }) => {
    assert.equal(error.status, status);
    const body = JSON.parse(error.body!) as { metadata: { collectionType: string }; resources: { reasons: { code: string }[] }[] };
    assert.equal(body.metadata.collectionType, 'application/vnd.ibm.kms.error+json');
    assert.equal(body.resources[0]!.reasons[0]!.code, code);
    return true;
  });
}

/** JSON of a body the SDK sends as bytes. */
export const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** A bearer token for raw HTTP calls the SDK lacks (registration writes, purge, event_ack). */
export async function bearer(endpoint: string, apikey: string): Promise<string> {
  const response = await fetch(`${endpoint}/identity/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A raw Key Protect request (for what the SDK lacks, and for hostile bodies): status and parsed body. */
export async function kpRequest(
  endpoint: string,
  instance: string,
  apikey: string,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: { resources?: Record<string, unknown>[] } | undefined }> {
  const response = await fetch(`${endpoint}/api/v2${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await bearer(endpoint, apikey)}`,
      'bluemix-instance': instance,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as { resources?: Record<string, unknown>[] } | undefined };
}

/** The Key Protect reason code of a raw error answer. */
export const reasonCode = (body: { resources?: Record<string, unknown>[] } | undefined): string | undefined =>
  (body?.resources?.[0]?.reasons as { code: string }[] | undefined)?.[0]?.code;

/** A second administrator, so that dual authorization has two users, allowed key rings too. */
export const KP_ADMIN_2 = `arn:aws:iam::${ACCOUNT}:user/kp-admin-2`;
export const KP_ADMIN_2_APIKEY = 'kp-admin-2-test-api-key-0000000000000000004';

/** kpRegionConfig with the second administrator, and `keyProtect` settings. */
export function policyRegionConfig(keyProtect: Record<string, unknown>): Record<string, unknown> {
  const base = kpRegionConfig({ keyProtect });
  return {
    ...base,
    principals: [
      ...(base.principals as unknown[]),
      {
        arn: KP_ADMIN_2,
        identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:*', 'concord:*KeyProtectKeyRing'], Resource: '*' }] }],
      },
    ],
    apiKeys: [...(base.apiKeys as unknown[]), { apikey: KP_ADMIN_2_APIKEY, principal: KP_ADMIN_2 }],
  };
}

export const POLICY_TYPE = 'application/vnd.ibm.kms.policy+json';
/** A `setKeyPoliciesOneOf` body: these policies as a Key Protect collection. */
export const keyPolicies = (resources: unknown[]) => ({ metadata: { collectionType: POLICY_TYPE, collectionTotal: resources.length }, resources });
