import { hrtime } from 'node:process';

const offset = BigInt(Date.now()) * 1_000_000n - hrtime.bigint();

/** Wall-clock Unix nanoseconds that never go backwards within this process, for message timestamps. */
export function nowNs(): bigint {
  return offset + hrtime.bigint();
}
