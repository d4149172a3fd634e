import { join } from 'node:path';
import type { FileStoreOptions } from '../../config/options.js';
import type { Logger } from '../../log.js';
import { SUB_STATE_UPDATE_MAX_SIZE, type SubState, encodeSubStateUpdate, spb } from '../../proto/codec.js';
import { ErrClosed, ErrNotFound, ErrTooManySubs } from '../errors.js';
import { type ChannelLimits, isLimited } from '../limits.js';
import type { RecoveredSubscription, SubStore } from '../store.js';
import { AppendLog } from './append-log.js';
import { compactionDue } from './compaction.js';
import type { Crc32 } from './crc.js';
import { CorruptFileError, SUBS_FILE, SubRecordType, VERSION_SIZE } from './format.js';
import { createStoreFile, openStoreFile, scanRecords, settleScanEnd } from './io.js';

export interface SubStoreConfig {
  dir: string;
  channel: string;
  limits: ChannelLimits;
  opts: FileStoreOptions;
  crc: Crc32;
  log: Logger;
}

interface SubEntry {
  sub: SubState;
  pending: Set<number>;
}

/**
 * The subscriptions of one channel in subs.dat: a log of typed records (new, update, delete, sent message, ack)
 * replayed on recovery. IDs are per channel, the highest one ever seen plus one, as in the Go store.
 */
export class FileSubStore implements SubStore {
  private readonly subs = new Map<number, SubEntry>();
  private maxSubId = 0;
  /** Live and dead records, the Go store's measure of how much of the file compaction would save. */
  private numRecs = 0;
  private delRecs = 0;
  private lastCompact = 0;
  private closed = false;

  private constructor(
    private readonly cfg: SubStoreConfig,
    private readonly log: AppendLog,
  ) {}

  static async create(cfg: SubStoreConfig): Promise<FileSubStore> {
    const path = join(cfg.dir, SUBS_FILE);
    const fh = await createStoreFile(path);
    return new FileSubStore(cfg, AppendLog.adopt(path, fh, VERSION_SIZE, cfg.crc, cfg.opts.doSync, cfg.opts.autoSync));
  }

  static async recover(cfg: SubStoreConfig): Promise<FileSubStore> {
    const path = join(cfg.dir, SUBS_FILE);
    const { fh } = await openStoreFile(path);
    const replay = new SubsReplay(path);
    let end: number;
    try {
      const scan = await scanRecords(fh, path, true, cfg.opts.doCRC ? cfg.crc : undefined, (type, payload, offset) => replay.apply(type, payload, offset));
      end = await settleScanEnd(scan, fh, path, cfg.opts.truncateUnexpectedEOF, cfg.log);
    } catch (err) {
      await fh.close();
      throw err;
    }
    const ss = new FileSubStore(cfg, AppendLog.adopt(path, fh, end, cfg.crc, cfg.opts.doSync, cfg.opts.autoSync));
    for (const [id, entry] of replay.subs) ss.subs.set(id, entry);
    ss.maxSubId = replay.maxSubId;
    ss.numRecs = replay.numRecs;
    ss.delRecs = replay.delRecs;
    return ss;
  }

  /** The recovered subscriptions, by ID, with copies the server may keep. */
  recovered(): RecoveredSubscription[] {
    return [...this.subs.values()].sort((a, b) => a.sub.ID - b.sub.ID).map((e) => ({ sub: { ...e.sub }, pending: new Set(e.pending) }));
  }

  async createSub(sub: SubState): Promise<void> {
    this.checkOpen();
    if (isLimited(this.cfg.limits.maxSubscriptions) && this.subs.size >= this.cfg.limits.maxSubscriptions) throw new ErrTooManySubs();
    sub.ID = ++this.maxSubId;
    this.log.append(SubRecordType.New, spb.SubState.encode(sub));
    this.numRecs++;
    this.subs.set(sub.ID, { sub: { ...sub }, pending: new Set() });
    await this.flush();
  }

  async updateSub(sub: SubState): Promise<void> {
    this.checkOpen();
    const entry = this.subs.get(sub.ID);
    if (!entry) throw new ErrNotFound(`subscription ${sub.ID}`);
    this.log.append(SubRecordType.Update, spb.SubState.encode(sub));
    this.numRecs++;
    this.delRecs++;
    entry.sub = { ...sub };
    await this.flush();
  }

  async deleteSub(subId: number): Promise<void> {
    this.checkOpen();
    this.log.append(SubRecordType.Delete, spb.SubStateDelete.encode({ ID: subId }));
    this.delRecs++;
    const entry = this.subs.get(subId);
    if (entry) {
      this.subs.delete(subId);
      this.delRecs += entry.pending.size;
    }
    await this.flush();
  }

  // Sent and acked records that arrive after close (deliveries racing a shutdown) are dropped: at worst a redelivery.
  addSeqPending(subId: number, seq: number): void {
    if (this.closed) return;
    this.appendUpdate(SubRecordType.Msg, subId, seq);
    this.numRecs++;
    const entry = this.subs.get(subId);
    if (!entry) return;
    if (seq > entry.sub.lastSent) entry.sub.lastSent = seq;
    entry.pending.add(seq);
  }

  ackSeqPending(subId: number, seq: number): void {
    if (this.closed) return;
    this.appendUpdate(SubRecordType.Ack, subId, seq);
    this.delRecs++;
    this.subs.get(subId)?.pending.delete(seq);
  }

  private appendUpdate(type: number, subId: number, seq: number): void {
    const at = this.log.reserve(SUB_STATE_UPDATE_MAX_SIZE);
    this.log.commit(type, encodeSubStateUpdate(this.log.buffer, at, subId, seq));
  }

  async flush(): Promise<void> {
    await this.log.flush();
    if (this.closed) return;
    const frag = this.numRecs === 0 ? 100 : Math.floor((this.delRecs * 100) / this.numRecs);
    if (compactionDue(this.cfg.opts, this.log.size, frag, this.lastCompact)) await this.compact();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.log.close();
  }

  /** Rewrites subs.dat with one record per live subscription and one per pending message. */
  private async compact(): Promise<void> {
    this.lastCompact = Date.now();
    let live = 0;
    await this.log.rewrite(() => {
      const out: { type: number; payload: Uint8Array }[] = [];
      for (const { sub, pending } of this.subs.values()) {
        out.push({ type: SubRecordType.New, payload: spb.SubState.encode(sub) });
        for (const seq of pending) out.push({ type: SubRecordType.Msg, payload: spb.SubStateUpdate.encode({ ID: sub.ID, seqno: seq }) });
      }
      live = out.length;
      return out;
    });
    this.numRecs = live;
    this.delRecs = 0;
    this.cfg.log.debug({ channel: this.cfg.channel, records: live }, 'subscriptions file compacted');
  }

  private checkOpen(): void {
    if (this.closed) throw new ErrClosed();
  }
}

/** Replays subs.dat records in order into the subscriptions they describe. */
export class SubsReplay {
  readonly subs = new Map<number, SubEntry>();
  maxSubId = 0;
  numRecs = 0;
  delRecs = 0;

  constructor(private readonly file: string) {}

  apply(type: number, payload: Uint8Array, offset: number): void {
    switch (type) {
      case SubRecordType.New: {
        const sub = this.decode(offset, () => spb.SubState.decode(payload));
        this.subs.set(sub.ID, { sub, pending: new Set() });
        this.maxSubId = Math.max(this.maxSubId, sub.ID);
        this.numRecs++;
        return;
      }
      case SubRecordType.Update: {
        const sub = this.decode(offset, () => spb.SubState.decode(payload));
        const entry = this.subs.get(sub.ID);
        if (entry) {
          entry.sub = sub;
          this.delRecs++;
        } else {
          this.subs.set(sub.ID, { sub, pending: new Set() });
        }
        this.maxSubId = Math.max(this.maxSubId, sub.ID);
        this.numRecs++;
        return;
      }
      case SubRecordType.Delete: {
        const { ID } = this.decode(offset, () => spb.SubStateDelete.decode(payload));
        const entry = this.subs.get(ID);
        if (entry) {
          this.subs.delete(ID);
          this.delRecs += 1 + entry.pending.size;
        }
        this.maxSubId = Math.max(this.maxSubId, ID);
        return;
      }
      case SubRecordType.Msg: {
        const { ID, seqno } = this.decode(offset, () => spb.SubStateUpdate.decode(payload));
        const entry = this.subs.get(ID);
        if (!entry) return;
        // A queue member can be sent the same message twice (redelivery to another member): last_sent only grows.
        if (seqno > entry.sub.lastSent) entry.sub.lastSent = seqno;
        entry.pending.add(seqno);
        this.numRecs++;
        return;
      }
      case SubRecordType.Ack: {
        const { ID, seqno } = this.decode(offset, () => spb.SubStateUpdate.decode(payload));
        const entry = this.subs.get(ID);
        if (!entry) return;
        entry.pending.delete(seqno);
        this.delRecs++;
        return;
      }
      default:
        throw new CorruptFileError(this.file, offset, `unexpected record type: ${type}`);
    }
  }

  private decode<T>(offset: number, decode: () => T): T {
    try {
      return decode();
    } catch (err) {
      throw new CorruptFileError(this.file, offset, `cannot decode record: ${(err as Error).message}`);
    }
  }
}
