import { createInbox } from 'nats';
import type { SubState, SubscriptionRequest, UnsubscribeRequest } from '../proto/codec.js';
import { StartPosition, decodeAckSequence, pb } from '../proto/codec.js';
import type { ChannelState } from './channel.js';
import type { ClientState } from './client.js';
import { nowNs } from './clock.js';
import type { ServerContext } from './context.js';
import type { Delivery } from './delivery.js';
import { ProtocolError, RequestError } from './errors.js';
import { QueueGroup } from './queue-group.js';
import type { InactivityReaper } from './inactivity.js';
import { isValidChannelName } from './subjects.js';
import { Subscription } from './subscription.js';

/** When a leaving queue member's unacked messages are handed to the others, they are redelivered this soon. */
const TRANSFER_REDELIVERY_MS = 100;

/** Creates, resumes, closes and removes subscriptions, with the Go server's rules for durables and queue groups. */
export class SubscriptionManager {
  constructor(
    private readonly ctx: ServerContext,
    private readonly delivery: Delivery,
    private readonly reaper: InactivityReaper,
  ) {}

  /** Handles a SubscriptionRequest and answers it; the new subscription gets messages only after the answer. */
  async subscribe(data: Uint8Array, reply: string): Promise<void> {
    let req: SubscriptionRequest;
    try {
      req = pb.SubscriptionRequest.decode(data);
      this.ctx.log.trace({ clientId: req.clientID, channel: req.subject, queue: req.qGroup, durable: req.durableName, inbox: req.inbox, maxInFlight: req.maxInFlight, ackWait: req.ackWaitInSecs, start: req.startPosition }, 'subscription request');
    } catch {
      this.respond(reply, ProtocolError.invalidSubReq);
      return;
    }
    const invalid = this.validate(req);
    if (invalid) {
      this.ctx.log.debug({ clientId: req.clientID, channel: req.subject, error: invalid }, 'subscription refused');
      this.respond(reply, invalid);
      return;
    }
    const client = this.ctx.clients.get(req.clientID)!;
    let result: { sub: Subscription; resumed: boolean };
    let channel: ChannelState | undefined;
    try {
      const found = this.ctx.channels.getOrCreate(req.subject);
      channel = found instanceof Promise ? await found : found;
      this.reaper.cancel(channel);
      channel.lastActivity = Date.now();
      result = await this.attach(req, client, channel);
    } catch (err) {
      if (channel) this.reaper.watch(channel);
      const message = (err as Error).message;
      this.ctx.log.debug({ clientId: req.clientID, channel: req.subject, error: message }, 'subscription refused');
      this.respond(reply, message);
      return;
    }
    const { sub, resumed } = result;
    this.listenForAcks(sub);
    this.respond(reply, undefined, sub.state.ackInbox);
    this.ctx.log.debug(
      { clientId: sub.clientId, channel: sub.channel.name, subId: sub.id, durable: sub.state.durableName || undefined, queue: sub.state.qGroup || undefined },
      resumed ? 'subscription resumed' : 'subscription started',
    );
    if (resumed) await this.delivery.redeliverAllPending(sub);
    this.delivery.pump(sub.queue ?? sub);
  }

  private validate(req: SubscriptionRequest): string | undefined {
    if (req.clientID === '') return ProtocolError.missingClient;
    if (req.ackWaitInSecs <= 0) return ProtocolError.invalidAckWait;
    if (req.maxInFlight <= 0) return ProtocolError.invalidMaxInflight;
    if (req.startPosition < StartPosition.NewOnly || req.startPosition > StartPosition.First) return ProtocolError.invalidStart;
    if (!isValidChannelName(req.subject)) return ProtocolError.invalidSubject;
    if (!this.ctx.clients.get(req.clientID)) return ProtocolError.unknownClient;
    return undefined;
  }

  private async attach(req: SubscriptionRequest, client: ClientState, channel: ChannelState): Promise<{ sub: Subscription; resumed: boolean }> {
    const ackInbox = createInbox();
    if (req.qGroup) {
      let groupName = req.qGroup;
      const durable = req.durableName !== '';
      if (durable) {
        if (req.durableName.includes(':')) throw new RequestError(ProtocolError.invalidDurableName);
        groupName = `${req.durableName}:${req.qGroup}`;
      }
      const existing = channel.queues.get(groupName);
      if (existing?.shadow) {
        const sub = existing.shadow;
        existing.shadow = undefined;
        await this.resume(sub, req, client, ackInbox);
        existing.members.push(sub);
        return { sub, resumed: true };
      }
      const state = this.newState(req, ackInbox, groupName, '', durable);
      if (existing) state.lastSent = existing.lastSent;
      else state.lastSent = await this.startSequence(req, channel);
      const group = existing ?? new QueueGroup(groupName, durable);
      const sub = await this.create(state, channel, client, group);
      if (!existing) {
        group.lastSent = state.lastSent;
        channel.queues.set(groupName, group);
      }
      group.members.push(sub);
      return { sub, resumed: false };
    }
    if (req.durableName) {
      const key = Subscription.durableKey(req.clientID, req.durableName);
      let existing = channel.durables.get(key);
      if (existing && !existing.isOffline && this.ctx.opts.replaceDurable) {
        await this.remove(existing, false);
        existing = channel.durables.get(key);
      }
      if (existing) {
        if (!existing.isOffline) throw new RequestError(ProtocolError.dupDurable);
        await this.resume(existing, req, client, ackInbox);
        return { sub: existing, resumed: true };
      }
      const state = this.newState(req, ackInbox, '', req.durableName, true);
      state.lastSent = await this.startSequence(req, channel);
      const sub = await this.create(state, channel, client, undefined);
      channel.durables.set(key, sub);
      return { sub, resumed: false };
    }
    const state = this.newState(req, ackInbox, '', '', false);
    state.lastSent = await this.startSequence(req, channel);
    return { sub: await this.create(state, channel, client, undefined), resumed: false };
  }

  private newState(req: SubscriptionRequest, ackInbox: string, qGroup: string, durableName: string, isDurable: boolean): SubState {
    return {
      ID: 0,
      clientID: req.clientID,
      qGroup,
      inbox: req.inbox,
      ackInbox,
      maxInFlight: req.maxInFlight,
      ackWaitInSecs: req.ackWaitInSecs,
      durableName,
      lastSent: 0,
      isDurable,
      isClosed: false,
    };
  }

  private async create(state: SubState, channel: ChannelState, client: ClientState, group: QueueGroup | undefined): Promise<Subscription> {
    await channel.store.subs.createSub(state);
    await channel.store.subs.flush();
    const sub = new Subscription(state, channel, group);
    channel.subs.add(sub);
    client.subs.add(sub);
    return sub;
  }

  /** An offline durable or a durable group's shadow comes back with the new inbox and settings, keeping its position. */
  private async resume(sub: Subscription, req: SubscriptionRequest, client: ClientState, ackInbox: string): Promise<void> {
    const state: SubState = {
      ...sub.state,
      clientID: req.clientID,
      inbox: req.inbox,
      ackInbox,
      maxInFlight: req.maxInFlight,
      ackWaitInSecs: req.ackWaitInSecs,
      isClosed: false,
    };
    await sub.channel.store.subs.updateSub(state);
    Object.assign(sub.state, state);
    sub.offline = false;
    sub.clientUnhealthy = false;
    client.subs.add(sub);
  }

  /** The last sequence to consider already sent, from the requested start position; out-of-range sequences are clamped. */
  private async startSequence(req: SubscriptionRequest, channel: ChannelState): Promise<number> {
    const msgs = channel.store.msgs;
    const last = channel.storedSeq;
    const first = last === 0 ? 0 : msgs.firstSequence();
    switch (req.startPosition) {
      case StartPosition.NewOnly:
        return last;
      case StartPosition.LastReceived:
        return last > 0 ? last - 1 : 0;
      case StartPosition.TimeDeltaStart: {
        if (last === 0) return 0;
        const seq = await msgs.getSequenceFromTimestamp(nowNs() - req.startTimeDelta);
        return seq > 0 ? seq - 1 : 0;
      }
      case StartPosition.SequenceStart:
        if (req.startSequence < first) return first > 0 ? first - 1 : 0;
        if (req.startSequence > last) return last;
        return req.startSequence > 0 ? req.startSequence - 1 : 0;
      case StartPosition.First:
        return first > 0 ? first - 1 : 0;
    }
  }

  listenForAcks(sub: Subscription): void {
    sub.ackSub = this.ctx.inbound.subscribe(this.ctx.nc, sub.state.ackInbox, (data) => {
      let seq: number;
      try {
        seq = decodeAckSequence(data);
      } catch {
        this.ctx.log.debug({ clientId: sub.clientId, channel: sub.channel.name }, 'ignoring an undecodable ack');
        return;
      }
      if (this.ctx.opts.streamingTrace) this.ctx.log.trace({ clientId: sub.clientId, channel: sub.channel.name, seq }, 'ack');
      this.delivery.ack(sub, seq);
    });
  }

  /** Handles an unsubscribe or a subscription close request. */
  async unsubscribe(data: Uint8Array, reply: string, isClose: boolean): Promise<void> {
    let req: UnsubscribeRequest;
    try {
      req = pb.UnsubscribeRequest.decode(data);
      this.ctx.log.trace({ clientId: req.clientID, channel: req.subject, inbox: req.inbox, close: isClose }, 'unsubscribe request');
    } catch {
      this.respond(reply, ProtocolError.invalidUnsubReq);
      return;
    }
    const channel = this.ctx.channels.get(req.subject);
    if (!channel) return this.respond(reply, ProtocolError.unknownChannel);
    let sub: Subscription | undefined;
    for (const s of channel.subs) {
      if (!s.isOffline && (s.state.ackInbox === req.inbox || s.state.inbox === req.inbox)) {
        sub = s;
        break;
      }
    }
    if (!sub) return this.respond(reply, ProtocolError.invalidSub);
    const client = this.ctx.clients.get(req.clientID);
    if (!client || !client.subs.has(sub)) return this.respond(reply, ProtocolError.unknownClient);
    try {
      await this.remove(sub, !isClose);
    } catch (err) {
      return this.respond(reply, (err as Error).message);
    }
    this.ctx.log.debug({ clientId: req.clientID, channel: channel.name, subId: sub.id }, isClose ? 'subscription closed' : 'subscription removed');
    this.respond(reply);
  }

  /**
   * Takes a subscription off its client. Unsubscribing deletes it; closing (or the client going away) keeps a durable
   * offline, and makes the last member of a durable queue group the group's shadow.
   */
  async remove(sub: Subscription, unsubscribe: boolean): Promise<void> {
    const channel = sub.channel;
    sub.ackSub?.unsubscribe();
    sub.ackSub = undefined;
    this.delivery.stopRedelivery(sub);
    this.ctx.clients.get(sub.clientId)?.subs.delete(sub);
    const subs = channel.store.subs;
    const group = sub.queue;
    if (group) {
      group.remove(sub);
      if (group.members.length > 0) {
        channel.subs.delete(sub);
        await subs.deleteSub(sub.id);
        this.transferPending(sub, group);
      } else if (group.isDurable && !unsubscribe) {
        sub.offline = true;
        sub.savedClientId = sub.state.clientID;
        sub.state.clientID = '';
        sub.state.lastSent = group.lastSent;
        await subs.updateSub(sub.state);
        group.shadow = sub;
      } else {
        channel.subs.delete(sub);
        channel.queues.delete(group.name);
        await subs.deleteSub(sub.id);
      }
    } else if (sub.isDurable && !unsubscribe) {
      sub.offline = true;
      sub.state.isClosed = true;
      await subs.updateSub(sub.state);
    } else {
      channel.subs.delete(sub);
      if (sub.isDurable) channel.durables.delete(Subscription.durableKey(sub.clientId, sub.state.durableName));
      await subs.deleteSub(sub.id);
    }
    await subs.flush();
    if (!channel.hasActiveSubs()) {
      channel.lastActivity = Date.now();
      this.reaper.watch(channel);
    }
  }

  /** A leaving member's unacked messages go round robin to the members left, to be redelivered shortly. */
  private transferPending(leaver: Subscription, group: QueueGroup): void {
    const entries = [...leaver.pending].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    leaver.pending.clear();
    const expired = Date.now() - 1000;
    entries.forEach(([seq], i) => {
      const member = group.members[i % group.members.length]!;
      member.pending.set(seq, expired);
      member.channel.store.subs.addSeqPending(member.id, seq);
      if (seq > member.state.lastSent) member.state.lastSent = seq;
    });
    for (const member of group.members) if (member.pending.size > 0) this.delivery.armRedelivery(member, TRANSFER_REDELIVERY_MS);
  }

  private respond(reply: string, error?: string, ackInbox?: string): void {
    if (!reply) return;
    this.ctx.out.publish(reply, pb.SubscriptionResponse.encode(error ? { error } : { ackInbox }));
  }
}
