/**
 * A refusal of the IAM token service, with IBM IAM's error code (BXNIM…) and HTTP status;
 * the token surface answers it in IAM's shape, other surfaces turn a bearer refusal into their
 * own "unauthorized".
 */
export class IamError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'IamError';
  }
}

export const unknownApiKey = (): IamError => new IamError('BXNIM0415E', 400, 'Provided API key could not be found.');
export const invalidRefreshToken = (): IamError => new IamError('BXNIM0407E', 400, 'Provided refresh token is not valid.');
/** A bearer token that is not one of ours, has expired, or whose API key was revoked: all alike to the caller. */
export const invalidBearer = (why: string): IamError => new IamError('BXNIM0407E', 401, why);
