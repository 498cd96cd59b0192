import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError, type RegionConfig } from '../config/index.ts';

/** The dev administrator's identity policy, like AWS's AdministratorAccess limited to KMS, STS, CloudHSM, UKO and the crypto unit management API. */
const ADMINISTRATOR_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Administrator', Effect: 'Allow', Action: ['kms:*', 'sts:*', 'concord:*', 'uko:*', 'cloudhsm:*'], Resource: '*' }],
};

/** A user with an access key, or a role (trustPolicy, no access key) sessions of which AssumeRole gives. */
interface DevPrincipal {
  arn: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  identityPolicies?: Record<string, unknown>[];
  trustPolicy?: Record<string, unknown>;
  maxSessionDuration?: number;
}

/**
 * The principals of a dev deployment: the administrator (user/admin, allowed kms:*, cloudhsm:* and
 * concord:* by its identity policy) and those of `--principals-file`, a YAML list of
 * {arn, accessKeyId, secretAccessKey, identityPolicies}, or roles {arn, trustPolicy, identityPolicies,
 * maxSessionDuration} without an access key. Every region's config checks them.
 */
export function devPrincipals(
  account: string,
  admin: { accessKeyId: string; secretAccessKey: string },
  principalsFile: string | undefined,
): Pick<RegionConfig, 'accessKeys' | 'principals'> {
  const adminArn = `arn:aws:iam::${account}:user/admin`;
  const others = principalsFile === undefined ? [] : readPrincipalsFile(principalsFile);
  return {
    accessKeys: [
      { ...admin, principal: adminArn },
      ...others.flatMap(({ arn, accessKeyId, secretAccessKey }) =>
        accessKeyId === undefined && secretAccessKey === undefined ? [] : [{ accessKeyId, secretAccessKey, principal: arn }],
      ),
    ] as RegionConfig['accessKeys'],
    principals: [
      { arn: adminArn, identityPolicies: [ADMINISTRATOR_POLICY] },
      ...others.map(({ arn, identityPolicies, trustPolicy, maxSessionDuration }) => ({
        arn,
        identityPolicies: identityPolicies ?? [],
        ...(trustPolicy !== undefined ? { trustPolicy } : {}),
        ...(maxSessionDuration !== undefined ? { maxSessionDuration } : {}),
      })),
    ],
  };
}

function readPrincipalsFile(path: string): DevPrincipal[] {
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read principals file ${path}: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError(`principals file ${path} must hold a YAML list of principals`);
  return parsed as DevPrincipal[];
}
