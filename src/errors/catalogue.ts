/**
 * The one error catalogue. Each entry is an AWS KMS exception name with the HTTP status
 * AWS answers it with. Domain code throws `KmsError`; each API surface maps it to its wire.
 */
export const catalogue = {
  AccessDeniedException: 400,
  AlreadyExistsException: 400,
  ConflictException: 400,
  DependencyTimeoutException: 503,
  DisabledException: 400,
  DryRunOperationException: 412,
  ExpiredImportTokenException: 400,
  ExpiredTokenException: 400,
  IncompleteSignatureException: 400,
  IncorrectKeyException: 400,
  IncorrectKeyMaterialException: 400,
  InvalidAliasNameException: 400,
  InvalidArnException: 400,
  InvalidCiphertextException: 400,
  InvalidGrantIdException: 400,
  InvalidGrantTokenException: 400,
  InvalidImportTokenException: 400,
  InvalidKeyUsageException: 400,
  InvalidMarkerException: 400,
  InvalidSignatureException: 400,
  KMSInternalException: 500,
  KMSInvalidMacException: 400,
  KMSInvalidSignatureException: 400,
  KMSInvalidStateException: 400,
  KeyUnavailableException: 500,
  LimitExceededException: 400,
  MalformedPolicyDocumentException: 400,
  MissingAuthenticationTokenException: 403,
  NotFoundException: 400,
  RequestEntityTooLargeException: 413,
  SerializationException: 400,
  TagException: 400,
  UnknownOperationException: 400,
  UnrecognizedClientException: 400,
  UnsupportedOperationException: 400,
  ValidationException: 400,
} as const;

export type ErrorName = keyof typeof catalogue;
