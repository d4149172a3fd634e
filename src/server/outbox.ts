import type { NatsConnection } from 'nats';
import { ByteQueue } from '../byte-queue.js';

/**
 * The one internal of the `nats` client the outbox relies on: its protocol handler queues raw protocol bytes for the
 * socket (and keeps them across a reconnect, as it does for its own publishes).
 */
interface ProtocolHandler {
  sendCommand(cmd: Uint8Array): void;
  info?: { max_payload?: number };
}

/** Frames are written into slabs of this size; a batch handed over is a view of its slab, never copied again. */
const SLAB_SIZE = 1024 * 1024;
/** Frame headers are cached per subject; inboxes come and go, so the cache is dropped when it grows this large. */
const MAX_CACHED_HEADERS = 10_000;

export class MaxPayloadExceeded extends Error {
  constructor(size: number, max: number) {
    super(`message of ${size} bytes is larger than the NATS server's max_payload of ${max} bytes`);
    this.name = 'MaxPayloadExceeded';
  }
}

/** Writes a non-negative integer in ASCII decimal; cheaper than formatting a string and encoding it. */
function writeDecimal(buf: Buffer, pos: number, n: number): number {
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  for (let i = pos + digits - 1; i >= pos; i--) {
    buf[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return pos + digits;
}

function protocolOf(nc: NatsConnection): ProtocolHandler {
  const protocol = (nc as unknown as { protocol?: ProtocolHandler }).protocol;
  if (typeof protocol?.sendCommand !== 'function') throw new Error('this version of the nats client has no protocol.sendCommand; pin the version in package.json');
  return protocol;
}

/** Room for one frame's payload, for an encoder that reserves its size and then writes into `buffer`. */
export class FrameRoom {
  constructor(
    private readonly out: Outbox,
    private readonly subject: () => string,
  ) {}

  reserve(size: number): number {
    return this.out.reserve(this.subject(), size);
  }

  get buffer(): Buffer {
    return this.out.buffer;
  }
}

/**
 * Everything the server publishes goes through here: the PUB frames of one event-loop turn are written into a single
 * buffer and handed to the NATS connection in one piece. The `nats` client's own publish costs a string template, a
 * text encoding and a buffer concatenation per message, which at hundreds of thousands of PubAcks and deliveries per
 * second was a quarter of the server's time. Frames keep the order of the publish calls.
 */
export class Outbox {
  private readonly protocol: ProtocolHandler;
  /** Queued frames; a batch handed over is a view of its buffer, which later frames never write over. */
  private readonly frames = new ByteQueue(SLAB_SIZE);
  private scheduled = false;
  private readonly headers = new Map<string, Buffer>();
  private readonly flushNow = (): void => this.flush();
  private roomSubject = '';
  private readonly room = new FrameRoom(this, () => this.roomSubject);

  constructor(nc: NatsConnection) {
    this.protocol = protocolOf(nc);
  }

  publish(subject: string, payload: Uint8Array): void {
    const at = this.reserve(subject, payload.length);
    this.frames.buf.set(payload, at);
  }

  /**
   * Queues a frame whose `size` payload bytes the caller writes into `buffer` at the returned offset, before anything
   * else is queued: encoders write there directly instead of allocating a payload to be copied.
   */
  reserve(subject: string, size: number): number {
    const max = this.protocol.info?.max_payload;
    if (max !== undefined && size > max) throw new MaxPayloadExceeded(size, max);
    const header = this.header(subject);
    // "PUB <subject> " + up to 10 digits of size + CRLF + payload + CRLF
    const frames = this.frames;
    frames.ensure(header.length + 12 + size + 2);
    const buf = frames.buf;
    let at = frames.end + header.copy(buf, frames.end);
    at = writeDecimal(buf, at, size);
    buf[at++] = 13;
    buf[at++] = 10;
    const payloadAt = at;
    at += size;
    buf[at++] = 13;
    buf[at++] = 10;
    frames.end = at;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushNow);
    }
    return payloadAt;
  }

  /** The buffer `reserve` gives offsets in; it may change with each reserve. */
  get buffer(): Buffer {
    return this.frames.buf;
  }

  /**
   * Queues a frame whose payload `encode` writes in place, through `room` (which it must reserve once); returns the
   * payload's size. Encoders that take a reservable target (MsgProto for deliveries) then need no buffer of their own.
   */
  publishEncoded<T>(subject: string, value: T, encode: (value: T, room: FrameRoom) => number): number {
    this.roomSubject = subject;
    return encode(value, this.room);
  }

  /** Hands what is queued to the connection now (before a drain or flush of the connection). */
  flush(): void {
    this.scheduled = false;
    if (this.frames.length === 0) return;
    // The connection keeps the view until the socket has written it; later frames go after it.
    const out = this.frames.queued();
    this.frames.consume(out.length);
    this.protocol.sendCommand(out);
  }

  private header(subject: string): Buffer {
    let header = this.headers.get(subject);
    if (!header) {
      if (subject.length === 0 || /\s/.test(subject)) throw new Error(`invalid subject "${subject}"`);
      if (this.headers.size >= MAX_CACHED_HEADERS) this.headers.clear();
      header = Buffer.from(`PUB ${subject} `);
      this.headers.set(subject, header);
    }
    return header;
  }
}
