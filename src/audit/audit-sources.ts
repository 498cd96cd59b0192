import type { AuditResource, UserIdentity } from './audit-event.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;
type Fields = Record<string, unknown>;

/** What an API surface knows of one request, for its audit event. */
export interface AuditedRequest {
  /** The surface that served it: a key of AUDIT_SOURCES; other requests are not audited. */
  surface: string;
  /** The operation, as the surface named it once it knew the caller; absent for a request refused before. */
  eventName?: string | undefined;
  /** The authenticated caller. Only the fields of AuditCaller are read: an access key's secret is never. */
  caller?: AuditCaller | undefined;
  /** Of the HSM endpoint: the HSM a request addressed, and the HSM user it ran as (at a login, the existing user it tried). */
  hsm?: AuditHsmActor | undefined;
  /** The operation's input and output, as the domain took and gave them; only allow-listed parts are kept. */
  input?: unknown;
  output?: unknown;
  /** The route pattern, e.g. GET /mgmt/v1/units/:id. */
  route: string;
  headers: Headers;
  status: number;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  sourceIp: string;
  requestId: string;
  /** Milliseconds since the epoch. */
  time: number;
}

export interface AuditCaller {
  accessKeyId: string;
  /** The IAM principal, e.g. arn:aws:iam::111122223333:user/admin or arn:aws:sts::…:assumed-role/app/session */
  principal: string;
  session?: { roleArn?: string } | undefined;
}

export interface AuditHsmActor {
  clusterId: string;
  hsmId: string;
  /** Absent for the commands anyone may run (describe, listUsers) and a command without a session. */
  user?: { id?: number | undefined; name: string; type: string } | undefined;
}

type Where = { region: string; account: string };

/** How the events of one surface are told. */
export interface AuditSource {
  eventSource: string;
  /** The event name of a request the surface refused before naming its operation. */
  claimedName(request: AuditedRequest): string;
  readOnly(eventName: string): boolean;
  requestParameters(eventName: string, input: unknown): Fields | null;
  responseElements(eventName: string, output: unknown): Fields | null;
  resources(eventName: string, input: unknown, output: unknown, where: Where, request: AuditedRequest): AuditResource[] | undefined;
  userIdentity(request: AuditedRequest, where: Where): UserIdentity;
  additionalEventData?(eventName: string, input: unknown): Fields | undefined;
}

/**
 * The request members each KMS operation's event keeps. An allow-list: a member not named here
 * (Plaintext, CiphertextBlob, Message, Signature, Mac, EncryptedKeyMaterial, ImportToken,
 * GrantTokens, GrantToken, PublicKey, Recipient, and any member a later API version adds) never
 * reaches the trail. A unit test checks that no member named here is a blob in the KMS model.
 */
export const KMS_PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  CancelKeyDeletion: ['KeyId'],
  ConnectCustomKeyStore: ['CustomKeyStoreId'],
  CreateAlias: ['AliasName', 'TargetKeyId'],
  CreateCustomKeyStore: ['CustomKeyStoreName', 'CustomKeyStoreType', 'CloudHsmClusterId', 'TrustAnchorCertificate'],
  CreateGrant: ['KeyId', 'GranteePrincipal', 'RetiringPrincipal', 'Operations', 'Constraints', 'Name', 'DryRun'],
  CreateKey: [
    'Description',
    'KeyUsage',
    'KeySpec',
    'CustomerMasterKeySpec',
    'Origin',
    'MultiRegion',
    'BypassPolicyLockoutSafetyCheck',
    'Policy',
    'Tags',
    'CustomKeyStoreId',
    'XksKeyId',
  ],
  Decrypt: ['KeyId', 'EncryptionAlgorithm', 'EncryptionContext', 'DryRun'],
  DeleteAlias: ['AliasName'],
  DeleteCustomKeyStore: ['CustomKeyStoreId'],
  DeleteImportedKeyMaterial: ['KeyId', 'KeyMaterialId'],
  DeriveSharedSecret: ['KeyId', 'KeyAgreementAlgorithm', 'DryRun'],
  DescribeCustomKeyStores: ['CustomKeyStoreId', 'CustomKeyStoreName', 'Limit', 'Marker'],
  DescribeKey: ['KeyId'],
  DisconnectCustomKeyStore: ['CustomKeyStoreId'],
  DisableKey: ['KeyId'],
  DisableKeyRotation: ['KeyId'],
  EnableKey: ['KeyId'],
  EnableKeyRotation: ['KeyId', 'RotationPeriodInDays'],
  Encrypt: ['KeyId', 'EncryptionAlgorithm', 'EncryptionContext', 'DryRun'],
  GenerateDataKey: ['KeyId', 'KeySpec', 'NumberOfBytes', 'EncryptionContext', 'DryRun'],
  GenerateDataKeyPair: ['KeyId', 'KeyPairSpec', 'EncryptionContext', 'DryRun'],
  GenerateDataKeyPairWithoutPlaintext: ['KeyId', 'KeyPairSpec', 'EncryptionContext', 'DryRun'],
  GenerateDataKeyWithoutPlaintext: ['KeyId', 'KeySpec', 'NumberOfBytes', 'EncryptionContext', 'DryRun'],
  GenerateMac: ['KeyId', 'MacAlgorithm', 'DryRun'],
  GenerateRandom: ['NumberOfBytes', 'CustomKeyStoreId'],
  GetKeyPolicy: ['KeyId', 'PolicyName'],
  GetKeyRotationStatus: ['KeyId'],
  GetParametersForImport: ['KeyId', 'WrappingAlgorithm', 'WrappingKeySpec'],
  GetPublicKey: ['KeyId'],
  ImportKeyMaterial: ['KeyId', 'ExpirationModel', 'ValidTo', 'ImportType', 'KeyMaterialDescription', 'KeyMaterialId'],
  ListAliases: ['KeyId', 'Limit', 'Marker'],
  ListGrants: ['KeyId', 'GrantId', 'GranteePrincipal', 'Limit', 'Marker'],
  ListKeyPolicies: ['KeyId', 'Limit', 'Marker'],
  ListKeyRotations: ['KeyId', 'IncludeKeyMaterial', 'Limit', 'Marker'],
  ListKeys: ['Limit', 'Marker'],
  ListResourceTags: ['KeyId', 'Limit', 'Marker'],
  ListRetirableGrants: ['RetiringPrincipal', 'Limit', 'Marker'],
  PutKeyPolicy: ['KeyId', 'PolicyName', 'Policy', 'BypassPolicyLockoutSafetyCheck'],
  ReEncrypt: [
    'SourceKeyId',
    'DestinationKeyId',
    'SourceEncryptionAlgorithm',
    'DestinationEncryptionAlgorithm',
    'SourceEncryptionContext',
    'DestinationEncryptionContext',
    'DryRun',
  ],
  ReplicateKey: ['KeyId', 'ReplicaRegion', 'Description', 'Policy', 'Tags', 'BypassPolicyLockoutSafetyCheck'],
  RetireGrant: ['KeyId', 'GrantId', 'DryRun'],
  RevokeGrant: ['KeyId', 'GrantId', 'DryRun'],
  RotateKeyOnDemand: ['KeyId'],
  ScheduleKeyDeletion: ['KeyId', 'PendingWindowInDays'],
  Sign: ['KeyId', 'MessageType', 'SigningAlgorithm', 'DryRun'],
  TagResource: ['KeyId', 'Tags'],
  UntagResource: ['KeyId', 'TagKeys'],
  UpdateAlias: ['AliasName', 'TargetKeyId'],
  UpdateCustomKeyStore: ['CustomKeyStoreId', 'NewCustomKeyStoreName', 'CloudHsmClusterId'],
  UpdateKeyDescription: ['KeyId', 'Description'],
  UpdatePrimaryRegion: ['KeyId', 'PrimaryRegion'],
  Verify: ['KeyId', 'MessageType', 'SigningAlgorithm', 'DryRun'],
  VerifyMac: ['KeyId', 'MacAlgorithm', 'DryRun'],
};

/** The response members a changing KMS operation's event keeps; like CloudTrail, reads and cryptographic operations keep none. */
export const KMS_RESPONSES: Readonly<Record<string, readonly string[]>> = {
  CancelKeyDeletion: ['KeyId'],
  CreateCustomKeyStore: ['CustomKeyStoreId'],
  CreateGrant: ['GrantId'],
  CreateKey: ['KeyMetadata'],
  DeleteImportedKeyMaterial: ['KeyId', 'KeyMaterialId'],
  ImportKeyMaterial: ['KeyId', 'KeyMaterialId'],
  ReplicateKey: ['ReplicaKeyMetadata'],
  RotateKeyOnDemand: ['KeyId'],
  ScheduleKeyDeletion: ['KeyId', 'DeletionDate', 'KeyState', 'PendingWindowInDays'],
};

const KMS_CRYPTOGRAPHIC = new Set([
  'Encrypt',
  'Decrypt',
  'ReEncrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateRandom',
  'GenerateMac',
  'VerifyMac',
  'Sign',
  'Verify',
  'DeriveSharedSecret',
]);

/** Members whose values are the caller's own map (encryption context), whose keys keep their spelling. */
const DATA_MAPS = /EncryptionContext(Subset|Equals)?$/;
const OPERATION_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;
const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const KEY_ARN = /^arn:aws:kms:[a-z0-9-]+:(\d{12}):key\/[A-Za-z0-9-]+$/;
/** Values callers choose reach the trail at most this long. */
const MAX_TEXT = 1024;

const lowerFirst = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);
const header = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
};
export const clip = (text: string): string => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);

/** An object of these members, in sorted order (so JSON.stringify writes canonical JSON); a member named __proto__ is data. */
function sortedObject(members: [string, unknown][]): Fields | null {
  if (members.length === 0) return null;
  members.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Fields = {};
  for (const [name, value] of members) Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** A value as the trail keeps it: member names in CloudTrail's lower camel case (except in encryption context), times as ISO text, no bytes. */
function trailValue(value: unknown, dataMap = false): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return undefined;
  if (Array.isArray(value)) return value.map((item) => trailValue(item) ?? null);
  if (value === null || typeof value !== 'object') return value;
  const members = Object.entries(value).map(([name, member]): [string, unknown] =>
    dataMap ? [name, member] : [lowerFirst(name), trailValue(member, DATA_MAPS.test(name))],
  );
  return sortedObject(members.filter(([, member]) => member !== undefined)) ?? {};
}

/** An allow-list as the trail writes it: each member with its name in the trail and whether its value is the caller's map, in the trail's sorted order. */
type AllowList = readonly { name: string; as: string; dataMap: boolean }[];

const allowList = (members: readonly string[]): AllowList =>
  members.map((name) => ({ name, as: lowerFirst(name), dataMap: DATA_MAPS.test(name) })).sort((a, b) => (a.as < b.as ? -1 : a.as > b.as ? 1 : 0));

/** Each operation's allow-list, sorted once: on the hot path an event's parameters are copied in order, without sorting. */
const allowLists = (lists: Readonly<Record<string, readonly string[]>>): ReadonlyMap<string, AllowList> =>
  new Map(Object.entries(lists).map(([operation, members]) => [operation, allowList(members)]));

/** The allow-listed members of an operation's input or output; null when there are none. */
function allowed(value: unknown, members: AllowList | undefined): Fields | null {
  if (!members || value === null || typeof value !== 'object') return null;
  let out: Fields | null = null;
  for (const { name, as, dataMap } of members) {
    const member = Object.hasOwn(value, name) ? trailValue((value as Fields)[name], dataMap) : undefined;
    // Names from the allow-list only: plain assignment is safe.
    if (member !== undefined) (out ??= {})[as] = member;
  }
  return out;
}

/** The access key ID a request's SigV4 Authorization header names, when it looks like one: who claimed to call. */
function claimedAccessKeyId(headers: Headers): string | undefined {
  const authorization = header(headers, 'authorization');
  const start = authorization?.indexOf('Credential=') ?? -1;
  if (authorization === undefined || start < 0) return undefined;
  const id = authorization.slice(start + 'Credential='.length, authorization.indexOf('/', start));
  return ACCESS_KEY_ID.test(id) ? id : undefined;
}

/** Identities by the caller object a surface hands over (an access key of the configuration, a session): each is worked out once. */
const identities = new WeakMap<AuditCaller, UserIdentity>();

/** The CloudTrail userIdentity of a SigV4 caller; of a refused request, the access key it claimed. */
function sigV4Identity({ caller, headers }: AuditedRequest): UserIdentity {
  if (!caller) {
    const accessKeyId = claimedAccessKeyId(headers);
    return accessKeyId === undefined ? { type: 'Unknown' } : { accessKeyId, type: 'Unknown' };
  }
  let identity = identities.get(caller);
  if (!identity) {
    identity = callerIdentity(caller);
    identities.set(caller, identity);
  }
  return identity;
}

function callerIdentity({ accessKeyId, principal, session }: AuditCaller): UserIdentity {
  const accountId = principal.split(':')[4] ?? '';
  const name = principal.split('/').at(-1) ?? principal;
  // Members in sorted order, as everywhere in an event.
  if (principal.endsWith(':root')) return { accessKeyId, accountId, arn: principal, principalId: accountId, type: 'Root' };
  if (session?.roleArn !== undefined) {
    const roleName = session.roleArn.split('/').at(-1) ?? session.roleArn;
    return {
      accessKeyId,
      accountId,
      arn: principal,
      principalId: `${roleName}:${name}`,
      sessionContext: {
        attributes: { mfaAuthenticated: 'false' },
        sessionIssuer: { accountId, arn: session.roleArn, principalId: roleName, type: 'Role', userName: roleName },
      },
      type: 'AssumedRole',
    };
  }
  return {
    accessKeyId,
    accountId,
    arn: principal,
    principalId: name,
    sessionContext: session ? { attributes: { mfaAuthenticated: 'false' } } : undefined,
    type: 'IAMUser',
    userName: name,
  };
}

function keyArn(id: unknown, { region, account }: { region: string; account: string }): AuditResource | undefined {
  if (typeof id !== 'string') return undefined;
  const arn = KEY_ARN.exec(id);
  if (arn) return { ARN: id, accountId: arn[1]!, type: 'AWS::KMS::Key' };
  return KEY_ID.test(id) ? { ARN: `arn:aws:kms:${region}:${account}:key/${id}`, accountId: account, type: 'AWS::KMS::Key' } : undefined;
}

const KMS_PARAMETER_LISTS = allowLists(KMS_PARAMETERS);
const KMS_RESPONSE_LISTS = allowLists(KMS_RESPONSES);
const READS = /^(Describe|Get|List)/;

const kms: AuditSource = {
  eventSource: 'kms.amazonaws.com',
  claimedName({ headers }) {
    const name = header(headers, 'x-amz-target')?.split('.')[1] ?? '';
    return OPERATION_NAME.test(name) ? name : 'Unknown';
  },
  readOnly: (name) => KMS_CRYPTOGRAPHIC.has(name) || READS.test(name),
  requestParameters: (name, input) => allowed(input, KMS_PARAMETER_LISTS.get(name)),
  responseElements: (name, output) => allowed(output, KMS_RESPONSE_LISTS.get(name)),
  resources(_name, input, output, where) {
    const out = (output ?? {}) as Fields;
    const inp = (input ?? {}) as Fields;
    const metadata = (out.KeyMetadata ?? out.ReplicaKeyMetadata) as Fields | undefined;
    // The key an answer names is the one the request resolved (an alias, a key ID): the output first.
    const ids = [out.SourceKeyId, metadata?.Arn ?? out.KeyId ?? inp.KeyId ?? inp.TargetKeyId ?? inp.DestinationKeyId];
    if (out.SourceKeyId === undefined) ids.push(inp.SourceKeyId);
    const resources = ids.map((id) => keyArn(id, where)).filter((resource) => resource !== undefined);
    const unique = resources.filter((resource, i) => resources.findIndex((other) => other.ARN === resource.ARN) === i);
    return unique.length > 0 ? unique : undefined;
  },
  userIdentity: sigV4Identity,
};

const STS_PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  AssumeRole: ['RoleArn', 'RoleSessionName', 'DurationSeconds'],
  GetSessionToken: ['DurationSeconds'],
  GetAccessKeyInfo: ['AccessKeyId'],
  GetCallerIdentity: [],
};

const STS_PARAMETER_LISTS = allowLists(STS_PARAMETERS);

const sts: AuditSource = {
  eventSource: 'sts.amazonaws.com',
  claimedName: () => 'Unknown',
  readOnly: (name) => name.startsWith('Get') && name !== 'GetSessionToken',
  requestParameters: (name, input) => allowed(input, STS_PARAMETER_LISTS.get(name)),
  responseElements(_name, output) {
    const { Credentials: credentials, AssumedRoleUser: assumedRoleUser } = (output ?? {}) as { Credentials?: Fields; AssumedRoleUser?: unknown };
    if (!credentials) return null;
    // The session's secret and token never; its ID and expiration, as CloudTrail keeps them.
    return {
      assumedRoleUser: assumedRoleUser === undefined ? undefined : trailValue(assumedRoleUser),
      credentials: { accessKeyId: credentials.AccessKeyId, expiration: credentials.Expiration },
    };
  },
  resources: () => undefined,
  userIdentity: sigV4Identity,
};

const MGMT_PARAMETERS = allowList(['unitId', 'command', 'pattern', 'cursor', 'limit']);

const mgmt: AuditSource = {
  eventSource: 'mgmt.concord',
  claimedName: ({ route }) => route,
  readOnly: (name) => READS.test(name),
  // Command arguments and signatures stay out: an exported or loaded master key travels in them, sealed but not for a log.
  requestParameters: (_name, input) => allowed(input, MGMT_PARAMETERS),
  responseElements: () => null,
  resources: () => undefined,
  userIdentity: sigV4Identity,
};

const PEER_PARAMETERS = allowList(['action']);

const peer: AuditSource = {
  eventSource: 'peer.concord',
  claimedName: () => 'Unknown',
  readOnly: () => false,
  requestParameters: (_name, input) => allowed(input, PEER_PARAMETERS),
  responseElements: () => null,
  resources: () => undefined,
  // The region the request says it comes from; whether it proved it, errorCode tells.
  userIdentity({ headers }) {
    const region = header(headers, 'x-concord-peer-region');
    return region !== undefined && /^[a-z]{2}(-[a-z]+)+-\d+$/.test(region) ? { principalId: region, type: 'ConcordRegion' } : { type: 'Unknown' };
  },
};

/**
 * What the IBM surfaces' events keep: the path's IDs and the query's paging and filters, never a
 * body (payloads, plaintext, additional authenticated data, keystore passwords and credentials,
 * API keys and tokens all travel in bodies).
 */
export const IBM_PARAMETERS: Readonly<Record<'keyprotect' | 'uko' | 'iam', readonly string[]>> = {
  keyprotect: ['id', 'alias', 'crn', 'limit', 'offset', 'state', 'extractable', 'force', 'policy', 'ring'],
  uko: ['id', 'dry_run', 'limit', 'offset'],
  iam: ['grant_type', 'id'],
};
const IBM_RESPONSES = allowList(['id']);
const IBM_READS = /^(Get|List|get|list)/;
const KP_CRYPTOGRAPHIC = new Set(['wrap', 'unwrap', 'rewrap']);

/** A surface called with an IAM bearer token (or, for its management routes, SigV4): the caller is the token's principal and API key. */
function ibmSource(eventSource: string, parameters: readonly string[], readOnly: (name: string) => boolean, resources: AuditSource['resources']): AuditSource {
  const list = allowList(parameters);
  return {
    eventSource,
    claimedName: ({ route }) => route,
    readOnly,
    requestParameters: (_name, input) => allowed(input, list),
    responseElements: (_name, output) => allowed(output, IBM_RESPONSES),
    resources,
    // A bearer token names no one until verified: a refused request is Unknown; the token is never kept.
    userIdentity: sigV4Identity,
  };
}

const keyprotect = ibmSource(
  'keyprotect.concord',
  IBM_PARAMETERS.keyprotect,
  (name) => KP_CRYPTOGRAPHIC.has(name) || IBM_READS.test(name),
  // A Key Protect root key is a KMS key of the same ID.
  (_name, input, _output, where) => {
    const key = keyArn((input as Fields | undefined)?.id, where);
    return key && [key];
  },
);
const uko = ibmSource(
  'uko.concord',
  IBM_PARAMETERS.uko,
  (name) => IBM_READS.test(name),
  () => undefined,
);
const iam = ibmSource(
  'iam.concord',
  IBM_PARAMETERS.iam,
  (name) => IBM_READS.test(name) || name === 'GET /identity/keys',
  () => undefined,
);

/**
 * The request members each CloudHSM v2 operation's event keeps. Certificates (InitializeCluster's
 * SignedCert and TrustAnchor) and resource policies are left out: long, and not who did what.
 */
export const CLOUDHSM_PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  CopyBackupToRegion: ['DestinationRegion', 'BackupId', 'TagList'],
  CreateCluster: ['BackupRetentionPolicy', 'HsmType', 'Mode', 'SourceBackupId', 'SubnetIds', 'TagList', 'NetworkType'],
  CreateHsm: ['ClusterId', 'AvailabilityZone', 'IpAddress'],
  DeleteBackup: ['BackupId'],
  DeleteCluster: ['ClusterId'],
  DeleteHsm: ['ClusterId', 'HsmId', 'EniId', 'EniIp'],
  DeleteResourcePolicy: ['ResourceArn'],
  DescribeBackups: ['NextToken', 'MaxResults', 'Filters', 'Shared', 'SortAscending'],
  DescribeClusters: ['Filters', 'NextToken', 'MaxResults'],
  GetResourcePolicy: ['ResourceArn'],
  InitializeCluster: ['ClusterId'],
  ListTags: ['ResourceId', 'NextToken', 'MaxResults'],
  ModifyBackupAttributes: ['BackupId', 'NeverExpires'],
  ModifyCluster: ['ClusterId', 'BackupRetentionPolicy', 'HsmType'],
  PutResourcePolicy: ['ResourceArn'],
  RestoreBackup: ['BackupId'],
  TagResource: ['ResourceId', 'TagList'],
  UntagResource: ['ResourceId', 'TagKeyList'],
};
const CLOUDHSM_PARAMETER_LISTS = allowLists(CLOUDHSM_PARAMETERS);
const CLOUDHSM_TARGET = 'BaldrApiService.';

const cloudhsm: AuditSource = {
  eventSource: 'cloudhsm.amazonaws.com',
  claimedName({ headers }) {
    const target = header(headers, 'x-amz-target');
    const name = target?.startsWith(CLOUDHSM_TARGET) ? target.slice(CLOUDHSM_TARGET.length) : '';
    return OPERATION_NAME.test(name) ? name : 'Unknown';
  },
  readOnly: (name) => READS.test(name),
  requestParameters: (name, input) => allowed(input, CLOUDHSM_PARAMETER_LISTS.get(name)),
  responseElements: () => null,
  resources: () => undefined,
  userIdentity: sigV4Identity,
};

/**
 * The request members each command of the HSM endpoint (the shells' `/hsm/v1`) keeps: the HSM
 * addressed, user names and types, key handles, labels, types and sizes, share targets. Never a
 * password (login, createUser, changePswd), the session token, nor a synced key or user (a masked
 * object: key material or a password hash, sealed).
 */
export const HSM_PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  describe: ['hsm'],
  listUsers: ['hsm'],
  // The name a login tries is kept as its userIdentity, only when it is a user's (it may be a password typed in the wrong place).
  login: ['hsm', 'type'],
  logout: ['hsm'],
  createUser: ['hsm', 'type', 'name'],
  deleteUser: ['hsm', 'type', 'name'],
  changePswd: ['hsm', 'type', 'name'],
  findAllKeys: ['hsm', 'userId', 'hash'],
  getKeyInfo: ['hsm', 'handle'],
  shareKey: ['hsm', 'handle', 'userIds', 'share'],
  exportKey: ['hsm', 'handle'],
  importKey: ['hsm'],
  exportUser: ['hsm', 'userId'],
  importUser: ['hsm'],
  genSymKey: ['hsm', 'keyType', 'size', 'label', 'id', 'extractable', 'shareWith'],
  genKeyPair: ['hsm', 'kind', 'label', 'modulusBits', 'publicExponent', 'curve', 'id', 'extractable'],
  findKey: ['hsm', 'keyType', 'keyClass', 'label', 'id', 'userIds'],
  getAttribute: ['hsm', 'handle'],
  deleteKey: ['hsm', 'handle'],
};
/** The answer members a change keeps: a login's user (never its session token), the IDs and handles made. Exports keep nothing: their answer is the masked object. */
export const HSM_RESPONSES: Readonly<Record<string, readonly string[]>> = {
  login: ['user'],
  createUser: ['userId'],
  changePswd: ['activated'],
  genSymKey: ['handle'],
  genKeyPair: ['publicHandle', 'privateHandle'],
  importKey: ['handle'],
};
const HSM_READS = new Set(['describe', 'listUsers', 'findAllKeys', 'getKeyInfo', 'findKey', 'getAttribute']);
/** The opcodes AWS CloudHSM's own audit log records these commands by (its audit log reference); reads and user sync have none there. */
const HSM_OPCODES: Readonly<Record<string, string>> = {
  login: 'CN_LOGIN',
  logout: 'CN_LOGOUT',
  deleteUser: 'CN_DELETE_USER',
  changePswd: 'CN_CHANGE_PSWD',
  genSymKey: 'CN_GENERATE_KEY',
  genKeyPair: 'CN_GENERATE_KEY_PAIR',
  deleteKey: 'CN_DESTROY_OBJECT',
  shareKey: 'CN_SHARE_OBJECT',
  exportKey: 'CN_EXTRACT_MASKED_OBJECT_USER',
  importKey: 'CN_INSERT_MASKED_OBJECT_USER',
};
const CREATE_OPCODES: Readonly<Record<string, string>> = { CU: 'CN_CREATE_USER', CO: 'CN_CREATE_CO', AU: 'CN_CREATE_APPLIANCE_USER' };
const HSM_PARAMETER_LISTS = allowLists(HSM_PARAMETERS);
const HSM_RESPONSE_LISTS = allowLists(HSM_RESPONSES);
/** An HSM user name as createUser makes it: the identity never names other text. */
const HSM_USER_NAME = /^[A-Za-z0-9_]{1,31}$/;
const clusterArn = ({ region, account }: Where, clusterId: string): string => `arn:aws:cloudhsm:${region}:${account}:cluster/${clusterId}`;

const hsmShell: AuditSource = {
  eventSource: 'hsm.concord',
  claimedName: ({ route }) => route,
  readOnly: (name) => HSM_READS.has(name),
  requestParameters(name, input) {
    const kept = allowed(input, HSM_PARAMETER_LISTS.get(name));
    // Refused requests carry what the caller sent, unchecked: a long text is cut.
    if (kept) for (const [member, value] of Object.entries(kept)) if (typeof value === 'string') kept[member] = clip(value);
    return kept;
  },
  responseElements: (name, output) => allowed(output, HSM_RESPONSE_LISTS.get(name)),
  resources(_name, _input, _output, where, { hsm }) {
    if (!hsm) return undefined;
    const cluster = clusterArn(where, hsm.clusterId);
    return [
      { ARN: cluster, accountId: where.account, type: 'AWS::CloudHSM::Cluster' },
      { ARN: `${cluster}/hsm/${hsm.hsmId}`, accountId: where.account, type: 'AWS::CloudHSM::Hsm' },
    ];
  },
  // The HSM user, never an IAM principal: the endpoint takes no AWS credentials.
  userIdentity({ hsm }, where) {
    if (!hsm) return { type: 'Unknown' };
    const { clusterId, hsmId, user } = hsm;
    if (!user || !HSM_USER_NAME.test(user.name)) return { clusterId, hsmId, type: 'Unknown' };
    return {
      accountId: where.account,
      arn: `${clusterArn(where, clusterId)}/user/${user.name}`,
      clusterId,
      hsmId,
      hsmUserType: user.type,
      principalId: user.id === undefined ? undefined : String(user.id),
      type: 'HSMUser',
      userName: user.name,
    };
  },
  additionalEventData(name, input) {
    // createUser's opcode is the type of user it creates.
    const [opcodes, key] = name === 'createUser' ? [CREATE_OPCODES, (input as Fields | undefined)?.type] : [HSM_OPCODES, name];
    return typeof key === 'string' && Object.hasOwn(opcodes, key) ? { opcode: opcodes[key] } : undefined;
  },
};

/** The audited surfaces by the name the server gives them; a new surface adds its own. */
export const AUDIT_SOURCES: Readonly<Record<string, AuditSource>> = { kms, sts, mgmt, peer, keyprotect, uko, iam, cloudhsm, 'hsm-shell': hsmShell };
