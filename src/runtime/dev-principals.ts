import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError, type RegionConfig } from '../config/index.ts';

/** The dev administrator's identity policy, like AWS's AdministratorAccess limited to KMS and the crypto unit management API. */
const ADMINISTRATOR_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Administrator', Effect: 'Allow', Action: ['kms:*', 'concord:*'], Resource: '*' }],
};

interface DevPrincipal {
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
  identityPolicies?: Record<string, unknown>[];
}

/**
 * The principals of a dev deployment: the administrator (user/admin, allowed kms:* and
 * concord:* by its identity policy) and those of `--principals-file`, a YAML list of
 * {arn, accessKeyId, secretAccessKey, identityPolicies}. Every region's config checks them.
 */
export function devPrincipals(
  account: string,
  admin: { accessKeyId: string; secretAccessKey: string },
  principalsFile: string | undefined,
): Pick<RegionConfig, 'accessKeys' | 'principals'> {
  const adminArn = `arn:aws:iam::${account}:user/admin`;
  const others = principalsFile === undefined ? [] : readPrincipalsFile(principalsFile);
  return {
    accessKeys: [{ ...admin, principal: adminArn }, ...others.map(({ arn, accessKeyId, secretAccessKey }) => ({ accessKeyId, secretAccessKey, principal: arn }))],
    principals: [
      { arn: adminArn, identityPolicies: [ADMINISTRATOR_POLICY] },
      ...others.map(({ arn, identityPolicies }) => ({ arn, identityPolicies: identityPolicies ?? [] })),
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
