import { catalogue, type ErrorName } from './catalogue.ts';

/** A domain error with a stable AWS exception name; its message is safe to show the caller. */
export class KmsError extends Error {
  readonly code: ErrorName;
  constructor(code: ErrorName, message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }

  get status(): number {
    return catalogue[this.code];
  }
}

export const kmsError = (code: ErrorName, message: string): KmsError => new KmsError(code, message);
