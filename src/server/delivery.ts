import { type MsgProto, encodeMsgProtoInto } from '../proto/codec.js';
import type { ChannelState } from './channel.js';
import type { ServerContext } from './context.js';
import type { QueueGroup } from './queue-group.js';
import type { Subscription } from './subscription.js';
import { timerDelay } from '../timers.js';

/** A redelivery due within this window is done now rather than by another timer. */
const REDELIVERY_LOOKAHEAD_MS = 15;
/**
 * Sent and ack records are written with the deliveries of each publish batch, as the Go server does; those that come
 * in between (acks, and what acks let through) are written within this delay rather than in a write of their own each
 * event-loop turn. Losing them in a crash costs a redelivery, never a message.
 */
const SUB_RECORDS_DELAY_MS = 50;

type Target = Subscription | QueueGroup;

/** Sends messages to subscriptions, tracks what awaits an ack, and redelivers what was not acked in time. */
export class Delivery {
  private readonly dirtySubStores = new Set<ChannelState>();
  private flushScheduled = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly ctx: ServerContext) {}

  /**
   * Delivers newly stored messages of a channel to every subscription that is caught up and has room, and has the
   * subscription records written at the end of this event-loop turn.
   */
  onNewMessages(channel: ChannelState): void {
    for (const sub of channel.subs) if (!sub.queue && !sub.isOffline) this.pump(sub);
    for (const group of channel.queues.values()) if (group.members.length > 0) this.pump(group);
    if (this.dirtySubStores.size > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushSubStores);
    }
  }

  /** Sends available messages after the target's last sent one while it has room; reads from the store if needed. */
  pump(target: Target): void {
    // An asynchronous read is under way; it pumps again when it completes.
    if (target.pumping) return;
    const isGroup = !('state' in target);
    const channel = isGroup ? (target.members[0]?.channel as ChannelState | undefined) : target.channel;
    if (!channel) return;
    for (;;) {
      if (!target.hasRoom()) return;
      let seq = target.lastSent + 1;
      if (seq > channel.storedSeq) return;
      const first = channel.firstSeq();
      if (seq < first) {
        seq = first;
        if (seq > channel.storedSeq) return;
      }
      const found = channel.message(seq);
      if (found instanceof Promise) {
        this.pumpAfterRead(target, channel, seq, found);
        return;
      }
      if (!this.deliverOrSkip(target, seq, found)) return;
    }
  }

  /**
   * Goes on pumping once a message is read from the store. Apart from pump(), which runs for every ack, because a
   * closure over its loop's variables would cost an allocation each time round.
   */
  private pumpAfterRead(target: Target, channel: ChannelState, seq: number, reading: Promise<MsgProto | undefined>): void {
    target.pumping = true;
    reading.then(
      (msg) => {
        target.pumping = false;
        if (target.lastSent < seq && !this.deliverOrSkip(target, seq, msg)) return;
        this.pump(target);
      },
      (err: unknown) => {
        target.pumping = false;
        this.ctx.log.error({ err, channel: channel.name, seq }, 'cannot read message for delivery');
      },
    );
  }

  /** Sends `seq` to the target, or moves past it if it was dropped; false when nobody can take it now. */
  private deliverOrSkip(target: Target, seq: number, msg: MsgProto | undefined): boolean {
    if (!msg) {
      target.lastSent = seq;
      return true;
    }
    if ('state' in target) {
      this.send(target, msg, false);
      return true;
    }
    const member = target.bestMember();
    if (!member || !member.hasRoom()) return false;
    target.lastSent = seq;
    this.send(member, msg, false);
    return true;
  }

  /** Publishes one message to a subscription's inbox and records it as awaiting an ack. */
  send(sub: Subscription, msg: MsgProto, redelivered: boolean): void {
    const seq = msg.sequence;
    let count = 0;
    if (redelivered) {
      const counts = sub.redeliveryCounts;
      count = (counts.get(seq) ?? 0) + 1;
      counts.set(seq, count);
      sub.redeliveredTotal++;
      this.ctx.counters.redeliveries++;
    }
    const counters = this.ctx.counters;
    try {
      counters.outBytes += this.publishMsg(sub.state.inbox, msg, redelivered ? count : 0);
      counters.outMsgs++;
    } catch (err) {
      // A bad inbox fails this subscription only; the message stays pending like any unacked one.
      if (!sub.sendFailed) this.ctx.log.error({ err, clientId: sub.clientId, channel: sub.channel.name, inbox: sub.state.inbox }, 'failed sending a message to a subscription');
      sub.sendFailed = true;
    }
    counters.deliveries++;
    const now = Date.now();
    const due = sub.pending.get(seq);
    if (due !== undefined) {
      sub.pending.set(seq, (due || now) + sub.ackWaitMs);
    } else {
      sub.pending.set(seq, now + sub.ackWaitMs);
      sub.channel.store.subs.addSeqPending(sub.id, seq);
      this.markDirty(sub.channel);
      if (seq > sub.state.lastSent) sub.state.lastSent = seq;
      if (sub.queue && seq > sub.queue.lastSent) sub.queue.lastSent = seq;
    }
    this.armRedelivery(sub);
  }

  /**
   * Publishes a message to an inbox; returns its encoded size. A message whose encoding the store already made (the
   * file store's record) is copied; otherwise it is encoded straight into the outbox.
   */
  private publishMsg(inbox: string, msg: MsgProto, redeliveryCount: number): number {
    const out = this.ctx.out;
    if (redeliveryCount > 0) return out.publishEncoded(inbox, { ...msg, redelivered: true, redeliveryCount }, encodeMsgProtoInto);
    if (msg.wire) {
      out.publish(inbox, msg.wire);
      return msg.wire.length;
    }
    return out.publishEncoded(inbox, msg, encodeMsgProtoInto);
  }

  /** Processes an ack from a client; any member of a queue group may ack a message of the group. */
  ack(sub: Subscription, seq: number): void {
    this.ctx.counters.acks++;
    let owner: Subscription | undefined = sub.pending.has(seq) ? sub : undefined;
    if (!owner && sub.queue) owner = sub.queue.members.find((m) => m.pending.has(seq));
    if (owner) this.removePending(owner, seq);
    if (sub.hasRoom()) this.pump(sub.queue ?? sub);
  }

  /** Forgets a pending message of a subscription, as an ack does. */
  removePending(sub: Subscription, seq: number): void {
    sub.pending.delete(seq);
    sub.redeliveryCounts.delete(seq);
    sub.channel.store.subs.ackSeqPending(sub.id, seq);
    this.markDirty(sub.channel);
    if (sub.pending.size === 0) this.stopRedelivery(sub);
  }

  armRedelivery(sub: Subscription, inMs?: number): void {
    if (sub.pending.size === 0) return;
    const delay = inMs ?? sub.ackWaitMs;
    const due = Date.now() + delay;
    if (sub.redeliveryTimer && sub.redeliveryDue <= due) return;
    this.startRedeliveryTimer(sub, due, delay);
  }

  /** Apart from armRedelivery, which runs for every message sent, so that only re-arming makes a closure. */
  private startRedeliveryTimer(sub: Subscription, due: number, delay: number): void {
    clearTimeout(sub.redeliveryTimer);
    sub.redeliveryDue = due;
    sub.redeliveryTimer = setTimeout(() => {
      sub.redeliveryTimer = undefined;
      void this.redeliverExpired(sub).catch((err: unknown) =>
        this.ctx.log.error({ err, clientId: sub.clientId, channel: sub.channel.name }, 'redelivery failed'),
      );
    }, timerDelay(delay));
  }

  stopRedelivery(sub: Subscription): void {
    clearTimeout(sub.redeliveryTimer);
    sub.redeliveryTimer = undefined;
  }

  /** Redelivers, oldest due first, every pending message whose ack wait has passed, then re-arms for the next one. */
  async redeliverExpired(sub: Subscription): Promise<void> {
    if (sub.isOffline || sub.pending.size === 0) return;
    if (sub.clientUnhealthy && !sub.queue) {
      this.armRedelivery(sub);
      return;
    }
    const now = Date.now();
    const entries = [...sub.pending].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    let next = 0;
    for (const [seq, due] of entries) {
      if (!sub.pending.has(seq) || sub.isOffline) continue;
      const msg = await sub.channel.message(seq);
      if (!msg) {
        this.removePending(sub, seq);
        continue;
      }
      // Recovered pending messages have no due time yet: they are due an ack wait after they were stored.
      const effectiveDue = due === 0 ? Number(msg.timestamp / 1_000_000n) + sub.ackWaitMs : due;
      if (effectiveDue > now + REDELIVERY_LOOKAHEAD_MS) {
        if (due === 0) sub.pending.set(seq, effectiveDue);
        if (next === 0 || effectiveDue < next) next = effectiveDue;
        continue;
      }
      this.redeliver(sub, msg);
    }
    if (sub.pending.size > 0) this.armRedelivery(sub, next ? next - Date.now() : sub.ackWaitMs);
  }

  /** Redelivers one message; a queue group may hand it to a better member, which then owns it. */
  private redeliver(sub: Subscription, msg: MsgProto): void {
    const group = sub.queue;
    if (group) {
      const member = group.bestMember();
      if (member && member !== sub) {
        const counts = group.redeliveries;
        const count = counts.get(msg.sequence);
        this.removePending(sub, msg.sequence);
        if (count !== undefined) counts.set(msg.sequence, count);
        this.send(member, msg, true);
        return;
      }
    }
    this.send(sub, msg, true);
  }

  /** Sends every pending message again, in sequence order, before new ones: what a resumed durable gets first. */
  async redeliverAllPending(sub: Subscription): Promise<void> {
    if (sub.pending.size === 0) return;
    sub.holdNew = true;
    try {
      const seqs = [...sub.pending.keys()].sort((a, b) => a - b);
      for (const seq of seqs) {
        if (!sub.pending.has(seq) || sub.isOffline) continue;
        const msg = await sub.channel.message(seq);
        if (msg) this.send(sub, msg, true);
        else this.removePending(sub, seq);
      }
    } finally {
      sub.holdNew = false;
    }
  }

  /** Writes no more subscription records: at shutdown the server flushes the stores itself, after a failure nothing is written. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.dirtySubStores.clear();
  }

  /** Sent and ack records are written with the next publish batch, or after SUB_RECORDS_DELAY_MS. */
  private markDirty(channel: ChannelState): void {
    if (this.stopped) return;
    this.dirtySubStores.add(channel);
    if (this.flushScheduled || this.flushTimer) return;
    this.flushTimer = setTimeout(this.flushSubStores, SUB_RECORDS_DELAY_MS);
    this.flushTimer.unref();
  }

  /** A property, not a closure made in markDirty(), which runs for every message sent and acked (see takeBatch). */
  private readonly flushSubStores = (): void => {
    this.flushScheduled = false;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.dirtySubStores.size === 0) return;
    const channels = [...this.dirtySubStores];
    this.dirtySubStores.clear();
    for (const ch of channels) {
      ch.store.subs.flush().catch((err: unknown) => this.ctx.log.error({ err, channel: ch.name }, 'cannot flush subscription store'));
    }
  };
}
