import { type EncodeTarget, type MsgProto, encodeMsgProtoInto, pointDataAtEncoding } from '../../proto/codec.js';
import { ByteQueue } from '../../byte-queue.js';
import type { BatchChecksums } from './batch-checksums.js';
import { INDEX_RECORD_SIZE, RECORD_HEADER_SIZE, REC_NO_TYPE, writeIndexFields, writeRecordHeader } from './format.js';

/** Records are framed into buffers of this size; one buffer takes many flushes' worth of records. */
const DATA_BUFFER_SIZE = 256 * 1024;
const INDEX_BUFFER_SIZE = 16 * 1024;

/** Bytes to write to one of the slice's files, for the first `msgs` messages not yet in it. */
export interface PendingBytes {
  bytes: Buffer;
  msgs: number;
}

/**
 * The messages of a slice not yet in its files, already in the bytes they take on disk: each record is encoded straight
 * into a shared buffer (its payload is also the message's wire encoding, used for delivery) and each index entry into
 * another, so that a write takes a ready view instead of framing, copying and joining per message. Their checksums
 * are left blank and filled in for the whole batch a write takes.
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
  /** Allocated on the first message: most slices (all the recovered ones but the last) never get buffers. */
  private readonly dat = new ByteQueue(DATA_BUFFER_SIZE);
  private readonly idx = new ByteQueue(INDEX_BUFFER_SIZE);

  /** Messages not yet in both files. */
  get count(): number {
    return this.msgs.length;
  }

  /** How many written records still wait for their index entries. */
  get unwrittenEntries(): number {
    return this.dataWritten;
  }

  /** Whether some records are not written yet. */
  get hasUnwrittenData(): boolean {
    return this.msgs.length > this.dataWritten;
  }

  /**
   * Frames `msg` as the record at file offset `offset` and adds its index entry, both without checksums; returns the
   * record's payload size. A message that already has its encoding is copied; otherwise it is encoded in place and
   * keeps that as its wire.
   */
  add(msg: MsgProto, offset: number): number {
    let payload: Uint8Array;
    const dat = this.dat;
    if (msg.wire) {
      const at = this.reserve(msg.wire.length);
      dat.buf.set(msg.wire, at);
      payload = dat.buf.subarray(at, at + msg.wire.length);
    } else {
      const size = encodeMsgProtoInto(msg, this);
      const at = dat.end + RECORD_HEADER_SIZE;
      payload = dat.buf.subarray(at, at + size);
      msg.wire = payload;
      pointDataAtEncoding(msg, dat.buf);
    }
    writeRecordHeader(dat.buf, dat.end, REC_NO_TYPE, payload.length, 0);
    dat.end += RECORD_HEADER_SIZE + payload.length;
    const idx = this.idx;
    idx.ensure(INDEX_RECORD_SIZE);
    writeIndexFields(msg.sequence, offset, msg.timestamp, payload.length, idx.buf, idx.end);
    idx.end += INDEX_RECORD_SIZE;
    this.msgs.push(msg);
    return payload.length;
  }

  /** Room for a record of `size` payload bytes after the last one; returns where its payload goes in `buffer`. */
  reserve(size: number): number {
    this.dat.ensure(RECORD_HEADER_SIZE + size);
    return this.dat.end + RECORD_HEADER_SIZE;
  }

  /** The buffer `reserve` hands out room in. */
  get buffer(): Buffer {
    return this.dat.buf;
  }

  /** The records not written yet, checksummed, as a view that stays valid (and unwritten) until `recordsWritten`. */
  records(sums: BatchChecksums): PendingBytes {
    const dat = this.dat;
    sums.records(dat.buf, dat.start, dat.end);
    return { bytes: dat.queued(), msgs: this.msgs.length - this.dataWritten };
  }

  recordsWritten(p: PendingBytes): void {
    this.dat.consume(p.bytes.length);
    this.dataWritten += p.msgs;
  }

  /** The index entries of the messages whose record is written, checksummed, as a view valid until `entriesWritten`. */
  entries(sums: BatchChecksums): PendingBytes {
    const { buf, start } = this.idx;
    const end = start + this.dataWritten * INDEX_RECORD_SIZE;
    sums.entries(buf, start, end);
    return { bytes: buf.subarray(start, end), msgs: this.dataWritten };
  }

  /** Index entries are only read by the write that takes them, so once all are written the buffer is used again. */
  entriesWritten(p: PendingBytes): void {
    this.idx.consume(p.bytes.length);
    this.idx.rewindIfEmpty();
    this.msgs.splice(0, p.msgs);
    this.dataWritten -= p.msgs;
  }

  /** The index entry bytes of the `i`th message here. */
  indexAt(i: number): { buf: Buffer; at: number } | undefined {
    return i >= 0 && i < this.msgs.length ? { buf: this.idx.buf, at: this.idx.start + i * INDEX_RECORD_SIZE } : undefined;
  }

  /** Drops the buffers, once everything is written and no more messages will come (messages keep their views). */
  release(): void {
    this.clear();
    this.dat.release();
    this.idx.release();
  }

  /** Forgets every message (the slice is being removed). */
  clear(): void {
    this.msgs.length = 0;
    this.dataWritten = 0;
    this.dat.consume(this.dat.length);
    this.idx.consume(this.idx.length);
    this.idx.rewindIfEmpty();
  }
}
