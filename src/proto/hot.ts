import protobuf from 'protobufjs/minimal.js';
import type { Ack, MsgProto, PubMsg } from './codec.js';

/**
 * Hand-written encoders and decoders for the four messages every published message costs (PubMsg in, PubAck out,
 * MsgProto out, Ack in). protobufjs' generated code (static or by reflection, which measure the same) goes through
 * Reader/Writer objects, a separate wire-type check and a copy into our shape; these read and write the bytes in one
 * pass. They accept and produce exactly what the protobufjs codecs do, including the strict checks the Go decoder
 * makes (wrong wire type for a known field, field number 0, truncation, invalid UTF-8 in strings); the unit tests
 * compare the two on the same inputs.
 */

const readUtf8 = protobuf.util.utf8.readStrict as (buf: Uint8Array, start: number, end: number) => string;
const EMPTY = new Uint8Array(0);
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const scratch = new DataView(new ArrayBuffer(8));

/**
 * Puts a 64-bit value's two's complement in a shared view, to read its 32-bit halves with getUint32(0 | 4, true):
 * BigInt masks and shifts allocate a BigInt each, and this runs for every message stored and sent.
 */
export function loadUint64(v: bigint): DataView {
  scratch.setBigUint64(0, v, true);
  return scratch;
}

/** Whether buf[start, end) is all ASCII, so that its Latin-1 reading is its UTF-8 reading. */
function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

/** Whether buf[start, end) holds exactly the bytes of `bytes`. */
export function sameBytes(buf: Uint8Array, start: number, end: number, bytes: Uint8Array): boolean {
  const len = end - start;
  if (len !== bytes.length) return false;
  for (let i = 0; i < len; i++) if (buf[start + i] !== bytes[i]) return false;
  return true;
}

/**
 * The last string read from some bytes, reused while the same bytes come again: a publisher sends the same client ID
 * and channel in every message, and the same reply subject (its ack inbox). Reusing the string saves the decoding and
 * lets the Map lookups that follow use its cached hash. The bytes are copied: a view would keep alive the whole buffer
 * they came in (a socket chunk).
 */
export class RecentString {
  private bytes: Uint8Array = EMPTY;
  private value = '';

  constructor(private readonly decode: (buf: Buffer, start: number, end: number) => string = readString) {}

  read(buf: Uint8Array, start: number, end: number): string {
    if (sameBytes(buf, start, end, this.bytes)) return this.value;
    const bytes = new Uint8Array(buf.subarray(start, end));
    // Decoded before anything is kept: bytes that fail to decode (invalid UTF-8) must fail again next time.
    this.value = this.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 0, bytes.length);
    this.bytes = bytes;
    return this.value;
  }
}

function readString(buf: Buffer, start: number, end: number): string {
  if (start === end) return '';
  // Latin-1 slicing makes a flat one-byte string natively; protobufjs concatenates pieces, which must be flattened
  // again before the string is hashed or copied.
  return isAscii(buf, start, end) ? buf.toString('latin1', start, end) : readUtf8(buf, start, end);
}

/** A cursor over one message's bytes; the strict check of the protobufjs codecs reads with it too. */
export class Cursor {
  pos = 0;
  buf!: Buffer;
  constructor(bytes: Uint8Array) {
    this.reset(bytes);
  }

  /** Starts over on other bytes: the hot decoders reuse one cursor instead of allocating one per message. */
  reset(bytes: Uint8Array): this {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    return this;
  }

  get more(): boolean {
    return this.pos < this.buf.length;
  }

  /** A varint as a JavaScript number (exact up to 2^53, as the server's sequences are). */
  varint(): number {
    const buf = this.buf;
    let b = buf[this.pos++];
    if (b === undefined) throw new Error('truncated varint');
    if (b < 0x80) return b;
    let value = b & 0x7f;
    let mul = 128;
    for (let i = 1; i < 10; i++) {
      b = buf[this.pos++];
      if (b === undefined) throw new Error('truncated varint');
      value += (b & 0x7f) * mul;
      if (b < 0x80) return value;
      mul *= 128;
    }
    throw new Error('varint too long');
  }

  /** The [start, end) of a length-delimited field's content. */
  span(): number {
    const size = this.varint();
    const start = this.pos;
    this.pos += size;
    if (this.pos > this.buf.length) throw new Error('truncated field');
    return start;
  }

  string(recent?: RecentString): string {
    const start = this.span();
    return recent ? recent.read(this.buf, start, this.pos) : readString(this.buf, start, this.pos);
  }

  bytes(): Uint8Array {
    const start = this.span();
    return this.buf.subarray(start, this.pos);
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.span();
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.buf.length) throw new Error('truncated field');
  }

  /** The next field's number, with its wire type checked against what `expected(id)` wants (-1: unknown field). */
  field(expected: (id: number) => number): number {
    const tag = this.varint();
    const id = Math.floor(tag / 8);
    const wire = tag % 8;
    if (id === 0) throw new Error('illegal tag 0');
    const want = expected(id);
    if (want === -1) {
      this.skip(wire);
      return 0;
    }
    if (wire !== want) throw new Error(`wrong wire type ${wire} for field ${id}`);
    return id;
  }
}

const recentClientId = new RecentString();
const recentSubject = new RecentString();
const recentAckSubject = new RecentString();
/** The decoders run to completion without calling out, so one cursor serves them all. */
const cursor = new Cursor(EMPTY);
const pubMsgWire = (id: number): number => ((id >= 1 && id <= 6) || id === 10 ? WIRE_LEN : -1);

export function decodePubMsg(bytes: Uint8Array): PubMsg {
  const m: PubMsg = { clientID: '', guid: '', subject: '', reply: '', data: EMPTY, connID: EMPTY };
  const c = cursor.reset(bytes);
  while (c.more) {
    switch (c.field(pubMsgWire)) {
      case 1:
        m.clientID = c.string(recentClientId);
        break;
      case 2:
        m.guid = c.string();
        break;
      case 3:
        m.subject = c.string(recentSubject);
        break;
      case 4:
        m.reply = c.string();
        break;
      case 5:
        m.data = c.bytes();
        break;
      case 6:
        m.connID = c.bytes();
        break;
      case 10:
        c.span();
        break;
    }
  }
  return m;
}

const ackWire = (id: number): number => (id === 1 ? WIRE_LEN : id === 2 ? WIRE_VARINT : -1);

/** The subject of the last Ack decodeAckSequence read. */
let lastAckSubject = '';

/**
 * An Ack's sequence, which is all the server needs of the one it gets for every message delivered, checked as strictly
 * as decodeAck checks the whole Ack, without making an object of it.
 */
export function decodeAckSequence(bytes: Uint8Array): number {
  let subject = '';
  let sequence = 0;
  const c = cursor.reset(bytes);
  while (c.more) {
    switch (c.field(ackWire)) {
      case 1:
        subject = c.string(recentAckSubject);
        break;
      case 2:
        sequence = c.varint();
        break;
    }
  }
  lastAckSubject = subject;
  return sequence;
}

export function decodeAck(bytes: Uint8Array): Ack {
  const sequence = decodeAckSequence(bytes);
  return { subject: lastAckSubject, sequence };
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** A 64-bit two's complement varint from its low and high 32 bits (both unsigned). */
function writeVarint64(buf: Buffer, pos: number, lo: number, hi: number): number {
  while (hi > 0 || lo >= 128) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

function varint64Size(lo: number, hi: number): number {
  let n = 1;
  while (hi > 0 || lo >= 128) {
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
    n++;
  }
  return n;
}

/** UTF-8 bytes of the strings that recur in every message (channel names, ack subjects, guids are not among them). */
const utf8Cache = new Map<string, Buffer>();
const MAX_CACHED_STRINGS = 10_000;

function utf8Of(s: string): Buffer {
  let b = utf8Cache.get(s);
  if (!b) {
    if (utf8Cache.size >= MAX_CACHED_STRINGS) utf8Cache.clear();
    b = Buffer.from(s, 'utf8');
    utf8Cache.set(s, b);
  }
  return b;
}

function lenFieldSize(len: number): number {
  return len === 0 ? 0 : 1 + varintSize(len) + len;
}

function writeLenField(buf: Buffer, pos: number, tag: number, content: Uint8Array): number {
  if (content.length === 0) return pos;
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, content.length);
  buf.set(content, pos);
  return pos + content.length;
}

/** A MsgProto's encoded length, given its strings' UTF-8 lengths and its timestamp's unsigned 32-bit halves. */
function encodedLength(m: MsgProto, subjectLen: number, replyLen: number, tsLo: number, tsHi: number): number {
  const count = m.redeliveryCount ?? 0;
  return (
    (m.sequence !== 0 ? 1 + varintSize(m.sequence) : 0) +
    lenFieldSize(subjectLen) +
    lenFieldSize(replyLen) +
    lenFieldSize(m.data.length) +
    (tsLo !== 0 || tsHi !== 0 ? 1 + varint64Size(tsLo, tsHi) : 0) +
    (m.redelivered ? 2 : 0) +
    (count !== 0 ? 1 + varintSize(count) : 0)
  );
}

/** The encoded size of a MsgProto, which is what the Go stores count as a message's bytes. */
export function msgProtoSize(m: MsgProto): number {
  const ts = loadUint64(m.timestamp);
  return encodedLength(m, utf8Of(m.subject).length, m.reply === '' ? 0 : utf8Of(m.reply).length, ts.getUint32(0, true), ts.getUint32(4, true));
}

/** The most bytes encodeSubStateUpdate writes: two tags and two 64-bit varints. */
export const SUB_STATE_UPDATE_MAX_SIZE = 22;

/**
 * Encodes a SubStateUpdate (spb) at `at` of `buf`; returns its size. The file store writes one for every message sent
 * to a subscription and one for every ack. Both fields are uint64, left out when zero (proto3).
 */
export function encodeSubStateUpdate(buf: Buffer, at: number, id: number, seqno: number): number {
  let pos = at;
  if (id !== 0) {
    buf[pos++] = 0x08;
    pos = writeVarint(buf, pos, id);
  }
  if (seqno !== 0) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, seqno);
  }
  return pos - at;
}

/** Where the data of the last MsgProto encoded ends in its target's buffer. */
let encodedDataEnd = 0;

/**
 * Makes `m.data` a view of its bytes in `buf`, the buffer `m` was just encoded into (the last encoding). A stored
 * message then keeps its own encoding alive, not the socket read its data arrived in, which carries every channel's
 * publishes: kept as a view of it, a message of a channel receiving few among a busy one's would keep a whole read.
 */
export function pointDataAtEncoding(m: MsgProto, buf: Uint8Array): void {
  if (m.data.length > 0) m.data = buf.subarray(encodedDataEnd - m.data.length, encodedDataEnd);
}

/** Room for an encoding in a caller's buffer: `reserve(size)` makes room and returns where it starts in `buffer`. */
export interface EncodeTarget {
  reserve(size: number): number;
  readonly buffer: Buffer;
}

/** A target that allocates exactly the room asked for: the encoding is then a buffer of its own. */
const allocating = {
  buffer: Buffer.alloc(0),
  reserve(size: number): number {
    this.buffer = Buffer.allocUnsafe(size);
    return 0;
  },
};

export function encodeMsgProto(m: MsgProto): Buffer {
  writeMsgProto(m, allocating);
  return allocating.buffer;
}

/**
 * Encodes `m` into room reserved in `target` (the file store frames records this way, deliveries go straight into the
 * outbox); returns the encoded size.
 */
export function encodeMsgProtoInto(m: MsgProto, target: EncodeTarget): number {
  return writeMsgProto(m, target);
}

function writeMsgProto(m: MsgProto, target: EncodeTarget): number {
  const subject = utf8Of(m.subject);
  const reply = m.reply === '' ? EMPTY : utf8Of(m.reply);
  const ts = loadUint64(m.timestamp);
  const tsLo = ts.getUint32(0, true);
  const tsHi = ts.getUint32(4, true);
  const count = m.redeliveryCount ?? 0;
  const size = encodedLength(m, subject.length, reply.length, tsLo, tsHi);
  const start = target.reserve(size);
  const buf = target.buffer;
  let pos = start;
  if (m.sequence !== 0) {
    buf[pos++] = 0x08;
    pos = writeVarint(buf, pos, m.sequence);
  }
  pos = writeLenField(buf, pos, 0x12, subject);
  pos = writeLenField(buf, pos, 0x1a, reply);
  pos = writeLenField(buf, pos, 0x22, m.data);
  encodedDataEnd = pos;
  if (tsLo !== 0 || tsHi !== 0) {
    buf[pos++] = 0x28;
    pos = writeVarint64(buf, pos, tsLo, tsHi);
  }
  if (m.redelivered) {
    buf[pos++] = 0x30;
    buf[pos++] = 1;
  }
  if (count !== 0) {
    buf[pos++] = 0x38;
    writeVarint(buf, pos, count);
  }
  return size;
}

function isAsciiString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/**
 * The encoded size of a PubAck without error whose GUID is ASCII and shorter than 128 bytes (every NUID is): one
 * length byte and the characters as bytes. -1 for any other PubAck, which encodePubAck handles.
 */
export function simplePubAckSize(guid: string): number {
  return guid.length > 0 && guid.length < 128 && isAsciiString(guid) ? 2 + guid.length : -1;
}

/** Writes a PubAck that simplePubAckSize accepted, at `at` of `buf`. */
export function writeSimplePubAck(buf: Buffer, at: number, guid: string): void {
  buf[at] = 0x0a;
  buf[at + 1] = guid.length;
  for (let i = 0; i < guid.length; i++) buf[at + 2 + i] = guid.charCodeAt(i);
}

export function encodePubAck(guid: string, error?: string): Buffer {
  const simple = error ? -1 : simplePubAckSize(guid);
  if (simple > 0) {
    const buf = Buffer.allocUnsafe(simple);
    writeSimplePubAck(buf, 0, guid);
    return buf;
  }
  const g = Buffer.from(guid, 'utf8');
  const e = error ? Buffer.from(error, 'utf8') : EMPTY;
  const buf = Buffer.allocUnsafe(lenFieldSize(g.length) + lenFieldSize(e.length));
  writeLenField(buf, writeLenField(buf, 0, 0x0a, g), 0x12, e);
  return buf;
}
