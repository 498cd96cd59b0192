/** An error STS answers with its own code and status (AWS Query protocol), e.g. ValidationError. */
export class StsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

/** AWS's wording of a parameter that fails its constraint, e.g. "Value 'x' at 'roleSessionName' failed to satisfy constraint: …". */
export const validationError = (value: string | null, member: string, constraint: string): StsError =>
  new StsError(
    'ValidationError',
    400,
    `1 validation error detected: Value ${value === null ? 'null' : `'${value}'`} at '${member}' failed to satisfy constraint: ${constraint}`,
  );
