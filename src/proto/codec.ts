import protobuf from 'protobufjs/light.js';
import { DESCRIPTOR } from './descriptor.js';
import { Cursor, decodeAck, decodePubMsg, encodeMsgProto, encodePubAck, pointDataAtEncoding } from './hot.js';

export {
  type EncodeTarget,
  RecentString,
  SUB_STATE_UPDATE_MAX_SIZE,
  decodeAckSequence,
  encodeMsgProtoInto,
  encodeSubStateUpdate,
  loadUint64,
  msgProtoSize,
  pointDataAtEncoding,
  sameBytes,
  simplePubAckSize,
  writeSimplePubAck,
} from './hot.js';

/** A 64-bit value as protobufjs hands it over when the `long` library is present. */
interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}
type Wide = number | LongLike | null | undefined;

export enum StartPosition {
  NewOnly = 0,
  LastReceived = 1,
  TimeDeltaStart = 2,
  SequenceStart = 3,
  First = 4,
}

export enum CtrlMsgType {
  SubUnsubscribe = 0,
  SubClose = 1,
  ConnClose = 2,
  FTHeartbeat = 3,
  Partitioning = 4,
}

export interface PubMsg {
  clientID: string;
  guid: string;
  subject: string;
  reply: string;
  data: Uint8Array;
  connID: Uint8Array;
}
export interface PubAck {
  guid: string;
  error?: string;
}
/** A stored or delivered message. Timestamps are Unix nanoseconds, which need 64 bits. */
export interface MsgProto {
  sequence: number;
  subject: string;
  reply: string;
  data: Uint8Array;
  timestamp: bigint;
  redelivered?: boolean;
  redeliveryCount?: number;
  /** This message's encoding as a store wrote it, which deliveries copy; unset until a store makes one. */
  wire?: Uint8Array;
}
export interface Ack {
  subject: string;
  sequence: number;
}
export interface ConnectRequest {
  clientID: string;
  heartbeatInbox: string;
  protocol: number;
  connID: Uint8Array;
  pingInterval: number;
  pingMaxOut: number;
}
export interface ConnectResponse {
  pubPrefix?: string;
  subRequests?: string;
  unsubRequests?: string;
  closeRequests?: string;
  error?: string;
  subCloseRequests?: string;
  pingRequests?: string;
  pingInterval?: number;
  pingMaxOut?: number;
  protocol?: number;
  publicKey?: string;
}
export interface Ping {
  connID: Uint8Array;
}
export interface PingResponse {
  error?: string;
}
export interface SubscriptionRequest {
  clientID: string;
  subject: string;
  qGroup: string;
  inbox: string;
  maxInFlight: number;
  ackWaitInSecs: number;
  durableName: string;
  startPosition: StartPosition;
  startSequence: number;
  startTimeDelta: bigint;
}
export interface SubscriptionResponse {
  ackInbox?: string;
  error?: string;
}
export interface UnsubscribeRequest {
  clientID: string;
  subject: string;
  inbox: string;
  durableName: string;
}
export interface CloseRequest {
  clientID: string;
}
export interface CloseResponse {
  error?: string;
}

export interface SubState {
  ID: number;
  clientID: string;
  qGroup: string;
  inbox: string;
  ackInbox: string;
  maxInFlight: number;
  ackWaitInSecs: number;
  durableName: string;
  lastSent: number;
  isDurable: boolean;
  isClosed: boolean;
}
export interface SubStateDelete {
  ID: number;
}
export interface SubStateUpdate {
  ID: number;
  seqno: number;
}
export interface ServerInfo {
  ClusterID: string;
  Discovery: string;
  Publish: string;
  Subscribe: string;
  Unsubscribe: string;
  Close: string;
  SubClose: string;
  AcksSubs: string;
  NodeID: string;
}
export interface ClientInfo {
  ID: string;
  HbInbox: string;
  ConnID: Uint8Array;
  Protocol: number;
  PingInterval: number;
  PingMaxOut: number;
}
export interface ClientDelete {
  ID: string;
}
export interface CtrlMsg {
  MsgType: CtrlMsgType;
  ServerID: string;
  Data: Uint8Array;
  RefID: string;
}

const root = protobuf.Root.fromJSON(DESCRIPTOR);

function toNumber(v: Wide): number {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  return (v.unsigned ? v.high >>> 0 : v.high) * 4294967296 + (v.low >>> 0);
}

function toBigInt(v: Wide): bigint {
  if (v == null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  const value = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? value : BigInt.asIntN(64, value);
}

function fromBigInt(v: bigint): LongLike {
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0 };
}

const EMPTY = new Uint8Array(0);

type Decoded = Record<string, unknown>;

/** One message type: encode from our typed objects, decode into them with defaults filled in. */
interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** The wire type each field of a message must arrive with. */
function expectedWireTypes(type: protobuf.Type): Map<number, number> {
  const out = new Map<number, number>();
  for (const field of type.fieldsArray) {
    // Packed repeated fields may come with either of two wire types; none of the STAN messages has one.
    if (field.repeated) throw new Error(`${type.name}.${field.name}: repeated fields are not supported by the strict decoder`);
    field.resolve();
    const basic = (protobuf.types.basic as Record<string, number | undefined>)[field.type];
    out.set(field.id, field.resolvedType instanceof protobuf.Enum ? 0 : (basic ?? 2));
  }
  return out;
}

/**
 * Refuses a known field sent with the wrong wire type, and field number 0, as the Go server's decoder does;
 * protobufjs alone would skip such a field and hand over a half-empty message.
 */
function checkWireTypes(bytes: Uint8Array, expected: Map<number, number>): void {
  const c = new Cursor(bytes);
  const want = (id: number): number => expected.get(id) ?? -1;
  while (c.more) {
    const id = c.field(want);
    if (id !== 0) c.skip(expected.get(id)!);
  }
}

function strictDecoder(type: protobuf.Type): (bytes: Uint8Array) => Decoded {
  const expected = expectedWireTypes(type);
  return (bytes) => {
    checkWireTypes(bytes, expected);
    return type.decode(bytes) as unknown as Decoded;
  };
}

function codec<T>(name: string, fromWire: (m: Decoded) => T, toWire: (v: T) => object = (v) => v as object): Codec<T> {
  const type = root.lookupType(name);
  const decode = strictDecoder(type);
  return {
    encode: (value) => type.encode(toWire(value)).finish(),
    decode: (bytes) => fromWire(decode(bytes)),
  };
}

/**
 * For messages with no 64-bit fields, the decoded protobufjs instance already has our shape: unset fields read their
 * defaults from its prototype. Only unset bytes fields need fixing (their default is an empty Array). This saves a copy
 * per message on the hot paths.
 */
function passthrough<T>(name: string, bytesFields: (keyof T & string)[]): Codec<T> {
  const type = root.lookupType(name);
  const decode = strictDecoder(type);
  return {
    encode: (value) => type.encode(value as object).finish(),
    decode: (input) => {
      const m = decode(input);
      for (const f of bytesFields) if (!(m[f] instanceof Uint8Array)) m[f] = EMPTY;
      return m as T;
    },
  };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const bytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? v : EMPTY);
const int = (v: unknown): number => (typeof v === 'number' ? v : 0);
const bool = (v: unknown): boolean => v === true;

/** The messages of every publish take the hand-written paths of hot.ts; the rest go through protobufjs. */
function withHotPaths<T>(base: Codec<T>, hot: Partial<Codec<T>>): Codec<T> {
  return { ...base, ...hot };
}

export const pb = {
  PubMsg: withHotPaths(passthrough<PubMsg>('pb.PubMsg', ['data', 'connID']), { decode: decodePubMsg }),
  PubAck: withHotPaths(codec<PubAck>('pb.PubAck', (m) => ({ guid: str(m.guid), error: str(m.error) })), {
    encode: (v) => encodePubAck(v.guid, v.error),
  }),
  MsgProto: withHotPaths(codec<MsgProto>(
    'pb.MsgProto',
    (m) => ({
      sequence: toNumber(m.sequence as Wide),
      subject: str(m.subject),
      reply: str(m.reply),
      data: bytes(m.data),
      timestamp: toBigInt(m.timestamp as Wide),
      redelivered: bool(m.redelivered),
      redeliveryCount: int(m.redeliveryCount),
    }),
    (v) => ({ ...v, timestamp: fromBigInt(v.timestamp) }),
  ), { encode: encodeMsgProto }),
  Ack: withHotPaths(codec<Ack>('pb.Ack', (m) => ({ subject: str(m.subject), sequence: toNumber(m.sequence as Wide) })), { decode: decodeAck }),
  ConnectRequest: passthrough<ConnectRequest>('pb.ConnectRequest', ['connID']),
  ConnectResponse: codec<ConnectResponse>('pb.ConnectResponse', (m) => ({
    pubPrefix: str(m.pubPrefix),
    subRequests: str(m.subRequests),
    unsubRequests: str(m.unsubRequests),
    closeRequests: str(m.closeRequests),
    error: str(m.error),
    subCloseRequests: str(m.subCloseRequests),
    pingRequests: str(m.pingRequests),
    pingInterval: int(m.pingInterval),
    pingMaxOut: int(m.pingMaxOut),
    protocol: int(m.protocol),
    publicKey: str(m.publicKey),
  })),
  Ping: passthrough<Ping>('pb.Ping', ['connID']),
  PingResponse: codec<PingResponse>('pb.PingResponse', (m) => ({ error: str(m.error) })),
  SubscriptionRequest: codec<SubscriptionRequest>(
    'pb.SubscriptionRequest',
    (m) => ({
      clientID: str(m.clientID),
      subject: str(m.subject),
      qGroup: str(m.qGroup),
      inbox: str(m.inbox),
      maxInFlight: int(m.maxInFlight),
      ackWaitInSecs: int(m.ackWaitInSecs),
      durableName: str(m.durableName),
      startPosition: int(m.startPosition) as StartPosition,
      startSequence: toNumber(m.startSequence as Wide),
      startTimeDelta: toBigInt(m.startTimeDelta as Wide),
    }),
    (v) => ({ ...v, startTimeDelta: fromBigInt(v.startTimeDelta) }),
  ),
  SubscriptionResponse: codec<SubscriptionResponse>('pb.SubscriptionResponse', (m) => ({
    ackInbox: str(m.ackInbox),
    error: str(m.error),
  })),
  UnsubscribeRequest: passthrough<UnsubscribeRequest>('pb.UnsubscribeRequest', []),
  CloseRequest: passthrough<CloseRequest>('pb.CloseRequest', []),
  CloseResponse: codec<CloseResponse>('pb.CloseResponse', (m) => ({ error: str(m.error) })),
};

export const spb = {
  SubState: codec<SubState>('spb.SubState', (m) => ({
    ID: toNumber(m.ID as Wide),
    clientID: str(m.clientID),
    qGroup: str(m.qGroup),
    inbox: str(m.inbox),
    ackInbox: str(m.ackInbox),
    maxInFlight: int(m.maxInFlight),
    ackWaitInSecs: int(m.ackWaitInSecs),
    durableName: str(m.durableName),
    lastSent: toNumber(m.lastSent as Wide),
    isDurable: bool(m.isDurable),
    isClosed: bool(m.isClosed),
  })),
  SubStateDelete: codec<SubStateDelete>('spb.SubStateDelete', (m) => ({ ID: toNumber(m.ID as Wide) })),
  SubStateUpdate: codec<SubStateUpdate>('spb.SubStateUpdate', (m) => ({
    ID: toNumber(m.ID as Wide),
    seqno: toNumber(m.seqno as Wide),
  })),
  ServerInfo: codec<ServerInfo>('spb.ServerInfo', (m) => ({
    ClusterID: str(m.ClusterID),
    Discovery: str(m.Discovery),
    Publish: str(m.Publish),
    Subscribe: str(m.Subscribe),
    Unsubscribe: str(m.Unsubscribe),
    Close: str(m.Close),
    SubClose: str(m.SubClose),
    AcksSubs: str(m.AcksSubs),
    NodeID: str(m.NodeID),
  })),
  ClientInfo: codec<ClientInfo>('spb.ClientInfo', (m) => ({
    ID: str(m.ID),
    HbInbox: str(m.HbInbox),
    ConnID: bytes(m.ConnID),
    Protocol: int(m.Protocol),
    PingInterval: int(m.PingInterval),
    PingMaxOut: int(m.PingMaxOut),
  })),
  ClientDelete: codec<ClientDelete>('spb.ClientDelete', (m) => ({ ID: str(m.ID) })),
  CtrlMsg: codec<CtrlMsg>('spb.CtrlMsg', (m) => ({
    MsgType: int(m.MsgType) as CtrlMsgType,
    ServerID: str(m.ServerID),
    Data: bytes(m.Data),
    RefID: str(m.RefID),
  })),
};

/**
 * The encoding of a stored message as first delivered (not redelivered), for a store that writes it (the SQL store; the
 * file store encodes straight into its write buffer): kept on the message, so that deliveries copy it instead of
 * encoding again. A WeakMap lookup per delivery cost more than the encoding saved.
 */
export function encodeStoredMsg(m: MsgProto): Uint8Array {
  if (!m.wire) {
    const wire = pb.MsgProto.encode(m);
    pointDataAtEncoding(m, wire);
    m.wire = wire;
  }
  return m.wire;
}
