import { type EncodeTarget, type MsgProto, encodeMsgProtoInto } from '../../proto/codec.js';
import type { Crc32 } from './crc.js';
import { INDEX_RECORD_SIZE, RECORD_HEADER_SIZE, REC_NO_TYPE, encodeIndex, writeRecordHeader } from './format.js';

/** Records are framed into buffers of this size; one buffer takes many flushes' worth of records. */
const DATA_BUFFER_SIZE = 256 * 1024;
const INDEX_BUFFER_SIZE = 16 * 1024;
const NO_BUFFER = Buffer.alloc(0);

/** Bytes to write to one of the slice's files, for the first `msgs` messages not yet in it. */
export interface PendingBytes {
  bytes: Buffer;
  msgs: number;
}

/**
 * The messages of a slice not yet in its files, already in the bytes they take on disk: each record is encoded straight
 * into a shared buffer (its payload is also the message's wire encoding, used for delivery) and each index entry into
 * another, so that a write takes a ready view instead of framing, copying and joining per message.
 *
 * Records are written first; index entries follow, later, for the records already written. A message stays here
 * (for lookups) until its index entry is written too.
 *
 * Record bytes, once in the data buffer, are never overwritten: messages keep views of them. When the buffer is full,
 * a new one is started and only the records not yet written to the file are copied over.
 */
export class PendingRecords implements EncodeTarget {
  /** Messages whose index entry is not written yet, oldest first; the first `dataWritten` have their record written. */
  readonly msgs: MsgProto[] = [];
  private dataWritten = 0;
  /** Allocated on the first message: most slices (all the recovered ones but the last) never get one. */
  private dat = NO_BUFFER;
  private datStart = 0;
  private datEnd = 0;
  private idx = NO_BUFFER;
  private idxStart = 0;
  private idxEnd = 0;

  /** Messages not yet in both files. */
  get count(): number {
    return this.msgs.length;
  }

  /** Whether some written records still wait for their index entries. */
  get hasUnwrittenEntries(): boolean {
    return this.dataWritten > 0;
  }

  /** Whether some records are not written yet. */
  get hasUnwrittenData(): boolean {
    return this.msgs.length > this.dataWritten;
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
    writeRecordHeader(this.dat, at, REC_NO_TYPE, payload.length, crc(payload));
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

  /** The records not written yet, as a view that stays valid (and unwritten) until `recordsWritten`. */
  records(): PendingBytes {
    return { bytes: this.dat.subarray(this.datStart, this.datEnd), msgs: this.msgs.length - this.dataWritten };
  }

  recordsWritten(p: PendingBytes): void {
    this.datStart += p.bytes.length;
    this.dataWritten += p.msgs;
  }

  /** The index entries of the messages whose record is written, as a view valid until `entriesWritten`. */
  entries(): PendingBytes {
    return { bytes: this.idx.subarray(this.idxStart, this.idxStart + this.dataWritten * INDEX_RECORD_SIZE), msgs: this.dataWritten };
  }

  entriesWritten(p: PendingBytes): void {
    this.idxStart += p.bytes.length;
    this.msgs.splice(0, p.msgs);
    this.dataWritten -= p.msgs;
    if (this.idxStart === this.idxEnd) this.idxStart = this.idxEnd = 0;
  }

  /** The index entry bytes of the `i`th message here. */
  indexAt(i: number): { buf: Buffer; at: number } | undefined {
    return i >= 0 && i < this.msgs.length ? { buf: this.idx, at: this.idxStart + i * INDEX_RECORD_SIZE } : undefined;
  }

  /** Drops the buffers, once everything is written and no more messages will come (messages keep their views). */
  release(): void {
    this.clear();
    this.dat = this.idx = NO_BUFFER;
    this.datStart = this.datEnd = 0;
  }

  /** Forgets every message (the slice is being removed). */
  clear(): void {
    this.msgs.length = 0;
    this.dataWritten = 0;
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
