/** Node fires a timer longer than this at once (with a warning); longer waits are re-armed from their callback. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay Node's timers accept: callers re-check their condition when the timer fires, so a shorter wait is safe. */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(1, ms), MAX_TIMER_MS);
}

/** Calls `onIdle` once a whole period passes without `touch()`, then waits for the next touch. */
export class IdleTrigger {
  private timer: NodeJS.Timeout | undefined;
  private touched = false;

  constructor(
    private readonly periodMs: number,
    private readonly onIdle: () => void,
  ) {}

  touch(): void {
    this.touched = true;
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.touched) {
        this.touched = false;
        return;
      }
      this.cancel();
      this.onIdle();
    }, this.periodMs);
    this.timer.unref();
  }

  cancel(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
