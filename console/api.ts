import type { KmsApi, KeyMetadata } from '../src/kms/index.ts';

/** What the console API answers about the signed-in session. */
export interface SessionInfo {
  region: string;
  /** This region (url '') and the deployment's others, whose consoles the region menu opens. */
  regions: { name: string; url: string }[];
  principal: string;
  /** How the session was opened ('accessKey' or 'apiKey'), and the credential's ID (an access key ID or API key ID, never its secret). */
  method: string;
  credentialId: string;
  csrfToken: string;
  idleTimeoutSeconds: number;
}

export interface KeyRow {
  KeyId: string;
  KeyMetadata?: KeyMetadata;
  Aliases: string[];
  error?: { code: string; message: string };
}

export interface UnitView {
  id: string;
  role: string;
  backend: string;
  mode: string;
  admins: { name: string; keyId: string }[];
  signatureThreshold: number;
  revocationThreshold: number;
  registers: Record<'new' | 'current' | 'old', { state: string; pattern?: string }>;
}

/** An error the console API answered, as its pages show it: the code (e.g. AccessDeniedException) and the message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let signedOut: () => void = () => undefined;

/** The session's CSRF token, sent with every change, and what to do when the session has ended. */
export function attachSession(session: SessionInfo | undefined, onSignedOut: () => void): void {
  csrfToken = session?.csrfToken ?? '';
  signedOut = onSignedOut;
}

/** One call of the console API under /console/api. */
export async function request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return (await send<T>(method, path, body)).value;
}

/** A call answering a UKO resource with its ETag; `ifMatch` is the ETag the page read, for a change that needs it. */
export const tagged = <T>(method: 'GET' | 'POST', path: string, ifMatch?: string): Promise<Tagged<T>> =>
  send<T>(method, path, undefined, ifMatch === undefined ? {} : { 'if-match': ifMatch });

async function send<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Tagged<T>> {
  const headers: Record<string, string> = { ...extra };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(`/console/api/${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'NetworkError', 'The region did not answer. Check that it is running, then try again.');
  }
  const etag = response.headers.get('etag') ?? '';
  if (response.status === 204) return { value: undefined as T, etag };
  const answer = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
  if (!response.ok) {
    if (response.status === 401 && path !== 'session') signedOut();
    throw new ApiError(response.status, answer.error ?? `Http${response.status}`, answer.message ?? response.statusText);
  }
  return { value: answer as T, etag };
}

/** A KMS operation, performed as the signed-in principal. */
export const kms = <Op extends keyof KmsApi>(operation: Op, input: KmsApi[Op]['input']): Promise<KmsApi[Op]['output']> =>
  request('POST', `kms/${operation}`, input);

/** A CloudHSM v2 operation, performed as the signed-in principal; input and output as the CloudHSM v2 API has them. */
export const cloudhsm = <T>(operation: string, input: Record<string, unknown>): Promise<T> => request('POST', `cloudhsm/${operation}`, input);

/** An HSM of a cluster, as DescribeClusters shows it. */
export interface Hsm {
  HsmId: string;
  AvailabilityZone: string;
  SubnetId: string;
  EniId: string;
  EniIp: string;
  State: string;
  StateMessage?: string;
}

export interface Cluster {
  ClusterId: string;
  State: string;
  StateMessage?: string;
  HsmType: string;
  Mode: string;
  Hsms: Hsm[];
  SubnetMapping: Record<string, string>;
  VpcId: string;
  SecurityGroup: string;
  BackupRetentionPolicy: { Type: string; Value: string };
  SourceBackupId?: string;
  /** Seconds since the epoch, as the API's timestamps. */
  CreateTimestamp: number;
}

export interface Backup {
  BackupId: string;
  BackupArn: string;
  BackupState: string;
  ClusterId?: string;
  CreateTimestamp: number;
  CopyTimestamp?: number;
  DeleteTimestamp?: number;
  NeverExpires: boolean;
  SourceRegion?: string;
  SourceBackup?: string;
  SourceCluster?: string;
  HsmType: string;
  Mode: string;
}

/** An audit event as the trail keeps it (a CloudTrail record), the parts the key page shows. */
export interface AuditEventView {
  eventID: string;
  eventTime: string;
  eventName: string;
  eventSource: string;
  userIdentity: { arn?: string; accessKeyId?: string; type: string };
  sourceIPAddress: string;
  errorCode?: string;
  errorMessage?: string;
  readOnly: boolean;
}

const prefetched = new Map<string, Promise<unknown>>();

/** Starts a read the first page will make, alongside the session's: the page then shows one round trip sooner. */
export function prefetch(path: string): void {
  const answer = request('GET', path);
  // Whoever takes it handles its failure; until then it is not an unhandled rejection.
  answer.catch(() => undefined);
  prefetched.set(path, answer);
}

/** A read of the console API, taken from a prefetch of it when there is one; a prefetch that failed (made before sign-in) is read again. */
export function get<T>(path: string): Promise<T> {
  const answer = prefetched.get(path) as Promise<T> | undefined;
  prefetched.delete(path);
  return answer ? answer.catch(() => request<T>('GET', path)) : request<T>('GET', path);
}

/** A resource registered against a root key (Key Protect). */
export interface Registration {
  resourceCrn: string;
  description?: string;
  preventKeyDeletion: boolean;
  creationDate: string;
  lastUpdated: string;
  keyVersion: { id: string };
  lastNotification?: { event: string; queuedAt: string };
}

/** A managed key's copy in one keystore, as UKO's status_in_keystores shows it. */
export interface StatusInKeystore {
  keystore: { id: string; name: string; type: string };
  status: string;
  keystore_sync_flag: string;
  keystore_sync_flag_detail: string;
  error?: { errors: { code: string; message: string }[] };
  key_id_in_keystore?: string;
}

/** A managed key as UKO's API shows it. */
export interface ManagedKey {
  id: string;
  label: string;
  description?: string;
  state: string;
  algorithm: string;
  size: string;
  vault: { id: string; name: string };
  template: { id: string; name: string };
  updated_at: string;
  status_in_keystores: StatusInKeystore[];
}

/** A managed key with the ETag it was read at, which a sync sends back as If-Match. */
export interface Tagged<T> {
  value: T;
  etag: string;
}
