/**
 * The one retry policy of the engine: exponential backoff with jitter inside a time budget (the config's
 * `retry:` section). The PostgreSQL sink, the schema registry client and the dead-letter producer all
 * retry through it, so an outage of any of them is waited out the same way and for the same time.
 */
export interface RetryPolicy {
  minDelayMs: number;
  maxDelayMs: number;
  /** Attempts stop once the next wait would end past this much time after the first failure. */
  maxElapsedMs: number;
}

/** The config's defaults (retry: minDelay 200ms, maxDelay 10s, maxElapsed 10m). */
export const DEFAULT_RETRY: RetryPolicy = { minDelayMs: 200, maxDelayMs: 10_000, maxElapsedMs: 600_000 };

/**
 * The waits between attempts: min, then doubling up to max, each with ±25 % jitter so that clients that
 * failed together (connections lost in the same outage) do not retry in step.
 */
export class Backoff {
  private delay: number;
  private readonly giveUpAt: number;
  attempts = 0;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.delay = policy.minDelayMs;
    this.giveUpAt = now() + policy.maxElapsedMs;
  }

  /** When the budget runs out (ms since the epoch, by `now`). */
  get deadline(): number {
    return this.giveUpAt;
  }

  /** The wait before the next attempt, or null when it would end past the budget. */
  next(): number | null {
    const wait = Math.round(Math.min(this.delay, this.policy.maxDelayMs) * (0.75 + this.random() / 2));
    if (this.now() + wait > this.giveUpAt) return null;
    this.attempts++;
    this.delay = Math.min(this.delay * 2, this.policy.maxDelayMs);
    return wait;
  }
}

export interface RetryOptions {
  /** Whether a failure may be retried (others are thrown at once). */
  retriable(err: unknown): boolean;
  /** Called before each wait: the failure, the wait and the attempt that failed (1, 2, …). */
  onRetry?(err: unknown, waitMs: number, attempt: number): void;
  /** True once retrying should stop (shutdown): the last failure is thrown. */
  stopped?(): boolean;
  /** Turns the last failure into the error thrown when the budget is spent. */
  exhausted?(err: unknown, policy: RetryPolicy): unknown;
}

/** Runs `fn` until it succeeds, fails in a way that is not retriable, or the budget is spent. */
export async function retry<T>(fn: (attempt: number) => Promise<T> | T, policy: RetryPolicy, options: RetryOptions): Promise<T> {
  const backoff = new Backoff(policy);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!options.retriable(err) || options.stopped?.()) throw err;
      const wait = backoff.next();
      if (wait === null) throw options.exhausted ? options.exhausted(err, policy) : err;
      options.onRetry?.(err, wait, attempt);
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (options.stopped?.()) throw err;
    }
  }
}
