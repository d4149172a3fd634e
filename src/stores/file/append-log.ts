import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { ByteQueue } from '../../byte-queue.js';
import { type Crc32, type Crc32Range, crcRange } from './crc.js';
import { RECORD_HEADER_SIZE, encodeRecord, versionHeader, writeRecordHeader } from './format.js';
import { replaceFile, writeFully } from './io.js';
import { SerialQueue } from './serial.js';

/** Records are framed into a buffer of this size, or larger for a big batch. */
const BUFFER_SIZE = 64 * 1024;

/**
 * A file of typed records that only grows (subs.dat, clients.dat). Appends are framed into one buffer and `flush`
 * writes everything buffered in one positional write, then syncs when asked to; appends made while a write is under
 * way go in the next one. A failed write leaves its records buffered, and since they go to the same offsets the next
 * flush retries it. (subs.dat takes two records per delivered message, a sent and an acked sequence.)
 */
export class AppendLog {
  /** Buffered records; a write under way reads from there, so they are only added after what is queued. */
  private readonly records = new ByteQueue(BUFFER_SIZE);
  /** Ordinals of appended and of durable records, so that each flush waits for exactly the writes it depends on. */
  private appended = 0;
  private durable = 0;
  private needSync = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly queue = new SerialQueue();
  private closed = false;
  private readonly crcOfRange: Crc32Range;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    /** Where the next write goes: the file's length once everything buffered is written. */
    private fileEnd: number,
    private readonly crc: Crc32,
    private readonly doSync: boolean,
    autoSyncMs: number,
  ) {
    this.crcOfRange = crcRange(crc);
    // When every flush syncs, a background sync has nothing left to do.
    if (!doSync && autoSyncMs > 0) {
      this.syncTimer = setInterval(() => void this.autoSync().catch(() => undefined), autoSyncMs);
      this.syncTimer.unref();
    }
  }

  /** Takes over an open file whose valid content ends at `end` (recovery has checked and possibly truncated it). */
  static adopt(path: string, fh: FileHandle, end: number, crc: Crc32, doSync: boolean, autoSyncMs: number): AppendLog {
    return new AppendLog(path, fh, end, crc, doSync, autoSyncMs);
  }

  /** Bytes in the file once buffered records are written: what compaction thresholds look at. */
  get size(): number {
    return this.fileEnd + this.records.length;
  }

  /** Appends a record of `type` with this payload. */
  append(type: number, payload: Uint8Array): void {
    const at = this.reserve(payload.length);
    this.records.buf.set(payload, at);
    this.commit(type, payload.length);
  }

  /**
   * Room for a record's payload of at most `maxLength` bytes, which the caller encodes at the returned offset of
   * `buffer` and then `commit`s: the two small records of every delivered message are encoded in place, not copied.
   */
  reserve(maxLength: number): number {
    this.records.ensure(RECORD_HEADER_SIZE + maxLength);
    return this.records.end + RECORD_HEADER_SIZE;
  }

  /** The buffer `reserve` hands out room in; valid until the next `reserve`. */
  get buffer(): Buffer {
    return this.records.buf;
  }

  /** Frames the payload of `length` bytes encoded after the last `reserve` as a record of `type`. */
  commit(type: number, length: number): void {
    const records = this.records;
    const at = records.end;
    const body = at + RECORD_HEADER_SIZE;
    writeRecordHeader(records.buf, at, type, length, this.crcOfRange(records.buf, body, body + length));
    records.end = body + length;
    this.appended++;
  }

  flush(): Promise<void> {
    const target = this.appended;
    if (this.durable >= target) return Promise.resolve();
    return this.queue.run(async () => {
      if (this.durable >= target) return;
      await this.writeBuffered();
    });
  }

  /**
   * Replaces the file with `build()`'s records (compaction). They are built inside the queue, from state that already
   * reflects every append so far, which is why the records buffered then are dropped instead of written; records
   * appended while the new file is written stay buffered for the next flush.
   */
  rewrite(build: () => Iterable<{ type: number; payload: Uint8Array }>): Promise<void> {
    return this.queue.run(async () => {
      const upTo = this.appended;
      const covered = this.records.length;
      const parts: Buffer[] = [versionHeader()];
      for (const r of build()) parts.push(encodeRecord(r.type, r.payload, this.crc));
      const content = Buffer.concat(parts);
      await replaceFile(this.path, '.compact', 'w', async (out) => {
        await writeFully(out, content, 0);
        await out.sync();
      });
      const old = this.fh;
      this.fh = await open(this.path, 'r+');
      await old.close().catch(() => undefined);
      this.fileEnd = content.length;
      // A new buffer keeps the queued records first, so the covered ones are still the first `covered` bytes.
      this.records.consume(covered);
      this.records.rewindIfEmpty();
      this.durable = upTo;
      this.needSync = false;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.syncTimer);
    try {
      await this.queue.run(async () => {
        await this.writeBuffered();
        if (this.needSync) await this.fh.sync();
      });
    } finally {
      await this.fh.close();
    }
  }

  private async writeBuffered(): Promise<void> {
    if (this.records.length === 0) return;
    const upTo = this.appended;
    const data = this.records.queued();
    await writeFully(this.fh, data, this.fileEnd);
    this.fileEnd += data.length;
    this.records.consume(data.length);
    this.records.rewindIfEmpty();
    if (this.doSync) await this.fh.datasync();
    else this.needSync = true;
    this.durable = upTo;
  }

  private autoSync(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      await this.writeBuffered();
      if (this.needSync) {
        this.needSync = false;
        await this.fh.sync();
      }
    });
  }
}
