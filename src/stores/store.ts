import type { ClientInfo, MsgProto, ServerInfo, SubState } from '../proto/codec.js';
import type { ChannelLimits, StoreLimits } from './limits.js';

export type StoreType = 'MEMORY' | 'FILE' | 'SQL';

/** Sequences of a subscription's delivered but unacknowledged messages. */
export type PendingAcks = Set<number>;

export interface RecoveredSubscription {
  sub: SubState;
  pending: PendingAcks;
}

export interface RecoveredChannel {
  channel: Channel;
  subscriptions: RecoveredSubscription[];
}

export interface RecoveredState {
  info: ServerInfo;
  clients: ClientInfo[];
  channels: Map<string, RecoveredChannel>;
}

export interface Channel {
  readonly name: string;
  readonly msgs: MsgStore;
  readonly subs: SubStore;
}

export interface MsgStoreState {
  msgs: number;
  bytes: number;
}

/**
 * The messages of one channel. `store` takes a message whose sequence the server assigned and buffers it; it is
 * durable once `flush` resolves, which lets a store write every message of an event-loop turn as one batch. Storing a
 * sequence at or below the last one stored is ignored. Limits (count, bytes, age) drop the oldest messages.
 */
export interface MsgStore {
  store(msg: MsgProto): void;
  flush(): Promise<void>;
  lookup(seq: number): Promise<MsgProto | undefined>;
  state(): MsgStoreState;
  firstSequence(): number;
  lastSequence(): number;
  firstAndLastSequence(): [number, number];
  /** The sequence of the first message stored at or after `timestamp` (Unix ns); the last sequence + 1 when none is. */
  getSequenceFromTimestamp(timestamp: bigint): Promise<number>;
  firstMsg(): Promise<MsgProto | undefined>;
  lastMsg(): Promise<MsgProto | undefined>;
  /** Drops every message, keeping the sequence counter. */
  empty(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The subscriptions of one channel. `createSub` assigns `sub.ID`. Pending and ack updates are buffered like messages
 * and durable once `flush` resolves; losing them only ever causes a redelivery.
 */
export interface SubStore {
  createSub(sub: SubState): Promise<void>;
  updateSub(sub: SubState): Promise<void>;
  deleteSub(subId: number): Promise<void>;
  addSeqPending(subId: number, seq: number): void;
  ackSeqPending(subId: number, seq: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface Store {
  readonly type: StoreType;
  /** Takes the store's exclusive lock for a fault-tolerance group; false when another server holds it. */
  getExclusiveLock(): Promise<boolean>;
  init(info: ServerInfo): Promise<void>;
  /** The state a previous server left, or undefined for a new store. */
  recover(): Promise<RecoveredState | undefined>;
  setLimits(limits: StoreLimits): void;
  getChannelLimits(name: string): ChannelLimits;
  createChannel(name: string): Promise<Channel>;
  deleteChannel(name: string): Promise<void>;
  addClient(info: ClientInfo): Promise<void>;
  deleteClient(clientId: string): Promise<void>;
  close(): Promise<void>;
  /** Called with the reason when the store can no longer guarantee exclusive ownership (lock lost). */
  onFatal?: (err: Error) => void;
  /** Whether this store holds its exclusive lock and when it last confirmed it (ms since epoch), for metrics. */
  lockState?(): { held: boolean; refreshedAt: number };
}
