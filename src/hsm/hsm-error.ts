/** The exceptions of the CloudHSM v2 API (botocore's cloudhsmv2 model). */
export type CloudHsmErrorCode =
  | 'CloudHsmAccessDeniedException'
  | 'CloudHsmInternalFailureException'
  | 'CloudHsmInvalidRequestException'
  | 'CloudHsmResourceLimitExceededException'
  | 'CloudHsmResourceNotFoundException'
  | 'CloudHsmServiceException'
  | 'CloudHsmTagException';

/**
 * A refusal of the cluster domain, named as the CloudHSM v2 API names it; its message is safe
 * to show the caller. The model declares no HTTP codes, so the JSON protocol's apply: 400, and
 * 500 for the one fault (CloudHsmInternalFailureException).
 */
export class CloudHsmError extends Error {
  constructor(
    readonly code: CloudHsmErrorCode,
    message: string,
  ) {
    super(message);
    this.name = code;
  }

  get status(): number {
    return this.code === 'CloudHsmInternalFailureException' ? 500 : 400;
  }
}

export const invalidRequest = (message: string): CloudHsmError => new CloudHsmError('CloudHsmInvalidRequestException', message);
export const notFound = (message: string): CloudHsmError => new CloudHsmError('CloudHsmResourceNotFoundException', message);
