import type { ClientInfo, MsgProto, ServerInfo, SubState } from '../../proto/codec.js';
import { msgProtoSize } from '../../proto/codec.js';
import { ErrAlreadyExists, ErrNotFound, ErrTooManyChannels, ErrTooManySubs } from '../errors.js';
import { type ChannelLimits, type StoreLimits, channelLimitsFor, defaultStoreLimits, isLimited } from '../limits.js';
import type { Channel, MsgStore, MsgStoreState, RecoveredState, Store, SubStore } from '../store.js';
import { timerDelay } from '../../timers.js';
import { PayloadSlab } from './payload-slab.js';

interface StoredMsg {
  msg: MsgProto;
  size: number;
}

const NS_PER_MS = 1_000_000n;

/** Messages kept in a ring: sequence `first + i` is at `msgs[head + i]`; `head` advances as limits drop messages. */
export class MemoryMsgStore implements MsgStore {
  private msgs: StoredMsg[] = [];
  private head = 0;
  private first = 0;
  private last = 0;
  private bytes = 0;
  private ageTimer: NodeJS.Timeout | undefined;
  private readonly payloads = new PayloadSlab();

  constructor(private readonly limits: ChannelLimits) {}

  store(msg: MsgProto): void {
    if (msg.sequence <= this.last) return;
    if (this.count() === 0) this.first = msg.sequence;
    else if (msg.sequence !== this.last + 1) this.first = msg.sequence - this.count();
    const size = msgProtoSize(msg);
    msg.data = this.payloads.keep(msg.data);
    this.msgs.push({ msg, size });
    this.last = msg.sequence;
    this.bytes += size;
    this.enforceCountAndBytes();
    this.scheduleAgeCheck();
  }

  async flush(): Promise<void> {}

  async lookup(seq: number): Promise<MsgProto | undefined> {
    return this.at(seq);
  }

  /** Synchronous lookup, used by the server's delivery path when the store is in memory. */
  at(seq: number): MsgProto | undefined {
    if (seq < this.first || seq > this.last || this.count() === 0) return undefined;
    return this.msgs[this.head + (seq - this.first)]?.msg;
  }

  state(): MsgStoreState {
    return { msgs: this.count(), bytes: this.bytes };
  }

  firstSequence(): number {
    return this.count() === 0 ? this.last + 1 : this.first;
  }

  lastSequence(): number {
    return this.last;
  }

  firstAndLastSequence(): [number, number] {
    return [this.count() === 0 ? (this.last === 0 ? 0 : this.last + 1) : this.first, this.last];
  }

  async getSequenceFromTimestamp(timestamp: bigint): Promise<number> {
    let lo = this.head;
    let hi = this.msgs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.msgs[mid]!.msg.timestamp < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo >= this.msgs.length ? this.last + 1 : this.msgs[lo]!.msg.sequence;
  }

  async firstMsg(): Promise<MsgProto | undefined> {
    return this.count() === 0 ? undefined : this.msgs[this.head]!.msg;
  }

  async lastMsg(): Promise<MsgProto | undefined> {
    return this.count() === 0 ? undefined : this.msgs[this.msgs.length - 1]!.msg;
  }

  async empty(): Promise<void> {
    this.msgs = [];
    this.head = 0;
    this.bytes = 0;
    this.first = this.last + 1;
  }

  async close(): Promise<void> {
    clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
  }

  private count(): number {
    return this.msgs.length - this.head;
  }

  private dropFirst(): void {
    const dropped = this.msgs[this.head]!;
    this.msgs[this.head] = undefined as unknown as StoredMsg;
    this.head++;
    this.bytes -= dropped.size;
    this.first = this.count() === 0 ? this.last + 1 : dropped.msg.sequence + 1;
    if (this.head > 1024 && this.head * 2 > this.msgs.length) {
      this.msgs = this.msgs.slice(this.head);
      this.head = 0;
    }
  }

  private enforceCountAndBytes(): void {
    const { maxMsgs, maxBytes } = this.limits;
    // Like the Go stores, the newest message is kept even when it alone exceeds the byte limit.
    while (this.count() > 1 && ((isLimited(maxMsgs) && this.count() > maxMsgs) || (isLimited(maxBytes) && this.bytes > maxBytes))) {
      this.dropFirst();
    }
  }

  private scheduleAgeCheck(): void {
    if (!isLimited(this.limits.maxAge) || this.ageTimer || this.count() === 0) return;
    const oldest = this.msgs[this.head]!.msg.timestamp;
    const expiresAtMs = Number(oldest / NS_PER_MS) + this.limits.maxAge;
    this.ageTimer = setTimeout(() => {
      this.ageTimer = undefined;
      this.expireOld();
    }, timerDelay(expiresAtMs - Date.now()));
    this.ageTimer.unref();
  }

  private expireOld(): void {
    const cutoff = BigInt(Date.now() - this.limits.maxAge) * NS_PER_MS;
    while (this.count() > 0 && this.msgs[this.head]!.msg.timestamp <= cutoff) this.dropFirst();
    this.scheduleAgeCheck();
  }
}

export class MemorySubStore implements SubStore {
  private readonly subs = new Map<number, SubState>();

  constructor(
    private readonly limits: ChannelLimits,
    private readonly nextId: () => number,
  ) {}

  async createSub(sub: SubState): Promise<void> {
    if (isLimited(this.limits.maxSubscriptions) && this.subs.size >= this.limits.maxSubscriptions) throw new ErrTooManySubs();
    sub.ID = this.nextId();
    this.subs.set(sub.ID, { ...sub });
  }

  async updateSub(sub: SubState): Promise<void> {
    if (!this.subs.has(sub.ID)) throw new ErrNotFound(`subscription ${sub.ID}`);
    this.subs.set(sub.ID, { ...sub });
  }

  async deleteSub(subId: number): Promise<void> {
    this.subs.delete(subId);
  }

  addSeqPending(): void {}
  ackSeqPending(): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

/** Keeps everything in the process: nothing survives a restart, so `recover` always starts afresh. */
export class MemoryStore implements Store {
  readonly type = 'MEMORY' as const;
  private limits: StoreLimits = defaultStoreLimits();
  private readonly channels = new Map<string, Channel>();
  private readonly clients = new Map<string, ClientInfo>();
  private subId = 0;

  async getExclusiveLock(): Promise<boolean> {
    return true;
  }

  async init(_info: ServerInfo): Promise<void> {}

  async recover(): Promise<RecoveredState | undefined> {
    return undefined;
  }

  setLimits(limits: StoreLimits): void {
    this.limits = limits;
  }

  getChannelLimits(name: string): ChannelLimits {
    return channelLimitsFor(this.limits, name);
  }

  async createChannel(name: string): Promise<Channel> {
    if (this.channels.has(name)) throw new ErrAlreadyExists(`channel ${name}`);
    if (isLimited(this.limits.maxChannels) && this.channels.size >= this.limits.maxChannels) throw new ErrTooManyChannels();
    const limits = this.getChannelLimits(name);
    const channel: Channel = {
      name,
      msgs: new MemoryMsgStore(limits),
      subs: new MemorySubStore(limits, () => ++this.subId),
    };
    this.channels.set(name, channel);
    return channel;
  }

  async deleteChannel(name: string): Promise<void> {
    const channel = this.channels.get(name);
    if (!channel) throw new ErrNotFound(`channel ${name}`);
    this.channels.delete(name);
    await channel.msgs.close();
    await channel.subs.close();
  }

  async addClient(info: ClientInfo): Promise<void> {
    this.clients.set(info.ID, info);
  }

  async deleteClient(clientId: string): Promise<void> {
    this.clients.delete(clientId);
  }

  async close(): Promise<void> {
    for (const channel of this.channels.values()) {
      await channel.msgs.close();
      await channel.subs.close();
    }
    this.channels.clear();
  }
}
