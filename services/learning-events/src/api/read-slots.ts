// Bounds the timeline and feed reads running at once. Beyond the bound a read is refused with 503
// and Retry-After rather than queued: a queue would only make every caller wait longer, and the
// caller can back off, or go to another replica, better than the service can guess.
import { ServiceUnavailableError } from '@learning-analytics/common';
import type { LoggerMetrics } from '../metrics.js';

const RETRY_AFTER_S = 1;

export class ReadSlots {
  private taken = 0;

  constructor(
    private readonly limit: number,
    private readonly metrics: Pick<LoggerMetrics, 'readsInProgress' | 'readsRefused'>,
  ) {}

  /** Takes a slot or throws 503; the returned release may be called any number of times. */
  take(): () => void {
    if (this.taken >= this.limit) {
      this.metrics.readsRefused.inc();
      throw new ServiceUnavailableError(
        `${this.limit} reads are in progress, the most this service runs at once; retry shortly.`,
        RETRY_AFTER_S,
      );
    }
    this.taken += 1;
    this.metrics.readsInProgress.set(this.taken);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.taken -= 1;
      this.metrics.readsInProgress.set(this.taken);
    };
  }

  /** Runs `read` in a slot. */
  async run<T>(read: () => Promise<T>): Promise<T> {
    const release = this.take();
    try {
      return await read();
    } finally {
      release();
    }
  }
}
