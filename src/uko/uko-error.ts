/** What went wrong, in terms a surface turns into its status code. */
export type UkoErrorKind =
  'unauthenticated' | 'invalid' | 'not_found' | 'conflict' | 'precondition_required' | 'precondition_failed' | 'unsupported' | 'keystore';

/** A refusal of the orchestrator: IBM's error code, a message safe to show, and what it is about. */
export class UkoError extends Error {
  constructor(
    readonly kind: UkoErrorKind,
    readonly code: string,
    message: string,
    readonly target?: { type: 'field' | 'parameter' | 'header'; name: string },
  ) {
    super(message);
    this.name = 'UkoError';
  }
}

export const invalidField = (name: string, message: string): UkoError => new UkoError('invalid', 'invalid_field', message, { type: 'field', name });
export const missingField = (name: string): UkoError => new UkoError('invalid', 'missing_field', `The ${name} field is required`, { type: 'field', name });
export const notFound = (what: string, id: string): UkoError =>
  new UkoError('not_found', `${what}_not_found`, `The ${what.replace('_', ' ')} ${id} does not exist`);
