import type { Subscription as NatsSubscription } from 'nats';
import type { SubState } from '../proto/codec.js';
import type { ChannelState } from './channel.js';
import type { QueueGroup } from './queue-group.js';

/** A subscription as the server runs it: its stored state plus what is in flight. */
export class Subscription {
  /** Sequence -> time (ms) at which it is due for redelivery, in delivery order. */
  readonly pending = new Map<number, number>();
  readonly redeliveries = new Map<number, number>();
  ackSub: NatsSubscription | undefined;
  redeliveryTimer: NodeJS.Timeout | undefined;
  redeliveryDue = 0;
  /** Set while an asynchronous catch-up is reading the store, so that only one runs at a time. */
  pumping = false;
  /** While a resumed durable's pending messages are being redelivered, new ones wait. */
  holdNew = false;
  /** An offline durable (its client closed) or a durable queue group's shadow: kept, sent nothing. */
  offline = false;
  /** Set while the owning client misses heartbeats: its messages are not redelivered to it meanwhile. */
  clientUnhealthy = false;
  redeliveredTotal = 0;
  /** Set once publishing to the inbox failed, so that the failure is logged once. */
  sendFailed = false;
  /** The client a durable queue group's shadow last belonged to: the store keeps none, monitoring shows it. */
  savedClientId = '';

  constructor(
    readonly state: SubState,
    readonly channel: ChannelState,
    public queue: QueueGroup | undefined,
  ) {}

  get id(): number {
    return this.state.ID;
  }
  get clientId(): string {
    return this.state.clientID;
  }
  get isDurable(): boolean {
    return this.state.isDurable;
  }
  get isOffline(): boolean {
    return this.offline;
  }
  get ackWaitMs(): number {
    return this.state.ackWaitInSecs * 1000;
  }
  /** Whether it may be sent one more new message now. */
  hasRoom(): boolean {
    return !this.offline && !this.holdNew && this.pending.size < this.state.maxInFlight;
  }
  get isStalled(): boolean {
    return this.pending.size >= this.state.maxInFlight;
  }
  get lastSent(): number {
    return this.state.lastSent;
  }
  set lastSent(seq: number) {
    this.state.lastSent = seq;
  }
  /** Redelivery counts are kept per group for queue members, so that they keep growing as a message moves. */
  get redeliveryCounts(): Map<number, number> {
    return this.queue ? this.queue.redeliveries : this.redeliveries;
  }
  /** The key under which a durable is found again: client, channel and durable name; queue groups are found by name. */
  static durableKey(clientId: string, durableName: string): string {
    return `${clientId}\u0000${durableName}`;
  }
}
