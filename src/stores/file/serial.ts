/**
 * Runs async jobs one after the other, in the order they were queued. Everything that changes a store's files goes
 * through one of these, so that a write, a limit enforcement or a compaction never interleave.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    // A failed job must not stop the ones queued after it; its caller gets the rejection.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
