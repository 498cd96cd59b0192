/** Who made a request, as CloudTrail's userIdentity tells it. */
export interface UserIdentity {
  type: 'Root' | 'IAMUser' | 'AssumedRole' | 'ConcordRegion' | 'HSMUser' | 'Unknown';
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  sessionContext?: {
    sessionIssuer?: { type: 'Role'; principalId: string; arn: string; accountId: string; userName: string };
    attributes: { mfaAuthenticated: 'false' };
  };
  /** An HSM user's: the cluster and HSM it acted on, and its type there (PRECO, PCO, CO, CU, AU). */
  clusterId?: string;
  hsmId?: string;
  hsmUserType?: string;
}

export interface AuditResource {
  ARN: string;
  accountId: string;
  type: 'AWS::KMS::Key' | 'AWS::CloudHSM::Cluster' | 'AWS::CloudHSM::Hsm';
}

/**
 * One request as an audit event, shaped like a CloudTrail record so the tools that read
 * CloudTrail read it too. It never holds plaintext, ciphertext, key material or credentials:
 * request parameters and response elements are allow-listed per operation (audit-sources.ts).
 */
export interface AuditEvent {
  /** What the source tells beyond CloudTrail's fields; the HSM endpoint's: the opcode the HSM's own audit log names the command by. */
  additionalEventData?: Record<string, unknown> | undefined;
  eventVersion: '1.08';
  userIdentity: UserIdentity;
  /** ISO 8601 to the second, like CloudTrail's. */
  eventTime: string;
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  requestID: string;
  eventID: string;
  readOnly: boolean;
  resources?: AuditResource[] | undefined;
  eventType: 'AwsApiCall';
  managementEvent: true;
  recipientAccountId: string;
  eventCategory: 'Management';
}

/** An event as the chain keeps it: its place, its time in milliseconds and the chain hash up to it. */
export interface ChainedEvent {
  seq: number;
  time: number;
  hash: string;
  event: AuditEvent;
}
