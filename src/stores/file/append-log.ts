import type { FileHandle } from 'node:fs/promises';
import { open, rename, rm } from 'node:fs/promises';
import type { Crc32 } from './crc.js';
import { encodeRecord, versionHeader } from './format.js';
import { writeFully } from './io.js';
import { SerialQueue } from './serial.js';

/**
 * A file of typed records that only grows (subs.dat, clients.dat). Appends are buffered and `flush` writes everything
 * buffered in one positional write, then syncs when asked to; appends made while a write is under way go in the next
 * one. A failed write leaves its records buffered, and since they go to the same offsets the next flush retries it.
 */
export class AppendLog {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  /** Ordinals of appended and of durable records, so that each flush waits for exactly the writes it depends on. */
  private appended = 0;
  private durable = 0;
  private needSync = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly queue = new SerialQueue();
  private closed = false;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    /** Where the next record goes: the file's length once everything buffered is written. */
    private end: number,
    private readonly crc: Crc32,
    private readonly doSync: boolean,
    autoSyncMs: number,
  ) {
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
    return this.end + this.bufferedBytes;
  }

  append(type: number, payload: Uint8Array): void {
    const rec = encodeRecord(type, payload, this.crc);
    this.buffered.push(rec);
    this.bufferedBytes += rec.length;
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
   * reflects every append so far, which is why the records still buffered can be dropped instead of written.
   */
  rewrite(build: () => Iterable<{ type: number; payload: Uint8Array }>): Promise<void> {
    return this.queue.run(async () => {
      const upTo = this.appended;
      const parts: Buffer[] = [versionHeader()];
      for (const r of build()) parts.push(encodeRecord(r.type, r.payload, this.crc));
      const content = Buffer.concat(parts);
      const tmp = `${this.path}.compact`;
      const out = await open(tmp, 'w');
      try {
        await writeFully(out, content, 0);
        await out.sync();
      } catch (err) {
        await out.close();
        await rm(tmp, { force: true });
        throw err;
      }
      await out.close();
      await rename(tmp, this.path);
      const old = this.fh;
      this.fh = await open(this.path, 'r+');
      await old.close().catch(() => undefined);
      this.end = content.length;
      this.buffered = [];
      this.bufferedBytes = 0;
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
    if (this.buffered.length === 0) return;
    const upTo = this.appended;
    const count = this.buffered.length;
    const data = count === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes);
    await writeFully(this.fh, data, this.end);
    this.end += data.length;
    this.buffered.splice(0, count);
    this.bufferedBytes -= data.length;
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
