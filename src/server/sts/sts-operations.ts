import { createHash } from 'node:crypto';
import type { Caller } from '../../kms/index.ts';
import { callerOf } from '../auth/caller-of.ts';
import type { AccessKey } from '../auth/sigv4.ts';
import type { IssuedCredentials, SessionStore } from './session-store.ts';
import { StsError, validationError } from './sts-error.ts';
import type { XmlFields } from './sts-xml.ts';

/** A role of the account that AssumeRole can give sessions of. */
export interface StsRole {
  arn: string;
  /** Seconds. */
  maxSessionDuration: number;
}

export interface StsDeps {
  account: string;
  sessions: SessionStore;
  roles: readonly StsRole[];
  /** Whether a long-term access key of the region has this ID. */
  hasAccessKey(accessKeyId: string): boolean;
  authorizeAssumeRole(caller: Caller, roleArn: string, tagged: boolean, conditions: Record<string, string | undefined>): Promise<void>;
  authorizeSts(caller: Caller, action: string): Promise<void>;
}

/** An operation: its form parameters and the access key that signed the request in, the members of its Result element out. */
export type StsOperation = (params: URLSearchParams, accessKey: AccessKey) => Promise<XmlFields>;

/** Default and bounds of DurationSeconds, from the STS API reference. */
const ASSUME_ROLE_DEFAULT_SECONDS = 3600;
const SESSION_TOKEN_DEFAULT_SECONDS = 43200;
const ROOT_SESSION_TOKEN_MAX_SECONDS = 3600;
const ROLE_CHAINING_MAX_SECONDS = 3600;
const MAX_SESSION_TAGS = 50;
/** Members of the API Concord does not implement: refused rather than ignored, since each would narrow or qualify the session. */
const UNSUPPORTED = ['PolicyArns', 'Policy', 'TransitiveTagKeys', 'SerialNumber', 'TokenCode', 'SourceIdentity', 'ProvidedContexts'];

const ROLE_SESSION_NAME = /^[\w+=,.@-]*$/;
const ACCESS_KEY_ID = /^\w*$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]*$/;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/([\w+=,.@-]+)$/;

/**
 * The STS operations Concord serves. Identities and IDs follow AWS: a role session is
 * arn:aws:sts::<account>:assumed-role/<role>/<session>, its UserId <role ID>:<session>; unique
 * IDs (AIDA… for users, AROA… for roles) are derived from the ARN so every node agrees.
 */
export function stsOperations(deps: StsDeps): Record<string, StsOperation> {
  const roles = new Map(deps.roles.map((role) => [role.arn, role]));

  return {
    GetCallerIdentity(params, accessKey) {
      refuseMembers(params, []);
      const { principal, session } = accessKey;
      const roleSession = session?.roleArn !== undefined ? principal.split('/').at(-1)! : undefined;
      const userId =
        roleSession !== undefined
          ? `${uniqueId('AROA', session!.roleArn!)}:${roleSession}`
          : principal.endsWith(':root')
            ? deps.account
            : uniqueId('AIDA', principal);
      return Promise.resolve({ UserId: userId, Account: principal.split(':')[4]!, Arn: principal });
    },

    async GetSessionToken(params, accessKey) {
      refuseMembers(params, ['DurationSeconds']);
      if (accessKey.session) throw new StsError('AccessDenied', 403, 'Cannot call GetSessionToken with session credentials');
      const root = accessKey.principal.endsWith(':root');
      const duration =
        integer(params, 'DurationSeconds', 'durationSeconds', 900, 129600) ?? (root ? ROOT_SESSION_TOKEN_MAX_SECONDS : SESSION_TOKEN_DEFAULT_SECONDS);
      // AWS gives an account root at most an hour, whatever it asks for.
      const issued = await deps.sessions.issue(
        accessKey.principal,
        { issuedBy: 'GetSessionToken' },
        root ? Math.min(duration, ROOT_SESSION_TOKEN_MAX_SECONDS) : duration,
      );
      return { Credentials: credentials(issued) };
    },

    async AssumeRole(params, accessKey) {
      refuseMembers(params, ['RoleArn', 'RoleSessionName', 'DurationSeconds', 'ExternalId'], /^Tags\.member\.\d+\.(Key|Value)$/);
      const roleArn = text(params, 'RoleArn', 'roleArn', 20, 2048);
      const sessionName = text(params, 'RoleSessionName', 'roleSessionName', 2, 64, ROLE_SESSION_NAME, '[\\w+=,.@-]*');
      const requested = integer(params, 'DurationSeconds', 'durationSeconds', 900, 43200);
      const externalId = optionalText(params, 'ExternalId', 'externalId', 2, 1224, EXTERNAL_ID, '[\\w+=,.@:\\/-]*');
      const tags = sessionTags(params);

      const caller = callerOf(accessKey);
      await deps.authorizeAssumeRole(caller, roleArn, tags !== undefined, { 'sts:ExternalId': externalId, 'sts:RoleSessionName': sessionName });
      const role = roles.get(roleArn);
      const [, account, roleName] = ROLE_ARN.exec(roleArn) ?? [];
      // The trust policy let the caller in, so the role exists; this keeps a bad config from going further.
      if (!role || account === undefined || roleName === undefined)
        throw new StsError('AccessDenied', 403, `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
      const chained = accessKey.session?.roleArn !== undefined;
      if (requested !== undefined && chained && requested > ROLE_CHAINING_MAX_SECONDS) {
        throw new StsError('ValidationError', 400, 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
      }
      if (requested !== undefined && requested > role.maxSessionDuration) {
        throw new StsError('ValidationError', 400, 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
      }
      const arn = `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`;
      const issued = await deps.sessions.issue(arn, { issuedBy: 'AssumeRole', roleArn, ...(tags ? { tags } : {}) }, requested ?? ASSUME_ROLE_DEFAULT_SECONDS);
      return { Credentials: credentials(issued), AssumedRoleUser: { AssumedRoleId: `${uniqueId('AROA', roleArn)}:${sessionName}`, Arn: arn } };
    },

    async GetAccessKeyInfo(params, accessKey) {
      refuseMembers(params, ['AccessKeyId']);
      const accessKeyId = text(params, 'AccessKeyId', 'accessKeyId', 16, 128, ACCESS_KEY_ID, '[\\w]*');
      await deps.authorizeSts(callerOf(accessKey), 'GetAccessKeyInfo');
      if (!deps.hasAccessKey(accessKeyId) && !(await deps.sessions.exists(accessKeyId))) {
        throw new StsError('InvalidParameterValue', 400, `The access key ID ${accessKeyId} is not one of this deployment's.`);
      }
      return { Account: deps.account };
    },
  };
}

const credentials = ({ accessKeyId, secretAccessKey, sessionToken, expiration }: IssuedCredentials): XmlFields => ({
  AccessKeyId: accessKeyId,
  SecretAccessKey: secretAccessKey,
  SessionToken: sessionToken,
  Expiration: new Date(expiration).toISOString().replace('.000Z', 'Z'),
});

/** A stable IAM unique ID for an ARN: the prefix AWS uses for its kind, then 17 characters. */
const uniqueId = (prefix: string, arn: string): string =>
  prefix + [...createHash('sha256').update(arn).digest().subarray(0, 17)].map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');

/** Refuses members the operation does not have, and those of the API Concord does not implement. */
function refuseMembers(params: URLSearchParams, members: readonly string[], pattern?: RegExp): void {
  for (const name of params.keys()) {
    if (name === 'Action' || name === 'Version' || members.includes(name) || pattern?.test(name)) continue;
    const member = name.split('.')[0]!;
    if (UNSUPPORTED.includes(member)) throw new StsError('ValidationError', 400, `Concord does not support the ${member} parameter.`);
    throw new StsError('ValidationError', 400, `${name} is not a parameter of this operation.`);
  }
}

function optionalText(
  params: URLSearchParams,
  name: string,
  member: string,
  min: number,
  max: number,
  pattern?: RegExp,
  patternText?: string,
): string | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (value.length < min) throw validationError(value, member, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw validationError(value, member, `Member must have length less than or equal to ${max}`);
  if (pattern && !pattern.test(value)) throw validationError(value, member, `Member must satisfy regular expression pattern: ${patternText}`);
  return value;
}

function text(params: URLSearchParams, name: string, member: string, min: number, max: number, pattern?: RegExp, patternText?: string): string {
  const value = optionalText(params, name, member, min, max, pattern, patternText);
  if (value === undefined) throw validationError(null, member, 'Member must not be null');
  return value;
}

function integer(params: URLSearchParams, name: string, member: string, min: number, max: number): number | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (!/^-?\d{1,10}$/.test(value)) throw new StsError('ValidationError', 400, `Value '${value}' for parameter ${name} is invalid: it must be an integer.`);
  const number = Number(value);
  if (number < min) throw validationError(value, member, `Member must have value greater than or equal to ${min}`);
  if (number > max) throw validationError(value, member, `Member must have value less than or equal to ${max}`);
  return number;
}

/** Tags.member.N.Key and .Value, N from 1; undefined when none are passed. */
function sessionTags(params: URLSearchParams): Record<string, string> | undefined {
  const indexes = new Set<number>();
  for (const name of params.keys()) {
    const match = /^Tags\.member\.(\d+)\./.exec(name);
    if (match) indexes.add(Number(match[1]));
  }
  if (indexes.size === 0) return undefined;
  if (indexes.size > MAX_SESSION_TAGS) throw validationError('[…]', 'tags', `Member must have length less than or equal to ${MAX_SESSION_TAGS}`);
  const tags: Record<string, string> = {};
  const seen = new Set<string>();
  for (const n of [...indexes].sort((a, b) => a - b)) {
    const key = text(params, `Tags.member.${n}.Key`, `tags.${n}.member.key`, 1, 128, TAG_TEXT, '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+');
    const value = text(params, `Tags.member.${n}.Value`, `tags.${n}.member.value`, 0, 256, TAG_TEXT, '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*');
    // Tag keys are case-insensitive in policies, so two that differ only in case are one key passed twice.
    if (seen.has(key.toLowerCase())) throw new StsError('ValidationError', 400, `Duplicate tag keys found. Please note that Tag keys are case insensitive.`);
    seen.add(key.toLowerCase());
    tags[key] = value;
  }
  return tags;
}
