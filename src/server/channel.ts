import type { MsgProto } from '../proto/codec.js';
import type { ChannelLimits } from '../stores/limits.js';
import type { Channel } from '../stores/store.js';
import { IdleTrigger } from '../timers.js';
import { QueueGroup } from './queue-group.js';
import type { Subscription } from './subscription.js';

/**
 * Recently stored messages, so that delivering what was just published needs no store read. Bounded in count and in
 * payload bytes (a message also keeps alive the buffers its bytes are views of), and emptied once nothing was added
 * for a whole second (checked every second), as the Go store's cache is: a channel that stopped receiving holds no
 * message in memory here.
 */
class RecentMessages {
  private readonly ring: (MsgProto | undefined)[];
  private bytes = 0;
  /** The oldest sequence that may still be here. */
  private oldest = 0;
  private readonly idle = new IdleTrigger(RECENT_IDLE_CLEAR_MS, () => this.clear());

  constructor(
    private readonly size: number,
    private readonly maxBytes: number,
  ) {
    this.ring = new Array(size);
  }

  put(msg: MsgProto): void {
    const seq = msg.sequence;
    if (seq > this.size) this.drop(seq - this.size);
    if (this.bytes === 0) this.oldest = seq;
    this.ring[seq % this.size] = msg;
    this.bytes += recentCost(msg);
    while (this.bytes > this.maxBytes && this.oldest < seq) this.drop(this.oldest);
    this.idle.touch();
  }

  get(seq: number): MsgProto | undefined {
    const msg = this.ring[seq % this.size];
    return msg && msg.sequence === seq ? msg : undefined;
  }

  forgetAfter(seq: number, upTo: number): void {
    for (let s = seq + 1; s <= upTo; s++) this.remove(s);
    this.oldest = Math.min(this.oldest, seq + 1);
  }

  /** Removes `seq` and moves the oldest mark past it. */
  private drop(seq: number): void {
    this.remove(seq);
    if (seq >= this.oldest) this.oldest = seq + 1;
  }

  private remove(seq: number): void {
    const slot = seq % this.size;
    const msg = this.ring[slot];
    if (msg?.sequence !== seq) return;
    this.ring[slot] = undefined;
    this.bytes -= recentCost(msg);
  }

  private clear(): void {
    this.ring.fill(undefined);
    this.bytes = 0;
  }
}

const RECENT_MESSAGES = 8192;
/** 2 MB of payloads: all 8192 for messages of 128 bytes, 127 of 16 KB. */
const RECENT_MAX_BYTES = 2 * 1024 * 1024;
/** What a message costs beyond its payload (its object, subject and record framing), for the byte bound. */
const RECENT_OVERHEAD_BYTES = 64;
const recentCost = (msg: MsgProto) => msg.data.length + RECENT_OVERHEAD_BYTES;
const RECENT_IDLE_CLEAR_MS = 1000;

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
  private readonly recent = new RecentMessages(RECENT_MESSAGES, RECENT_MAX_BYTES);

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
