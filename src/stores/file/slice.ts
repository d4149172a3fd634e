import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { MsgProto } from '../../proto/codec.js';
import { INDEX_RECORD_SIZE, MSG_RECORD_OVERHEAD, RECORD_HEADER_SIZE, VERSION_SIZE, datFileName, idxFileName, versionHeader } from './format.js';
import { writeFully } from './io.js';
import { PendingRecords } from './pending.js';

export interface SliceHandles {
  dat: FileHandle;
  idx: FileHandle;
}

const { O_RDWR, O_CREAT, O_TRUNC, O_DSYNC } = constants;

/** How long the files of a slice nobody writes to stay open after their last use (the Go store uses one second). */
const IDLE_CLOSE_MS = 1000;

/**
 * One msgs.N.dat/msgs.N.idx pair. Records in a slice are addressed by position: entry `p` of the index is at
 * 4 + 32 * p. Messages are only ever dropped from the front, so the live ones are the positions [rmCount, msgsCount);
 * the ones at `written` and after are still in memory (`pending`): their records or index entries are not written yet.
 *
 * Only counters are kept per slice. File handles are opened on demand and closed when idle, except for the slice being
 * written to.
 */
export class MsgSlice {
  readonly datPath: string;
  readonly idxPath: string;
  /** Sequence of the entry at position 0, and whether entry p holds baseSeq + p (always, unless an old store had gaps). */
  baseSeq = 0;
  contiguous = true;
  firstSeq = 0;
  lastSeq = 0;
  msgsCount = 0;
  rmCount = 0;
  /** Bytes as the Go store counts them for slice limits: every record ever added, removed ones included. */
  msgsSize = 0;
  /** Timestamp (ns) of the first message, which starts the clock of the slice age limit. */
  firstWrite = 0n;
  /** Where the next record and index entry go. */
  datEnd = VERSION_SIZE;
  idxEnd = VERSION_SIZE;
  written = 0;
  readonly pending = new PendingRecords();
  /** Files opened so that each write returns once it is on disk (O_DSYNC), when every flush must be synced. */
  syncWrites = false;
  /** The last index write started for this slice; the next one, and closing the files, wait for it. */
  indexing: Promise<void> = Promise.resolve();
  removed = false;
  /** The slice being written to keeps its files open. */
  keepOpen = false;

  private handles: Promise<SliceHandles> | undefined;
  private refs = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    dir: string,
    /** A new slice's files are created (or emptied, if an old empty slice of that number is still there) on first use. */
    private mustCreate: boolean,
  ) {
    this.datPath = join(dir, datFileName(id));
    this.idxPath = join(dir, idxFileName(id));
  }

  live(): number {
    return this.msgsCount - this.rmCount;
  }

  /** Position of `seq` when the slice is contiguous; undefined when out of range. */
  positionOf(seq: number): number | undefined {
    const p = seq - this.baseSeq;
    return p >= 0 && p < this.msgsCount ? p : undefined;
  }

  /** Adds a message at the end; the caller has checked that its sequence follows the last one. Returns its size as counted. */
  add(msg: MsgProto): number {
    const seq = msg.sequence;
    if (this.msgsCount === 0) {
      this.baseSeq = seq;
      this.firstSeq = seq;
      this.firstWrite = msg.timestamp;
    } else if (seq !== this.lastSeq + 1) {
      this.contiguous = false;
    }
    const payloadSize = this.pending.add(msg, this.datEnd);
    this.lastSeq = seq;
    this.msgsCount++;
    this.msgsSize += payloadSize + MSG_RECORD_OVERHEAD;
    this.datEnd += RECORD_HEADER_SIZE + payloadSize;
    this.idxEnd += INDEX_RECORD_SIZE;
    return payloadSize + MSG_RECORD_OVERHEAD;
  }

  async acquire(): Promise<SliceHandles> {
    this.refs++;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.handles) {
      const opening = this.openFiles();
      this.handles = opening;
      opening.catch(() => {
        if (this.handles === opening) this.handles = undefined;
      });
    }
    try {
      return await this.handles;
    } catch (err) {
      this.refs--;
      throw err;
    }
  }

  release(): void {
    this.refs--;
    this.maybeClose();
  }

  /** Called when the slice stops being the write slice or is removed. */
  maybeClose(): void {
    if (this.refs > 0 || !this.handles || this.keepOpen) return;
    if (this.removed) {
      void this.close();
      return;
    }
    if (this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.refs === 0 && !this.keepOpen) void this.close();
    }, IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const handles = this.handles;
    this.handles = undefined;
    if (!handles) return;
    const h = await handles.catch(() => undefined);
    if (!h) return;
    await Promise.allSettled([h.dat.close(), h.idx.close()]);
  }

  private async openFiles(): Promise<SliceHandles> {
    const flags = (this.mustCreate ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR) | (this.syncWrites ? O_DSYNC : 0);
    const dat = await open(this.datPath, flags);
    let idx: FileHandle;
    try {
      idx = await open(this.idxPath, flags);
    } catch (err) {
      await dat.close();
      throw err;
    }
    if (this.mustCreate) {
      try {
        await Promise.all([writeFully(dat, versionHeader(), 0), writeFully(idx, versionHeader(), 0)]);
      } catch (err) {
        await Promise.allSettled([dat.close(), idx.close()]);
        throw err;
      }
      this.mustCreate = false;
    }
    return { dat, idx };
  }
}
