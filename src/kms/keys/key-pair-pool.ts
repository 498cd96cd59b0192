/** A key pair as the key service keeps and returns it. */
export interface KeyPairDer {
  /** PKCS#8 DER. */
  privateKey: Buffer;
  /** DER SubjectPublicKeyInfo. */
  publicKey: Buffer;
}

/** What a pool holds and has given out for one key spec, for metrics. */
export interface KeyPairPoolStats {
  spec: string;
  /** Pairs ready now. */
  available: number;
  /** Pairs given out from the pool, and generated for a taker that found the pool empty. */
  taken: { pool: number; generated: number };
}

/**
 * Key pairs generated ahead of need for specs whose generation is slow (RSA_4096 takes
 * seconds of a core), so a request takes a ready one instead of waiting. Each spec holds at
 * most `size` pairs, from its first use on, or from the start for the specs `prefill` names; a
 * pair is generated one at a time, in the background, for the spec with the fewest ready, until
 * every spec is full. A taker finding none generates its own. Pairs live in this process's
 * memory only, never in the store or a log, and each is given out once.
 */
export class KeyPairPool {
  private readonly ready = new Map<string, KeyPairDer[]>();
  private readonly taken = new Map<string, { pool: number; generated: number }>();
  private refilling: Promise<void> | undefined;

  constructor(
    private readonly generate: (spec: string) => Promise<KeyPairDer>,
    private size: number,
  ) {}

  /**
   * Holds at most `size` pairs of each spec from now on (dropping any over it), and fills `specs`
   * now, in the background, so that even their first takers find pairs ready.
   */
  prefill(specs: readonly string[], size: number): void {
    this.size = size;
    for (const pairs of this.ready.values()) pairs.splice(size);
    for (const spec of specs) this.pairsOf(spec);
    this.refill();
  }

  take(spec: string): Promise<KeyPairDer> {
    const pair = this.takeReady(spec);
    if (pair) return Promise.resolve(pair);
    this.taken.get(spec)!.generated += 1;
    return this.generate(spec);
  }

  /** A pair ready in the pool, or undefined when it is empty (the spec counts as used from then on, and is refilled). */
  takeReady(spec: string): KeyPairDer | undefined {
    const pair = this.pairsOf(spec).shift();
    if (pair) this.taken.get(spec)!.pool += 1;
    this.refill();
    return pair;
  }

  stats(): KeyPairPoolStats[] {
    return [...this.ready].map(([spec, pairs]) => ({ spec, available: pairs.length, taken: { ...this.taken.get(spec)! } }));
  }

  /** Resolves once no refill is under way and every spec used so far is full (or a generation failed). */
  async idle(): Promise<void> {
    while (this.refilling) await this.refilling;
  }

  /** The ready pairs of a spec, which counts as in use from then on. */
  private pairsOf(spec: string): KeyPairDer[] {
    let pairs = this.ready.get(spec);
    if (!pairs) {
      pairs = [];
      this.ready.set(spec, pairs);
      this.taken.set(spec, { pool: 0, generated: 0 });
    }
    return pairs;
  }

  private refill(): void {
    if (this.refilling) return;
    // The emptiest spec first, so that after a start each spec has a pair ready before any has two.
    const [spec] = [...this.ready].filter(([, pairs]) => pairs.length < this.size).sort(([, a], [, b]) => a.length - b.length)[0] ?? [];
    if (spec === undefined) return;
    this.refilling = this.generate(spec).then(
      (pair) => {
        // The bound may have been lowered while this pair was being generated.
        const pairs = this.ready.get(spec)!;
        if (pairs.length < this.size) pairs.push(pair);
        this.refilling = undefined;
        this.refill();
      },
      // A failed generation is left for the next taker to retry, rather than retried in a loop here.
      () => {
        this.refilling = undefined;
      },
    );
  }
}
