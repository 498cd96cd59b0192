/** A refusal `concord tke` explains to its user: printed as it is, without a stack. */
export class TkeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TkeError';
  }
}
