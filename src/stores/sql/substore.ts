import type { Logger } from '../../log.js';
import { spb, type SubState } from '../../proto/codec.js';
import { ErrNotFound, ErrTooManySubs } from '../errors.js';
import { type ChannelLimits, isLimited } from '../limits.js';
import type { PendingAcks, SubStore } from '../store.js';
import type { Database, Dialect, Row } from './db.js';
import { SQL, bytesOf, decodeSeqs, encodeSeqs, num } from './statements.js';

/** Pending or ack sequences of one subscription past which the store flushes without waiting (Go's value). */
const MAX_PENDING_ACKS = 2000;

/**
 * One SubsPending row written in caching mode: the sequences it made pending, how many of them are still unacked
 * (msgsRefs), and how many acks it holds that are still needed to cancel pending sequences of other rows (acksRefs).
 * A row with neither is deleted.
 */
interface PendingRow {
  id: number;
  msgs: Set<number> | null;
  msgsRefs: number;
  acksRefs: number;
}

/** A subscription's pending state in caching mode (the Go store's sqlSubAcksPending). */
interface AcksPending {
  lastSent: number;
  prevLastSent: number;
  msgToRow: Map<number, PendingRow>;
  ackToRow: Map<number, PendingRow>;
  /** Pending and acks not written yet. */
  msgs: Set<number>;
  acks: Set<number>;
  /** Rows written by a --sql_no_caching run (one sequence each), by sequence. */
  seqRows: Map<number, number>;
  /** A flush failed: rewrite this subscription's rows from scratch at the next one. */
  rewrite: boolean;
}

interface Op {
  sql: string;
  params: (string | number | bigint | Uint8Array | null)[];
}

export interface SqlSubStoreContext {
  db: Database;
  log: Logger;
  noCaching: boolean;
  subFlushIntervalMs: number;
  /** Subscription IDs are global to the store, as in the Go SQL store. */
  nextSubId(): number;
  maxSubId(): number;
}

/**
 * The subscriptions of one channel: the Subscriptions rows (soft-deleted when the deleted one holds the highest ID, so
 * that IDs are never reused), and pending/ack state in SubsPending. By default (caching) pending and acks are kept in
 * memory and written at flush() as one row per subscription holding JSON lists of sequences, exactly as the Go store
 * does; rows whose sequences are all acknowledged are deleted. With --sql_no_caching each pending sequence is a row of
 * its own, written at once.
 */
export class SqlSubStore implements SubStore {
  private readonly cache = new Map<number, AcksPending>();
  private readonly subLastSent = new Map<number, number>();
  private curRow = 0;
  private hasMarkedAsDel = false;
  private rowDeletes: [number, number][] = [];
  private dirty = false;
  private serial: Promise<unknown> = Promise.resolve();
  private writes: Promise<unknown> = Promise.resolve();
  private writeError: unknown;
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly dialect: Dialect;

  constructor(
    readonly channelId: number,
    private readonly limits: ChannelLimits,
    private readonly ctx: SqlSubStoreContext,
  ) {
    this.dialect = ctx.db.dialect;
  }

  private get db(): Database {
    return this.ctx.db;
  }

  createSub(sub: SubState): Promise<void> {
    return this.enqueue(async () => {
      if (isLimited(this.limits.maxSubscriptions)) {
        const [[count] = [0]] = await this.db.query(SQL.countSubs, [this.channelId]);
        if (num(count) >= this.limits.maxSubscriptions) throw new ErrTooManySubs();
      }
      sub.ID = this.ctx.nextSubId();
      try {
        await this.db.exec(SQL.createSub, [this.channelId, sub.ID, spb.SubState.encode(sub)]);
      } catch (err) {
        sub.ID = 0;
        throw err;
      }
      if (this.hasMarkedAsDel) {
        await this.db.exec(SQL.deleteSubsMarkedDeleted, [this.channelId]);
        this.hasMarkedAsDel = false;
      }
    });
  }

  updateSub(sub: SubState): Promise<void> {
    return this.enqueue(async () => {
      if (sub.ID <= 0) throw new ErrNotFound(`subscription ${sub.ID}`);
      const proto = spb.SubState.encode(sub);
      const matched = await this.db.exec(SQL.updateSub, [proto, this.channelId, sub.ID]);
      if (matched === 0) await this.db.exec(SQL.createSub, [this.channelId, sub.ID, proto]);
    });
  }

  deleteSub(subId: number): Promise<void> {
    return this.enqueue(async () => {
      await this.writes;
      if (subId === this.ctx.maxSubId()) {
        // Keep the row (marked) so that the highest ID survives a restart.
        await this.db.exec(SQL.markSubDeleted, [this.channelId, subId]);
        this.hasMarkedAsDel = true;
      } else {
        await this.db.exec(SQL.deleteSub, [this.channelId, subId]);
      }
      this.cache.delete(subId);
      this.subLastSent.delete(subId);
      this.rowDeletes = this.rowDeletes.filter(([s]) => s !== subId);
      // A subscription that is gone is not recovered, whatever is left here.
      await this.db.exec(SQL.deleteSubPending, [subId]).catch(() => undefined);
    });
  }

  addSeqPending(subId: number, seq: number): void {
    if (this.closed) return;
    if (this.ctx.noCaching) {
      if (seq > (this.subLastSent.get(subId) ?? 0)) this.subLastSent.set(subId, seq);
      const row = ++this.curRow;
      this.write(SQL.subAddPending, [subId, row, seq]);
      return;
    }
    const ap = this.acksPending(subId, seq);
    ap.msgs.add(seq);
    this.markDirty(ap.msgs.size >= MAX_PENDING_ACKS);
  }

  ackSeqPending(subId: number, seq: number): void {
    if (this.closed) return;
    if (this.ctx.noCaching) {
      const ls = this.subLastSent.get(subId) ?? 0;
      if (seq >= ls) {
        if (seq > ls) this.subLastSent.set(subId, seq);
        this.write(SQL.subUpdateLastSent, [seq, this.channelId, subId]);
      }
      this.write(SQL.subDeletePending, [subId, seq]);
      return;
    }
    const ap = this.acksPending(subId, seq);
    if (ap.msgs.delete(seq)) {
      // Never written: nothing to record.
    } else {
      const row = ap.msgToRow.get(seq);
      if (row) {
        ap.acks.add(seq);
        ap.msgToRow.delete(seq);
        row.msgsRefs--;
        if (row.msgsRefs === 0) {
          if (row.acksRefs === 0) {
            // Every pending sequence of that row is acknowledged, and no ack in it is needed: the row goes, and
            // this ack need not be written.
            this.rowDeletes.push([subId, row.id]);
            ap.acks.delete(seq);
          }
          // The acks that cancelled this row's sequences are not needed any more either.
          for (const s of row.msgs ?? []) {
            const ackRow = ap.ackToRow.get(s);
            if (ackRow) {
              ackRow.acksRefs--;
              if (ackRow.acksRefs === 0 && ackRow.msgsRefs === 0) this.rowDeletes.push([subId, ackRow.id]);
            } else ap.acks.delete(s);
          }
          row.msgs = null;
        }
      } else {
        const seqRow = ap.seqRows.get(seq);
        if (seqRow !== undefined) {
          ap.seqRows.delete(seq);
          this.rowDeletes.push([subId, seqRow]);
        }
      }
    }
    this.markDirty(ap.acks.size >= MAX_PENDING_ACKS);
  }

  flush(): Promise<void> {
    return this.enqueue(() => this.doFlush());
  }

  private async doFlush(): Promise<void> {
    if (this.ctx.noCaching) {
      await this.writes;
      if (this.writeError !== undefined) {
        const err = this.writeError;
        this.writeError = undefined;
        throw err;
      }
      return;
    }
    if (!this.dirty) return;
    this.dirty = false;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const deletes = this.rowDeletes;
    this.rowDeletes = [];
    const ops: Op[] = [];
    const lastSentDone: [AcksPending, number][] = [];
    const empty = this.dialect === 'postgres' ? Buffer.alloc(0) : null;
    for (const [subId, ap] of this.cache) {
      if (ap.rewrite) {
        ap.rewrite = false;
        const pending = new Set<number>([...ap.msgToRow.keys(), ...ap.msgs, ...ap.seqRows.keys()]);
        ops.push({ sql: SQL.deleteSubPending, params: [subId] });
        ap.msgToRow.clear();
        ap.ackToRow.clear();
        ap.acks = new Set();
        ap.msgs = new Set();
        ap.seqRows.clear();
        if (pending.size > 0) {
          const row: PendingRow = { id: ++this.curRow, msgs: pending, msgsRefs: pending.size, acksRefs: 0 };
          for (const s of pending) ap.msgToRow.set(s, row);
          ops.push({ sql: SQL.subAddPendingRow, params: [subId, row.id, ap.lastSent, encodeSeqs(pending), empty] });
        }
        ops.push({ sql: SQL.subUpdateLastSent, params: [ap.lastSent, this.channelId, subId] });
        lastSentDone.push([ap, ap.lastSent]);
        continue;
      }
      if (ap.msgs.size === 0 && ap.acks.size === 0) {
        if (ap.lastSent !== ap.prevLastSent) {
          ops.push({ sql: SQL.subUpdateLastSent, params: [ap.lastSent, this.channelId, subId] });
          lastSentDone.push([ap, ap.lastSent]);
        }
        continue;
      }
      const row: PendingRow = { id: ++this.curRow, msgs: null, msgsRefs: 0, acksRefs: 0 };
      let pendingBytes: Uint8Array | null = empty;
      let acksBytes: Uint8Array | null = empty;
      if (ap.msgs.size > 0) {
        for (const s of ap.msgs) {
          row.msgsRefs++;
          ap.msgToRow.set(s, row);
        }
        pendingBytes = encodeSeqs(ap.msgs);
        row.msgs = ap.msgs;
        ap.msgs = new Set();
      }
      if (ap.acks.size > 0) {
        for (const s of ap.acks) {
          row.acksRefs++;
          ap.ackToRow.set(s, row);
        }
        acksBytes = encodeSeqs(ap.acks);
        ap.acks = new Set();
      }
      ops.push({ sql: SQL.subAddPendingRow, params: [subId, row.id, ap.lastSent, pendingBytes, acksBytes] });
    }
    if (deletes.length === 0 && ops.length === 0) return;
    try {
      await this.db.transaction(async (tx) => {
        for (const [subId, rowId] of deletes) await tx.exec(SQL.subDeletePendingRow, [subId, rowId]);
        for (const op of ops) await tx.exec(op.sql, op.params);
      });
    } catch (err) {
      // What this flush was to write is still known (pending sequences stay mapped to their rows): rewrite every
      // subscription's rows from scratch next time.
      for (const ap of this.cache.values()) ap.rewrite = true;
      this.rowDeletes = deletes.concat(this.rowDeletes);
      this.markDirty(false);
      throw err;
    }
    for (const [ap, lastSent] of lastSentDone) ap.prevLastSent = lastSent;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
  }

  /** Stops timers without writing (the channel was deleted). */
  async abandon(): Promise<void> {
    this.closed = true;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.serial.catch(() => undefined);
    await this.writes.catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Recovery

  /** Rows soft-deleted by an earlier run are purged at the next creation, as if this run had marked them. */
  purgeDeletedOnNextCreate(): void {
    this.hasMarkedAsDel = true;
  }

  /**
   * Reads the SubsPending rows of a recovered subscription: returns its pending sequences and raises its lastSent to
   * the highest the rows record. In caching mode it also rebuilds the row bookkeeping and deletes rows that carry
   * nothing any more; without caching it first purges rows below the channel's first message.
   */
  async recoverSubscription(sub: SubState, firstMsgSeq: number): Promise<PendingAcks> {
    if (this.ctx.noCaching) await this.db.exec(SQL.purgeSubPending, [sub.ID, firstMsgSeq]);
    const rows = await this.db.query(SQL.subPending, [sub.ID]);
    const pending: PendingAcks = new Set();
    const ap = this.ctx.noCaching ? undefined : this.acksPending(sub.ID, 0, false);
    const gced = new Set<number>();
    for (const r of rows) this.recoverRow(r, sub, ap, pending, gced);
    if (ap) {
      ap.lastSent = Math.max(ap.lastSent, sub.lastSent);
      ap.prevLastSent = ap.lastSent;
      for (const rowId of gced) await this.db.exec(SQL.subDeletePendingRow, [sub.ID, rowId]);
    } else {
      this.subLastSent.set(sub.ID, sub.lastSent);
    }
    return pending;
  }

  private recoverRow(r: Row, sub: SubState, ap: AcksPending | undefined, pending: PendingAcks, gced: Set<number>): void {
    const rowId = num(r[0]);
    const seq = num(r[1]);
    const lastSent = num(r[2]);
    if (rowId > this.curRow) this.curRow = rowId;
    if (seq > 0) {
      // A row written by a --sql_no_caching run.
      if (seq > sub.lastSent) sub.lastSent = seq;
      pending.add(seq);
      ap?.seqRows.set(seq, rowId);
      return;
    }
    const row: PendingRow | undefined = ap ? { id: rowId, msgs: new Set(), msgsRefs: 0, acksRefs: 0 } : undefined;
    if (ap) {
      ap.lastSent = Math.max(ap.lastSent, lastSent);
      ap.prevLastSent = ap.lastSent;
    }
    if (lastSent > sub.lastSent) sub.lastSent = lastSent;
    for (const s of decodeSeqs(bytesOf(r[3]))) {
      pending.add(s);
      if (ap && row) {
        row.msgsRefs++;
        row.msgs!.add(s);
        ap.msgToRow.set(s, row);
      }
    }
    for (const s of decodeSeqs(bytesOf(r[4]))) {
      if (!pending.has(s)) continue;
      pending.delete(s);
      if (ap && row) {
        row.acksRefs++;
        ap.ackToRow.set(s, row);
        const seqRow = ap.msgToRow.get(s);
        if (seqRow) {
          ap.msgToRow.delete(s);
          seqRow.msgsRefs--;
          if (seqRow.msgsRefs === 0 && seqRow.acksRefs === 0) gced.add(seqRow.id);
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------

  private acksPending(subId: number, seq: number, schedule = true): AcksPending {
    let ap = this.cache.get(subId);
    if (!ap) {
      ap = {
        lastSent: 0,
        prevLastSent: 0,
        msgToRow: new Map(),
        ackToRow: new Map(),
        msgs: new Set(),
        acks: new Set(),
        seqRows: new Map(),
        rewrite: false,
      };
      this.cache.set(subId, ap);
    }
    if (seq > ap.lastSent) ap.lastSent = seq;
    if (schedule) this.dirty = true;
    return ap;
  }

  /** Marks the store as having something to write: flushed now when full, else within the flush interval. */
  private markDirty(full: boolean): void {
    this.dirty = true;
    if (full) {
      this.flush().catch((err: unknown) => this.ctx.log.error({ err, channel: this.channelId }, 'cannot flush subscription store'));
      return;
    }
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch((err: unknown) => this.ctx.log.error({ err, channel: this.channelId }, 'cannot flush subscription store'));
    }, this.ctx.subFlushIntervalMs);
    this.flushTimer.unref();
  }

  /** --sql_no_caching: runs a statement now (in order with the others); flush() reports a failure. */
  private write(sql: string, params: (string | number)[]): void {
    this.writes = this.writes.then(() =>
      this.db.exec(sql, params).then(
        () => undefined,
        (err: unknown) => {
          this.writeError ??= err;
        },
      ),
    );
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.serial.then(op, op);
    this.serial = run.catch(() => undefined);
    return run;
  }
}
