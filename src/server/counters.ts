/** Traffic totals, as serverz reports them and /metrics exposes them. */
export class Counters {
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  publishes = 0;
  deliveries = 0;
  redeliveries = 0;
  acks = 0;
  /** Observes how long each batch of publishes took to become durable, for the store latency histogram. */
  onStoreFlush: (seconds: number) => void = () => {};
}
