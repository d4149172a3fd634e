/** Node fires a timer longer than this at once (with a warning); longer waits are re-armed from their callback. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay Node's timers accept: callers re-check their condition when the timer fires, so a shorter wait is safe. */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(1, ms), MAX_TIMER_MS);
}
