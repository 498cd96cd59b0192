/** Key Protect's reason codes, each with its HTTP status and message as IBM's error reference gives them. */
const REASONS = {
  BAD_BODY_ERR: [400, 'Invalid body data was passed: Please ensure the data passed had valid formatting with no invalid characters'],
  NO_BODY_ERR: [400, 'Missing body in request'],
  COLLECTION_TOTAL_MISMATCH_ERR: [400, 'Collection total does not match number of resources'],
  BODY_QUERY_PARAM_MISMATCH_ERR: [400, 'Data in body does not match data required by query parameter'],
  NUM_COLLECTION_RESOURCE_ERR: [400, 'Only a single instance policy may be created per query parameter: Please pass single resource object'],
  KEY_ROOT_REQ_ERR: [400, 'Requested action can only be completed with a root key'],
  KEY_RESTORE_EXPIRED: [400, 'Key restoration has expired'],
  KEY_PAYLOAD_REQ_ERR: [400, "This root key was created with user-supplied key material: Key material is required to perform a 'rotate' action"],
  KEY_EXPIRED_ERR: [400, 'The action could not be performed on the key because the key is expired'],
  INCORRECT_NONCE_ERR: [400, 'The encrypted nonce given does not match existing record: Please ensure the correct nonce was given in the request'],
  INCORRECT_NONCE_IV_ERR: [
    400,
    'The provided encrypted nonce was not encrypted with the key material given OR the provided IV does not match the encrypted nonce',
  ],
  IMPORT_TOKEN_EXPIRED_ERR: [409, 'The import token has expired'],
  BEARER_SUB_EXTRACTION_ERR: [400, 'Extracting the subject from the bearer token failed'],
  UNAUTHORIZED_ERR: [401, 'Unauthorized: The user does not have access to the specified resource'],
  SERVICE_ONLY_ERR: [403, 'This action can only be done by a service (service to service)'],
  RESOURCE_OWNER_ERR: [403, 'The resource(s) queried does not belong to the service'],
  NOT_FOUND_ERR: [404, 'Not Found: The requested resource could not be found'],
  KEY_ACTION_INVALID_STATE_ERR: [409, 'Key is not in a valid state'],
  PROTECTED_RESOURCE_ERR: [409, 'Key is protecting one or more cloud resources'],
  NOT_DUAL_AUTH_ERR: [409, 'The key is not dual auth enabled and cannot be set for deletion'],
  AUTHORIZATIONS_NOT_MET: [409, 'Number of authorizations required to delete is not met'],
  REQ_TOO_EARLY_ERR: [409, 'The key was updated recently: Please wait and try again'],
  KEY_ROTATION_NOT_PERMITTED: [409, "This root key has been rotated within the last hour: Only one 'rotate' action per hour is permitted"],
  CONFLICT_ERR: [409, 'Conflict: The resource already exists'],
  KEY_CREATE_IMPORT_ACCESS_ERR: [409, 'KeyCreateImportAccess instance policy does not allow this action'],
  KEY_RING_NOT_EMPTY_ERR: [409, 'The key ring cannot be deleted because it contains keys'],
  KEY_RING_RESERVED_ERR: [409, 'The default key ring is reserved: it cannot be created or deleted'],
  KEY_RING_NOT_FOUND_ERR: [404, 'The key ring could not be found'],
  KEY_DELETED_ERR: [410, 'Key has already been deleted: Please delete references to this key'],
  KEY_INVALID_STATE_ERR: [422, 'Key is not in a valid state'],
  KEY_ROOT_REQ_REG_ERR: [422, 'Requested action can only be completed with a root key'],
  UNPROCESSABLE_CIPHERTEXT_ERR: [422, 'The provided ciphertext is invalid or corrupted'],
  KEY_VERSION_INVALID: [422, 'This request requires that the key version is later than current registration key version'],
  INTERNAL_SERVER_ERR: [500, 'Internal Server Error'],
  SERVICE_UNAVAILABLE_ERR: [503, 'The service is unavailable; try again'],
} as const satisfies Record<string, readonly [number, string]>;

export type KpReason = keyof typeof REASONS;

/**
 * A refusal in Key Protect's terms: a reason code of IBM's error reference, its status, and
 * what failed ("Key could not be deleted"), which the surface turns into IBM's errorMsg.
 */
export class KpError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(
    readonly code: KpReason,
    /** What could not be done, e.g. "Key could not be deleted". */
    readonly action = 'The request could not be completed',
    /** The member of the request at fault, for IBM's reasons[].target. */
    readonly target?: string,
  ) {
    const [status, reason] = REASONS[code];
    super(reason);
    this.name = 'KpError';
    this.status = status;
    this.reason = reason;
  }
}
