import { type EncodeTarget, type MsgProto, encodeMsgProtoInto } from '../../proto/codec.js';
import type { Crc32 } from './crc.js';
import { INDEX_RECORD_SIZE, RECORD_HEADER_SIZE, encodeIndex } from './format.js';

/** Records are framed into buffers of this size; one buffer takes many flushes' worth of records. */
const DATA_BUFFER_SIZE = 256 * 1024;
const INDEX_BUFFER_SIZE = 16 * 1024;

/** What a flush writes: the data and index bytes of every pending message, in file order. */
export interface PendingBytes {
  dat: Buffer;
  idx: Buffer;
  msgs: number;
}

/**
 * The messages of a slice stored since its last write, already in the bytes they take on disk: each record is encoded
 * straight into a shared buffer (its payload is also the message's wire encoding, used for delivery) and each index
 * entry into another, so that a flush writes two ready views instead of framing, copying and joining per message.
 *
 * Record bytes, once written into the data buffer, are never overwritten: messages keep views of them. When the buffer
 * is full, a new one is started and only the records not yet written to the file are copied over.
 */
export class PendingRecords implements EncodeTarget {
  /** Unwritten messages, oldest first, for lookups before the flush. */
  readonly msgs: MsgProto[] = [];
  private dat = Buffer.allocUnsafe(DATA_BUFFER_SIZE);
  private datStart = 0;
  private datEnd = 0;
  private idx = Buffer.allocUnsafe(INDEX_BUFFER_SIZE);
  private idxStart = 0;
  private idxEnd = 0;

  get count(): number {
    return this.msgs.length;
  }

  /**
   * Frames `msg` as the record at file offset `offset` and adds its index entry; returns the record's payload size.
   * A message that already has its encoding is copied; otherwise it is encoded in place and keeps that as its wire.
   */
  add(msg: MsgProto, offset: number, crc: Crc32): number {
    let payload: Uint8Array;
    if (msg.wire) {
      const at = this.reserve(msg.wire.length);
      this.dat.set(msg.wire, at);
      payload = this.dat.subarray(at, at + msg.wire.length);
    } else {
      const size = encodeMsgProtoInto(msg, this);
      const at = this.datEnd + RECORD_HEADER_SIZE;
      payload = this.dat.subarray(at, at + size);
      msg.wire = payload;
    }
    const at = this.datEnd;
    this.dat.writeUInt32LE(payload.length, at);
    this.dat.writeUInt32LE(crc(payload), at + 4);
    this.datEnd = at + RECORD_HEADER_SIZE + payload.length;
    if (this.idxEnd + INDEX_RECORD_SIZE > this.idx.length) this.growIndex();
    encodeIndex(msg.sequence, offset, msg.timestamp, payload.length, crc, this.idx, this.idxEnd);
    this.idxEnd += INDEX_RECORD_SIZE;
    this.msgs.push(msg);
    return payload.length;
  }

  /** Room for a record of `size` payload bytes after the last one; returns where its payload goes in `buffer`. */
  reserve(size: number): number {
    const need = RECORD_HEADER_SIZE + size;
    if (this.datEnd + need > this.dat.length) {
      const unwritten = this.datEnd - this.datStart;
      const next = Buffer.allocUnsafe(Math.max(DATA_BUFFER_SIZE, 2 * (unwritten + need)));
      this.dat.copy(next, 0, this.datStart, this.datEnd);
      this.dat = next;
      this.datStart = 0;
      this.datEnd = unwritten;
    }
    return this.datEnd + RECORD_HEADER_SIZE;
  }

  /** The buffer `reserve` hands out room in. */
  get buffer(): Buffer {
    return this.dat;
  }

  /** The pending bytes as views; they stay valid (and pending) until `written` says they are on disk. */
  peek(): PendingBytes {
    return { dat: this.dat.subarray(this.datStart, this.datEnd), idx: this.idx.subarray(this.idxStart, this.idxEnd), msgs: this.msgs.length };
  }

  /** The `peek`ed bytes are in the files; what was added meanwhile stays pending. */
  written(p: PendingBytes): void {
    this.datStart += p.dat.length;
    this.idxStart += p.idx.length;
    this.msgs.splice(0, p.msgs);
    if (this.idxStart === this.idxEnd) this.idxStart = this.idxEnd = 0;
  }

  /** The index entry bytes of the `i`th pending message. */
  indexAt(i: number): { buf: Buffer; at: number } | undefined {
    return i >= 0 && i < this.msgs.length ? { buf: this.idx, at: this.idxStart + i * INDEX_RECORD_SIZE } : undefined;
  }

  /** Forgets every pending message (the slice is being removed). */
  clear(): void {
    this.msgs.length = 0;
    this.datStart = this.datEnd;
    this.idxStart = this.idxEnd = 0;
  }

  private growIndex(): void {
    const unwritten = this.idxEnd - this.idxStart;
    // A write under way may still be reading the current buffer, so it is never written over: a new one is started.
    const next = Buffer.allocUnsafe(Math.max(INDEX_BUFFER_SIZE, 2 * (unwritten + INDEX_RECORD_SIZE)));
    this.idx.copy(next, 0, this.idxStart, this.idxEnd);
    this.idx = next;
    this.idxStart = 0;
    this.idxEnd = unwritten;
  }
}
