import { execFile } from 'node:child_process';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileStoreOptions } from '../../config/options.js';
import type { Logger } from '../../log.js';
import { type MsgProto, pb } from '../../proto/codec.js';
import { ErrClosed } from '../errors.js';
import { type ChannelLimits, isLimited } from '../limits.js';
import type { MsgStore, MsgStoreState } from '../store.js';
import { type BatchChecksums, batchChecksums } from './batch-checksums.js';
import type { Crc32 } from './crc.js';
import {
  BAK_SUFFIX,
  CorruptFileError,
  INDEX_RECORD_SIZE,
  type IndexEntry,
  MSGS_PREFIX,
  MSG_RECORD_OVERHEAD,
  RECORD_HEADER_SIZE,
  VERSION_SIZE,
  decodeIndex,
  decodeRecordHeader,
  parseDatFileName,
} from './format.js';
import { hex, readFully, writeFully } from './io.js';
import { MsgCache } from './msg-cache.js';
import { SerialQueue } from './serial.js';
import { recoverSlice } from './slice-recovery.js';
import { MsgSlice, type SliceHandles } from './slice.js';

export interface MsgStoreConfig {
  /** The channel's directory. */
  dir: string;
  channel: string;
  limits: ChannelLimits;
  opts: FileStoreOptions;
  crc: Crc32;
  log: Logger;
}

const NS_PER_MS = 1_000_000n;
/** Index entries read at once when messages are dropped from the front (limits, expiry). */
const HEAD_READ_ENTRIES = 512;
/** Cap on index entries a read-ahead looks at, whatever the read buffer size. */
const MAX_READ_AHEAD_ENTRIES = 1024;
const EMPTY = new Uint8Array(0);
const RETRY_EXPIRY_MS = 5000;
/** A read-ahead that did not reach a sequence it was expected to cover. */
const MISS = Symbol('miss');
/**
 * Index entries are written once this many wait, or INDEX_DELAY_MS after a flush left some: one index write every few
 * flushes rather than one each, since every write is a round trip to the thread pool (and a synchronous disk write with
 * --file_sync). Entries not yet written cost nothing on a crash: recovery rebuilds them from the records.
 */
const INDEX_BATCH_ENTRIES = 2048;
const INDEX_DELAY_MS = 100;

interface SliceLimits {
  msgs: number;
  bytes: number;
  ageMs: number;
}

/**
 * Slice limits as the Go store sets them: the configured ones, or, when none is configured, a quarter of the channel's
 * limits (so that dropping old messages can remove whole files), with at least one message and one second.
 */
export function sliceLimitsFor(opts: FileStoreOptions, limits: ChannelLimits): SliceLimits {
  const configured = { msgs: opts.sliceMaxMsgs, bytes: opts.sliceMaxBytes, ageMs: opts.sliceMaxAge };
  if (configured.msgs > 0 || configured.bytes > 0 || configured.ageMs > 0) return configured;
  return {
    msgs: isLimited(limits.maxMsgs) ? Math.max(1, Math.floor(limits.maxMsgs / 4)) : 0,
    bytes: isLimited(limits.maxBytes) ? Math.max(1, Math.floor(limits.maxBytes / 4)) : 0,
    ageMs: isLimited(limits.maxAge) ? Math.max(1000, Math.floor(limits.maxAge / 4)) : 0,
  };
}

/**
 * The messages of one channel in msgs.N.dat/msgs.N.idx slices. Memory holds counters per slice and the messages stored
 * since the last flush, never the log itself: lookups read the index entry and the record from disk (with read-ahead
 * and a small cache). Everything that changes files runs in one queue.
 */
export class FileMsgStore implements MsgStore {
  private slices: MsgSlice[] = [];
  private writeSlice: MsgSlice | undefined;
  private nextSliceId = 1;
  private first = 0;
  private last = 0;
  private count = 0;
  private bytes = 0;
  private appended = 0;
  private durable = 0;
  private readonly queue = new SerialQueue();
  private readonly cache: MsgCache;
  private readonly checksums: BatchChecksums;
  private readonly inflight = new Map<number, Promise<MsgProto | undefined | typeof MISS>>();
  /** Index entries read ahead from the first slice, for dropping messages from the front without a read each. */
  private head: { slice: MsgSlice; from: number; entries: IndexEntry[] } | undefined;
  private readonly sliceLimits: SliceLimits;
  private readonly readAheadEntries: number;
  private ageTimer: NodeJS.Timeout | undefined;
  private indexTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  /** Slices written without a sync (doSync off), for the background sync and close. */
  private readonly unsynced = new Set<MsgSlice>();
  private hitLimit = false;
  private closed = false;

  private constructor(private readonly cfg: MsgStoreConfig) {
    this.sliceLimits = sliceLimitsFor(cfg.opts, cfg.limits);
    this.cache = new MsgCache(cfg.opts.readBufferSize);
    this.checksums = batchChecksums(cfg.crc);
    this.readAheadEntries = cfg.opts.readBufferSize > 0 ? Math.min(MAX_READ_AHEAD_ENTRIES, Math.max(1, Math.floor(cfg.opts.readBufferSize / INDEX_RECORD_SIZE))) : 1;
    if (!cfg.opts.doSync && cfg.opts.autoSync > 0) {
      this.syncTimer = setInterval(() => void this.autoSync(), cfg.opts.autoSync);
      this.syncTimer.unref();
    }
  }

  /** A store for a new channel: stale message files in the directory are removed. */
  static async create(cfg: MsgStoreConfig): Promise<FileMsgStore> {
    const ms = new FileMsgStore(cfg);
    await ms.removeMessageFiles();
    return ms;
  }

  /** Recovers the slices found in the channel's directory, then applies the limits as the Go store does on start. */
  static async recover(cfg: MsgStoreConfig): Promise<FileMsgStore> {
    const ms = new FileMsgStore(cfg);
    try {
      await ms.recoverSlices();
    } catch (err) {
      await ms.close().catch(() => undefined);
      throw err;
    }
    return ms;
  }

  private async recoverSlices(): Promise<void> {
    const { cfg } = this;
    const ids = (await readdir(cfg.dir))
      .map(parseDatFileName)
      .filter((id): id is number => id !== undefined)
      .sort((a, b) => a - b);
    for (const id of ids) {
      const slice = await recoverSlice(cfg.dir, id, {
        crc: cfg.crc,
        doCRC: cfg.opts.doCRC,
        truncateUnexpectedEOF: cfg.opts.truncateUnexpectedEOF,
        log: cfg.log,
      });
      if (!slice) continue;
      slice.syncWrites = cfg.opts.doSync;
      this.slices.push(slice);
      this.count += slice.msgsCount;
      this.bytes += slice.msgsSize;
      this.last = Math.max(this.last, slice.lastSeq);
      this.first = this.first === 0 ? slice.firstSeq : Math.min(this.first, slice.firstSeq);
    }
    const newest = this.slices.at(-1);
    if (newest) {
      newest.keepOpen = true;
      this.writeSlice = newest;
      this.nextSliceId = newest.id + 1;
    }
    await this.queue.run(() => this.enforceLimits(false));
    if (isLimited(cfg.limits.maxAge) && this.count > 0) await this.queue.run(() => this.expire());
  }

  store(msg: MsgProto): void {
    if (this.closed) throw new ErrClosed();
    if (msg.sequence <= this.last) return;
    // Like the Go store, a jump in sequence is filled with empty messages, so that slices never have holes.
    if (this.last > 0 && msg.sequence > this.last + 1) {
      for (let seq = this.last + 1; seq < msg.sequence; seq++) {
        this.append({ sequence: seq, subject: this.cfg.channel, reply: '', data: EMPTY, timestamp: msg.timestamp });
      }
    }
    this.append(msg);
  }

  flush(): Promise<void> {
    const target = this.appended;
    // close() wrote everything, and store() refuses messages after it.
    if (this.closed || (this.durable >= target && !this.needsEnforcement())) return Promise.resolve();
    return this.queue.run(async () => {
      if (this.durable < target) await this.writeUnwritten();
      await this.enforceLimits(true);
    });
  }

  async lookup(seq: number): Promise<MsgProto | undefined> {
    // Delivery may still be reading while the server shuts down: a closed store just has nothing more to give.
    if (this.closed || this.count === 0 || seq < this.first || seq > this.last) return undefined;
    const cached = this.cache.get(seq);
    if (cached) return cached;
    const reading = this.inflight.get(seq);
    if (reading) {
      const found = await reading;
      // The read-ahead under way stopped short of `seq` (read buffer full): read it on its own.
      return found === MISS ? this.lookup(seq) : found;
    }
    const slice = this.sliceFor(seq);
    if (!slice) return undefined;
    if (!slice.contiguous) return this.lookupInGappySlice(slice, seq);
    const p = slice.positionOf(seq);
    if (p === undefined || p < slice.rmCount) return undefined;
    if (p >= slice.written) return slice.pending.msgs[p - slice.written];
    // The messages after `seq` are likely next (a subscriber catching up), so they are read in the same I/O, and
    // lookups for them that come meanwhile wait for this read instead of starting their own.
    const n = seq === slice.lastSeq ? 1 : Math.min(this.readAheadEntries, slice.written - p);
    const batch = this.readBatch(slice, p, n);
    for (let i = 1; i < n; i++) {
      const q = seq + i;
      if (this.inflight.has(q)) continue;
      const pending: Promise<MsgProto | undefined | typeof MISS> = batch.then(
        (found) => {
          if (this.inflight.get(q) === pending) this.inflight.delete(q);
          const hit = found.get(q);
          return hit ? (q >= this.first ? hit : undefined) : MISS;
        },
        (err: unknown) => {
          if (this.inflight.get(q) === pending) this.inflight.delete(q);
          if (this.droppedMeanwhile(slice, q)) return undefined;
          throw err;
        },
      );
      pending.catch(() => undefined);
      this.inflight.set(q, pending);
    }
    let found: MsgProto | undefined;
    try {
      found = (await batch).get(seq);
    } catch (err) {
      if (this.droppedMeanwhile(slice, seq)) return undefined;
      throw err;
    }
    return found && seq >= this.first ? found : undefined;
  }

  /** A read that fails because limits removed the slice's files under it is just a message that is gone. */
  private droppedMeanwhile(slice: MsgSlice, seq: number): boolean {
    return slice.removed || seq < this.first || this.closed;
  }

  state(): MsgStoreState {
    return { msgs: this.count, bytes: this.bytes };
  }

  firstSequence(): number {
    return this.count === 0 ? this.last + 1 : this.first;
  }

  lastSequence(): number {
    return this.last;
  }

  firstAndLastSequence(): [number, number] {
    if (this.count > 0) return [this.first, this.last];
    return [this.last === 0 ? 0 : this.last + 1, this.last];
  }

  async getSequenceFromTimestamp(timestamp: bigint): Promise<number> {
    for (const slice of this.slices) {
      if (slice.live() === 0) continue;
      let hi = slice.msgsCount - 1;
      if ((await this.entryAt(slice, hi, false)).timestamp < timestamp) continue;
      let lo = slice.rmCount;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((await this.entryAt(slice, mid, false)).timestamp < timestamp) lo = mid + 1;
        else hi = mid;
      }
      return (await this.entryAt(slice, lo, false)).seq;
    }
    return this.last + 1;
  }

  firstMsg(): Promise<MsgProto | undefined> {
    return this.count === 0 ? Promise.resolve(undefined) : this.lookup(this.first);
  }

  lastMsg(): Promise<MsgProto | undefined> {
    return this.count === 0 ? Promise.resolve(undefined) : this.lookup(this.last);
  }

  /**
   * Forgets every message at once, so that what is stored afterwards is kept; the old slices' files are deleted in the
   * queue. Slice numbers keep growing, so that a new slice never shares a file name with one being deleted.
   */
  empty(): Promise<void> {
    const old = this.slices;
    this.slices = [];
    this.writeSlice = undefined;
    this.count = 0;
    this.bytes = 0;
    this.first = this.last + 1;
    this.durable = this.appended;
    this.head = undefined;
    this.cache.clear();
    for (const slice of old) {
      slice.removed = true;
      slice.keepOpen = false;
      slice.pending.clear();
    }
    const keepFrom = this.nextSliceId;
    return this.queue.run(async () => {
      await Promise.all(old.map((s) => s.indexing));
      await Promise.all(old.map((s) => s.close()));
      await this.removeMessageFiles(keepFrom);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.ageTimer);
    clearTimeout(this.indexTimer);
    clearInterval(this.syncTimer);
    this.cache.clear();
    try {
      await this.queue.run(async () => {
        await this.writeUnwritten();
        await this.writeAllEntries();
        await this.syncWritten();
      });
    } finally {
      for (const slice of this.slices) slice.keepOpen = false;
      await Promise.all(this.slices.map((s) => s.indexing));
      await Promise.all(this.slices.map((s) => s.close()));
    }
  }

  private append(msg: MsgProto): void {
    let slice = this.writeSlice;
    if (!slice || this.sliceIsFull(slice)) slice = this.startSlice();
    const size = slice.add(msg);
    if (this.count === 0) this.first = msg.sequence;
    this.last = msg.sequence;
    this.count++;
    this.bytes += size;
    this.appended++;
    if (this.count === 1) this.scheduleExpiry(msg.timestamp);
  }

  private sliceIsFull(s: MsgSlice): boolean {
    const { msgs, bytes, ageMs } = this.sliceLimits;
    if (s.msgsCount === 0) return false;
    return (
      (bytes > 0 && s.msgsSize >= bytes) ||
      (msgs > 0 && s.msgsCount >= msgs) ||
      (ageMs > 0 && BigInt(Date.now()) * NS_PER_MS - s.firstWrite >= BigInt(ageMs) * NS_PER_MS)
    );
  }

  private startSlice(): MsgSlice {
    const previous = this.writeSlice;
    const slice = new MsgSlice(this.nextSliceId++, this.cfg.dir, true);
    slice.syncWrites = this.cfg.opts.doSync;
    slice.keepOpen = true;
    this.slices.push(slice);
    this.writeSlice = slice;
    if (previous) {
      previous.keepOpen = false;
      previous.maybeClose();
      if (previous.pending.count === 0) previous.pending.release();
    }
    return slice;
  }

  private needsEnforcement(): boolean {
    const { maxMsgs, maxBytes } = this.cfg.limits;
    if (this.count > 1 && ((isLimited(maxMsgs) && this.count > maxMsgs) || (isLimited(maxBytes) && this.bytes > maxBytes))) return true;
    return this.slices.length > 1 && this.slices[0]!.live() === 0;
  }

  /**
   * Writes the records of every message stored so far, one write per slice, and starts writing their index entries
   * when enough wait (see INDEX_BATCH_ENTRIES). A flush (and so a PubAck) waits for the records only: if a crash comes
   * first, recovery makes the missing entries from the data file, and with --file_sync the data file is opened so that
   * each write returns once on disk.
   */
  private async writeUnwritten(): Promise<void> {
    const upTo = this.appended;
    const results = await Promise.allSettled(this.slices.filter((s) => s.pending.hasUnwrittenData).map((s) => this.writeRecords(s)));
    // Index entries whose write failed earlier are retried with every flush, whichever slice they belong to.
    this.scheduleIndexing(false);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    // empty() may have moved `durable` past this batch meanwhile.
    this.durable = Math.max(this.durable, upTo);
  }

  /**
   * Starts writing the index entries of written records: all of them when `all`, else those of slices no longer
   * written to and of a write slice with a full batch; entries left waiting are written after INDEX_DELAY_MS.
   */
  private scheduleIndexing(all: boolean): void {
    let waiting = false;
    for (const slice of this.slices) {
      const n = slice.pending.unwrittenEntries;
      if (n === 0) continue;
      if (all || slice !== this.writeSlice || n >= INDEX_BATCH_ENTRIES) this.startIndexing(slice);
      else waiting = true;
    }
    if (!waiting || this.indexTimer) return;
    this.indexTimer = setTimeout(() => {
      this.indexTimer = undefined;
      if (!this.closed) this.scheduleIndexing(true);
    }, INDEX_DELAY_MS);
    this.indexTimer.unref();
  }

  private async writeRecords(slice: MsgSlice): Promise<void> {
    const records = slice.pending.records(this.checksums);
    const offset = slice.datEnd - records.bytes.length;
    await this.withSlice(slice, (h) => writeFully(h.dat, records.bytes, offset));
    if (slice.removed) return;
    slice.pending.recordsWritten(records);
    if (!slice.syncWrites) this.unsynced.add(slice);
  }

  /** Queues an index write: it overlaps the next flush's record write; index writes of a slice run one at a time. */
  private startIndexing(slice: MsgSlice): void {
    slice.indexing = slice.indexing
      .then(() => this.writeEntries(slice))
      .catch((err: unknown) => this.cfg.log.error({ err, file: slice.idxPath }, 'cannot write index entries; the next flush retries'));
  }

  private async writeEntries(slice: MsgSlice): Promise<void> {
    const entries = slice.pending.entries(this.checksums);
    if (entries.msgs === 0 || slice.removed) return;
    await this.withSlice(slice, (h) => writeFully(h.idx, entries.bytes, VERSION_SIZE + slice.written * INDEX_RECORD_SIZE));
    if (slice.removed) return;
    slice.pending.entriesWritten(entries);
    slice.written += entries.msgs;
    if (!slice.syncWrites) this.unsynced.add(slice);
    // A slice that is no longer written to needs its write buffers no more.
    if (slice !== this.writeSlice && slice.pending.count === 0) slice.pending.release();
  }

  /** Waits for every index write under way, and writes what a failed one left; for close. */
  private async writeAllEntries(): Promise<void> {
    await Promise.all(this.slices.map((s) => s.indexing));
    for (const slice of this.slices) await this.writeEntries(slice);
  }

  /** Drops the oldest messages over the count and byte limits (always keeping the newest), then empty leading slices. */
  private async enforceLimits(report: boolean): Promise<void> {
    const { maxMsgs, maxBytes } = this.cfg.limits;
    while (this.count > 1 && ((isLimited(maxMsgs) && this.count > maxMsgs) || (isLimited(maxBytes) && this.bytes > maxBytes))) {
      if (!(await this.removeFirst())) break;
      if (report && !this.hitLimit) {
        this.hitLimit = true;
        this.cfg.log.warn({ channel: this.cfg.channel, msgs: this.count, bytes: this.bytes, maxMsgs, maxBytes }, 'channel limits reached: dropping oldest messages');
      }
    }
    await this.removeEmptyLeadingSlices();
  }

  private async removeEmptyLeadingSlices(): Promise<void> {
    while (this.slices.length > 1 && this.slices[0]!.live() === 0) await this.removeSlice(this.slices[0]!);
  }

  /** Drops the first message; false when there is nothing that can be dropped. */
  private async removeFirst(): Promise<boolean> {
    const slice = this.slices[0];
    if (!slice) return false;
    if (slice.live() === 0) {
      if (this.slices.length === 1) return false;
      await this.removeSlice(slice);
      return true;
    }
    const e = await this.entryAt(slice, slice.rmCount, true);
    // empty() does not wait for the queue: the slice may have been forgotten during the read.
    if (slice.removed) return false;
    slice.rmCount++;
    this.count--;
    this.bytes -= e.size + MSG_RECORD_OVERHEAD;
    this.first = e.seq + 1;
    if (slice.live() === 0 && this.slices.length > 1) {
      await this.removeSlice(slice);
      if (this.count > 0) this.first = Math.max(this.first, this.slices[0]!.firstSeq);
    } else {
      slice.firstSeq = e.seq + 1;
    }
    return true;
  }

  /** Removes a slice whose messages are all gone: its files are deleted, or handed to the archive script. */
  private async removeSlice(slice: MsgSlice): Promise<void> {
    const i = this.slices.indexOf(slice);
    if (i >= 0) this.slices.splice(i, 1);
    slice.removed = true;
    slice.keepOpen = false;
    slice.pending.clear();
    if (this.head?.slice === slice) this.head = undefined;
    slice.maybeClose();
    const script = this.cfg.opts.sliceArchiveScript;
    if (script) {
      const datBak = slice.datPath + BAK_SUFFIX;
      const idxBak = slice.idxPath + BAK_SUFFIX;
      try {
        await rename(slice.datPath, datBak);
        await rename(slice.idxPath, idxBak);
        this.runArchiveScript(script, datBak, idxBak);
        return;
      } catch (err) {
        this.cfg.log.error({ err, channel: this.cfg.channel, slice: slice.datPath }, 'cannot rename slice for the archive script; removing it');
        await rm(datBak, { force: true });
      }
    }
    // An index rebuild that a crash interrupted may have left its file next to the slice's (see slice-recovery.ts).
    await Promise.all([rm(slice.datPath, { force: true }), rm(slice.idxPath, { force: true }), rm(`${slice.idxPath}.rebuild`, { force: true })]);
  }

  private runArchiveScript(script: string, datBak: string, idxBak: string): void {
    execFile(script, [this.cfg.channel, datBak, idxBak], (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err) this.cfg.log.error({ err, script, output }, 'slice archive script failed');
      else this.cfg.log.info({ script, channel: this.cfg.channel, dat: datBak, idx: idxBak, output }, 'slice archive script done');
    });
  }

  /**
   * The index entry at position `p` of a slice, from memory when not written yet. `sequential` reads a run of entries
   * ahead and keeps them, for the callers that walk the front of the log.
   */
  private async entryAt(slice: MsgSlice, p: number, sequential: boolean): Promise<IndexEntry> {
    if (p >= slice.written) {
      const at = slice.pending.indexAt(p - slice.written);
      if (!at) throw new Error(`no index entry at position ${p} of ${slice.idxPath}`);
      return decodeIndex(at.buf, at.at, undefined) as IndexEntry;
    }
    const head = this.head;
    if (head && head.slice === slice && p >= head.from && p < head.from + head.entries.length) return head.entries[p - head.from]!;
    const n = sequential ? Math.min(HEAD_READ_ENTRIES, slice.written - p) : 1;
    const entries = await this.withSlice(slice, (h) => this.readEntries(slice, h, p, n));
    if (sequential) this.head = { slice, from: p, entries };
    return entries[0]!;
  }

  private async readEntries(slice: MsgSlice, h: SliceHandles, p: number, n: number): Promise<IndexEntry[]> {
    const at = VERSION_SIZE + p * INDEX_RECORD_SIZE;
    const buf = Buffer.allocUnsafe(n * INDEX_RECORD_SIZE);
    const got = Math.floor((await readFully(h.idx, buf, at)) / INDEX_RECORD_SIZE);
    const crc = this.cfg.opts.doCRC ? this.cfg.crc : undefined;
    const out: IndexEntry[] = [];
    for (let i = 0; i < got; i++) {
      const e = decodeIndex(buf, i * INDEX_RECORD_SIZE, crc);
      if (typeof e === 'string') {
        if (i === 0) throw new CorruptFileError(slice.idxPath, at, e === 'zero' ? 'index entry was never written' : 'corrupted index entry (crc mismatch)');
        break;
      }
      out.push(e);
    }
    if (out.length === 0) throw new CorruptFileError(slice.idxPath, at, 'unexpected end of file reading an index entry', true);
    return out;
  }

  private async withSlice<T>(slice: MsgSlice, work: (h: SliceHandles) => Promise<T>): Promise<T> {
    const h = await slice.acquire();
    try {
      return await work(h);
    } finally {
      slice.release();
    }
  }

  /** Reads `n` index entries from position `p` and the records they point at (up to the read buffer size) in two I/Os. */
  private readBatch(slice: MsgSlice, p: number, n: number): Promise<Map<number, MsgProto>> {
    return this.withSlice(slice, async (h) => {
      const entries = await this.readEntries(slice, h, p, n);
      const firstSeq = slice.baseSeq + p;
      let k = 0;
      let total = 0;
      for (const e of entries) {
        const rec = RECORD_HEADER_SIZE + e.size;
        if (e.seq !== firstSeq + k) {
          if (k === 0) throw new CorruptFileError(slice.idxPath, VERSION_SIZE + p * INDEX_RECORD_SIZE, `index entry holds seq ${e.seq}, expected ${firstSeq}`);
          break;
        }
        if (k > 0 && (total + rec > this.cfg.opts.readBufferSize || e.offset !== entries[0]!.offset + total)) break;
        total += rec;
        k++;
      }
      const start = entries[0]!.offset;
      const buf = Buffer.allocUnsafe(total);
      const got = await readFully(h.dat, buf, start);
      const found = new Map<number, MsgProto>();
      let off = 0;
      for (let i = 0; i < k; i++) {
        const e = entries[i]!;
        const msg = this.decodeRecordAt(slice, buf, off, got, start, e);
        found.set(e.seq, msg);
        this.cache.add(msg, e.size);
        off += RECORD_HEADER_SIZE + e.size;
      }
      return found;
    });
  }

  private decodeRecordAt(slice: MsgSlice, buf: Buffer, off: number, got: number, start: number, e: IndexEntry): MsgProto {
    const where = start + off;
    if (off + RECORD_HEADER_SIZE + e.size > got) throw new CorruptFileError(slice.datPath, where, `unexpected end of file reading message ${e.seq}`, true);
    const h = decodeRecordHeader(buf, off, false);
    if (h.size !== e.size) throw new CorruptFileError(slice.datPath, where, `expected record size to be ${e.size} bytes, got ${h.size} bytes`);
    const payload = buf.subarray(off + RECORD_HEADER_SIZE, off + RECORD_HEADER_SIZE + e.size);
    if (this.cfg.opts.doCRC) {
      const actual = this.cfg.crc(payload);
      if (actual !== h.crc) throw new CorruptFileError(slice.datPath, where, `corrupted data, expected crc to be 0x${hex(h.crc)}, got 0x${hex(actual)}`);
    }
    try {
      return pb.MsgProto.decode(payload);
    } catch (err) {
      throw new CorruptFileError(slice.datPath, where, `cannot decode message ${e.seq}: ${(err as Error).message}`);
    }
  }

  /** Only old stores have slices with holes in their sequences: find the entry by binary search on the index. */
  private async lookupInGappySlice(slice: MsgSlice, seq: number): Promise<MsgProto | undefined> {
    for (const m of slice.pending.msgs) if (m.sequence === seq) return m;
    let lo = slice.rmCount;
    let hi = slice.written - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const e = await this.entryAt(slice, mid, false);
      if (e.seq === seq) return (await this.readBatch(slice, mid, 1)).get(seq);
      if (e.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  private sliceFor(seq: number): MsgSlice | undefined {
    for (let i = this.slices.length - 1; i >= 0; i--) {
      const s = this.slices[i]!;
      if (seq >= s.firstSeq && seq <= s.lastSeq) return s.live() > 0 ? s : undefined;
    }
    return undefined;
  }

  private scheduleExpiry(oldest: bigint | undefined, delayMs?: number): void {
    const maxAge = this.cfg.limits.maxAge;
    if (!isLimited(maxAge) || this.closed || this.ageTimer) return;
    const delay = delayMs ?? (oldest === undefined ? 0 : Math.max(0, Number(oldest / NS_PER_MS) + maxAge - Date.now()));
    this.ageTimer = setTimeout(() => {
      this.ageTimer = undefined;
      this.queue.run(() => this.expire()).catch((err: unknown) => {
        this.cfg.log.error({ err, channel: this.cfg.channel }, 'error during message expiration');
        this.scheduleExpiry(undefined, RETRY_EXPIRY_MS);
      });
    }, delay);
    this.ageTimer.unref();
  }

  /** Drops the messages older than max_age, then waits for the next one to be due. */
  private async expire(): Promise<void> {
    if (this.closed) return;
    const maxAge = BigInt(this.cfg.limits.maxAge) * NS_PER_MS;
    const now = BigInt(Date.now()) * NS_PER_MS;
    let next: bigint | undefined;
    while (this.count > 0) {
      const slice = this.slices[0]!;
      if (slice.live() === 0) {
        if (!(await this.removeFirst())) break;
        continue;
      }
      const e = await this.entryAt(slice, slice.rmCount, true);
      if (slice.removed) continue;
      if (now - e.timestamp < maxAge) {
        next = e.timestamp;
        break;
      }
      await this.removeFirst();
    }
    await this.removeEmptyLeadingSlices();
    if (next !== undefined) this.scheduleExpiry(next);
  }

  private async syncWritten(): Promise<void> {
    const slices = [...this.unsynced].filter((sl) => !sl.removed);
    this.unsynced.clear();
    await Promise.all(slices.map((sl) => this.withSlice(sl, (h) => Promise.all([h.dat.sync(), h.idx.sync()]))));
  }

  private autoSync(): void {
    if (this.unsynced.size === 0 || this.closed) return;
    this.queue.run(() => this.syncWritten()).catch((err: unknown) => this.cfg.log.error({ err, channel: this.cfg.channel }, 'auto sync failed'));
  }

  /** Deletes msgs.* files, except those of slices numbered `keepFrom` and above. */
  private async removeMessageFiles(keepFrom = Infinity): Promise<void> {
    const names = await readdir(this.cfg.dir).catch(() => [] as string[]);
    const doomed = names.filter((n) => {
      if (!n.startsWith(MSGS_PREFIX)) return false;
      const id = Number(n.slice(MSGS_PREFIX.length).split('.')[0]);
      return !(Number.isInteger(id) && id >= keepFrom);
    });
    await Promise.all(doomed.map((n) => rm(join(this.cfg.dir, n), { force: true })));
  }
}
