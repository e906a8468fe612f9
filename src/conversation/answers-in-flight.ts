/**
 * The answers this process is working on, for shutdown: draining waits for them (also ones that
 * start meanwhile), within a bound.
 */
export class AnswersInFlight {
  readonly #work = new Set<Promise<void>>();
  readonly #onChange: (size: number) => void;
  readonly #now: () => number;

  /** `onChange` is told the count whenever it changes (a gauge). */
  constructor(onChange: (size: number) => void, now: () => number) {
    this.#onChange = onChange;
    this.#now = now;
  }

  get size(): number {
    return this.#work.size;
  }

  /** Counts `work` until it settles. */
  track(work: Promise<void>): void {
    this.#work.add(work);
    this.#onChange(this.#work.size);
    void work.finally(() => {
      this.#work.delete(work);
      this.#onChange(this.#work.size);
    });
  }

  /** Waits up to `timeoutMs` for every answer in flight; true when none is left. */
  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = this.#now() + timeoutMs;
    while (this.#work.size > 0) {
      const remainingMs = deadline - this.#now();
      if (remainingMs <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, remainingMs);
      });
      await Promise.race([Promise.allSettled([...this.#work]), timeout]);
      clearTimeout(timer);
    }
    return true;
  }
}
