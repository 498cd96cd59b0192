/** Runs work for one key at a time within this process, in arrival order. */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(keyId: string, work: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(keyId) ?? Promise.resolve()).then(work, work);
    const tail = result.catch(() => undefined);
    this.tails.set(keyId, tail);
    void tail.then(() => {
      if (this.tails.get(keyId) === tail) this.tails.delete(keyId);
    });
    return result;
  }
}
