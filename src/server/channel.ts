import type { MsgProto } from '../proto/codec.js';
import type { ChannelLimits } from '../stores/limits.js';
import type { Channel } from '../stores/store.js';
import { QueueGroup } from './queue-group.js';
import type { Subscription } from './subscription.js';

/** Recently stored messages, so that delivering what was just published needs no store read. */
class RecentMessages {
  private readonly ring: (MsgProto | undefined)[];
  constructor(private readonly size: number) {
    this.ring = new Array(size);
  }
  put(msg: MsgProto): void {
    this.ring[msg.sequence % this.size] = msg;
  }
  get(seq: number): MsgProto | undefined {
    const msg = this.ring[seq % this.size];
    return msg && msg.sequence === seq ? msg : undefined;
  }
  forgetAfter(seq: number, upTo: number): void {
    for (let s = seq + 1; s <= upTo; s++) if (this.ring[s % this.size]?.sequence === s) this.ring[s % this.size] = undefined;
  }
}

const RECENT_MESSAGES = 8192;

/** A channel as the server runs it: the store's channel plus the subscriptions on it. */
export class ChannelState {
  /** The last sequence assigned to a publish; messages up to `storedSeq` are durable and may be delivered. */
  lastSeq: number;
  storedSeq: number;
  readonly subs = new Set<Subscription>();
  readonly durables = new Map<string, Subscription>();
  readonly queues = new Map<string, QueueGroup>();
  lastActivity = Date.now();
  /** Set while max_inactivity deletes the channel: publishes and subscriptions are refused meanwhile. */
  deleting = false;
  private readonly recent = new RecentMessages(RECENT_MESSAGES);

  constructor(
    readonly store: Channel,
    readonly limits: ChannelLimits,
  ) {
    this.lastSeq = store.msgs.lastSequence();
    this.storedSeq = this.lastSeq;
  }

  get name(): string {
    return this.store.name;
  }

  /** Assigns the next sequence and buffers the message in the store; it is delivered once flushed. */
  append(msg: MsgProto): void {
    this.store.msgs.store(msg);
    this.recent.put(msg);
    this.lastSeq = msg.sequence;
    this.lastActivity = Date.now();
  }

  /**
   * After a failed flush: the messages the store did not keep are neither delivered nor counted, and their sequences
   * are assigned again to the next publishes.
   */
  rollBack(): void {
    const kept = this.store.msgs.lastSequence();
    this.recent.forgetAfter(kept, this.lastSeq);
    this.lastSeq = kept;
    this.storedSeq = Math.min(this.storedSeq, kept);
  }

  firstSeq(): number {
    return this.store.msgs.firstSequence();
  }

  /** A message by sequence, synchronously when it is recent, else from the store; undefined if dropped by limits. */
  message(seq: number): MsgProto | undefined | Promise<MsgProto | undefined> {
    if (seq < this.firstSeq()) return undefined;
    return this.recent.get(seq) ?? this.store.msgs.lookup(seq);
  }

  queueGroup(name: string, isDurable: boolean): QueueGroup {
    let group = this.queues.get(name);
    if (!group) {
      group = new QueueGroup(name, isDurable);
      this.queues.set(name, group);
    }
    return group;
  }

  /** Whether an online subscription keeps the channel alive against max_inactivity; offline durables do not. */
  hasActiveSubs(): boolean {
    for (const sub of this.subs) if (!sub.isOffline) return true;
    return false;
  }
}
