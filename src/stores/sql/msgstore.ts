import type { Logger } from '../../log.js';
import { encodeStoredMsg, pb, type MsgProto } from '../../proto/codec.js';
import { ErrClosed } from '../errors.js';
import { type ChannelLimits, isLimited } from '../limits.js';
import type { MsgStore, MsgStoreState } from '../store.js';
import type { Database, Executor, Param } from './db.js';
import { SQL, big, bytesOf, num } from './statements.js';

const NS_PER_MS = 1_000_000n;
/** Messages read ahead of a lookup that has to go to the database (replays read sequences in order). */
const READ_AHEAD = 128;
/** Bounds of a chunk of the oldest messages' sizes read when limits drop messages. */
const MIN_SIZE_CHUNK = 256;
const MAX_SIZE_CHUNK = 100_000;
/** Sizes of the oldest messages kept in memory at most (the rest is only counted). */
const MAX_HEAD = 8192;
/** Rows per INSERT when --sql_bulk_insert_limit does not set it, and bytes of message data per INSERT at most. */
const DEFAULT_ROWS_PER_INSERT = 1000;
const MAX_BYTES_PER_INSERT = 4 * 1024 * 1024;
/** --sql_bulk_insert_limit below this keeps the default, as in the Go store. */
export const MIN_BULK_INSERT_LIMIT = 5;
/** Retry delay of a failed expiration. */
const EXPIRE_RETRY_MS = 1000;

interface Cached {
  msg: MsgProto;
  data: Uint8Array;
  size: number;
  /** With --sql_no_caching: the INSERT started by store(); resolves false when it failed. */
  written?: Promise<boolean>;
}

/** A message known to be in the Messages table, with what limits need. */
interface Known {
  seq: number;
  size: number;
  ts: bigint;
}

interface DropPlan {
  headDrops: number;
  /** Messages of the batch that are dropped before they are written (caching) or right after (no caching). */
  batchDrops: number;
  deleteUpTo: number;
}

export interface SqlMsgStoreSettings {
  noCaching: boolean;
  bulkInsertLimit: number;
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

/**
 * The messages of one channel in the Messages table. Messages stored since the last flush wait in memory and are
 * written by flush() in one transaction, with multi-row INSERTs (with --sql_no_caching, store() starts each INSERT at
 * once and flush() waits for them). Limits are applied in flush(), before the batch is written, so that messages a
 * batch pushes out are deleted in the same transaction. The store keeps counts and byte totals; the sizes of only the
 * oldest messages are read (in chunks) when limits need them.
 */
export class SqlMsgStore implements MsgStore {
  /** Oldest messages in the table with known size: `head[headPos..]`; every row with seq < loadCursor is there. */
  private head: Known[] = [];
  private headPos = 0;
  private headBytes = 0;
  /** Rows with seq in [loadCursor, dbLast] that are counted but not in `head`. */
  private unloadedCount = 0;
  private unloadedBytes = 0;
  private loadCursor = 1;
  /** The highest sequence written to the table (and counted above). */
  private dbLast = 0;
  private last = 0;
  private cache: Cached[] = [];
  private inflight: Cached[] = [];
  private serial: Promise<unknown> = Promise.resolve();
  private writes: Promise<unknown> = Promise.resolve();
  private readAhead = new Map<number, MsgProto>();
  private readAheadPending: { from: number; to: number; done: Promise<void> } | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private hitLimit = false;

  constructor(
    readonly name: string,
    readonly channelId: number,
    private readonly db: Database,
    private readonly limits: ChannelLimits,
    private readonly settings: SqlMsgStoreSettings,
    private readonly log: Logger,
  ) {}

  /** State read at recovery: the table holds `count` messages first..last (`bytes` in all); `last` may be higher. */
  async initRecovered(count: number, first: number, dbLast: number, bytes: number, last: number): Promise<void> {
    this.unloadedCount = count;
    this.unloadedBytes = bytes;
    this.loadCursor = count > 0 ? first : dbLast + 1;
    this.dbLast = dbLast;
    this.last = Math.max(last, dbLast);
    if (count > 0) await this.loadMore(MIN_SIZE_CHUNK);
    this.scheduleAgeCheck();
  }

  store(msg: MsgProto): void {
    if (msg.sequence <= this.last) return;
    if (this.closed) throw new ErrClosed();
    // The stored encoding; the message's data becomes a view of it.
    const data = encodeStoredMsg(msg);
    const entry: Cached = { msg, data, size: data.length };
    this.cache.push(entry);
    this.last = msg.sequence;
    if (this.settings.noCaching) {
      const write = this.writes.then(() => this.insertRows(this.db, [entry]));
      entry.written = write.then(
        () => true,
        (err: unknown) => {
          this.log.error({ err, channel: this.name }, 'cannot store message');
          return false;
        },
      );
      this.writes = entry.written;
    }
  }

  flush(): Promise<void> {
    return this.enqueue(() => this.doFlush());
  }

  private async doFlush(): Promise<void> {
    if (this.cache.length === 0) return;
    const batch = this.cache;
    this.cache = [];
    this.inflight = batch;
    try {
      let written = batch;
      let failed = false;
      if (this.settings.noCaching) {
        const ok = await Promise.all(batch.map((e) => e.written ?? Promise.resolve(false)));
        written = batch.filter((_, i) => ok[i]);
        failed = written.length !== batch.length;
      }
      const plan = await this.planDrops(written);
      if (this.settings.noCaching) {
        if (plan.deleteUpTo > 0) {
          try {
            await this.db.exec(SQL.deleteMsgsUpTo, [this.channelId, plan.deleteUpTo]);
          } catch (err) {
            // The messages are in the table; only the drops did not happen (the next flush retries them).
            this.apply({ headDrops: 0, batchDrops: 0, deleteUpTo: 0 }, written);
            throw err;
          }
        }
        this.apply(plan, written);
        if (failed) throw new Error(`sql: ${batch.length - written.length} message(s) of channel "${this.name}" could not be stored`);
      } else {
        const toWrite = written.slice(plan.batchDrops);
        await this.db.transaction(async (tx) => {
          if (plan.deleteUpTo > 0) await tx.exec(SQL.deleteMsgsUpTo, [this.channelId, plan.deleteUpTo]);
          await this.insertRows(tx, toWrite);
        });
        this.apply(plan, written);
      }
    } finally {
      this.inflight = [];
      this.scheduleAgeCheck();
    }
  }

  /** INSERTs of up to --sql_bulk_insert_limit rows (or our default), also split by size. */
  private async insertRows(ex: Executor, rows: Cached[]): Promise<void> {
    const limit = this.settings.bulkInsertLimit >= MIN_BULK_INSERT_LIMIT ? this.settings.bulkInsertLimit : DEFAULT_ROWS_PER_INSERT;
    let i = 0;
    while (i < rows.length) {
      const params: Param[] = [];
      let groups = 0;
      let bytes = 0;
      while (i < rows.length && groups < limit && (groups === 0 || bytes + rows[i]!.size <= MAX_BYTES_PER_INSERT)) {
        const r = rows[i++]!;
        params.push(this.channelId, r.msg.sequence, r.msg.timestamp, r.size, r.data);
        bytes += r.size;
        groups++;
      }
      await ex.exec(SQL.insertMsgs + new Array<string>(groups).fill('(?, ?, ?, ?, ?)').join(', '), params);
    }
  }

  /** Which of the oldest messages the limits drop once `batch` is added (reads sizes from the table as needed). */
  private async planDrops(batch: Cached[]): Promise<DropPlan> {
    const { maxMsgs, maxBytes } = this.limits;
    let count = this.dbCount() + batch.length;
    let bytes = this.dbBytes();
    for (const e of batch) bytes += e.size;
    const over = () => count > 1 && ((isLimited(maxMsgs) && count > maxMsgs) || (isLimited(maxBytes) && bytes > maxBytes));
    let pos = this.headPos;
    let batchDrops = 0;
    let deleteUpTo = 0;
    while (over()) {
      if (pos >= this.head.length && this.unloadedCount > 0) {
        await this.loadMore(isLimited(maxMsgs) ? count - maxMsgs : MIN_SIZE_CHUNK);
      }
      if (pos < this.head.length) {
        const e = this.head[pos++]!;
        count--;
        bytes -= e.size;
        deleteUpTo = e.seq;
      } else if (batchDrops < batch.length) {
        const e = batch[batchDrops++]!;
        count--;
        bytes -= e.size;
        if (this.settings.noCaching) deleteUpTo = e.msg.sequence;
      } else break;
    }
    if (pos >= this.head.length && this.unloadedCount > 0) await this.loadMore(MIN_SIZE_CHUNK);
    if ((pos > this.headPos || batchDrops > 0) && !this.hitLimit) {
      this.hitLimit = true;
      this.log.warn(
        { channel: this.name, msgs: count, maxMsgs, bytes, maxBytes },
        `Reached limits for store "${this.name}", dropping old messages to make room for new ones`,
      );
    }
    return { headDrops: pos - this.headPos, batchDrops, deleteUpTo };
  }

  /** Accounts for a committed flush: drops from the head, then the written batch (less its own drops). */
  private apply(plan: DropPlan, batch: Cached[]): void {
    for (let i = 0; i < plan.headDrops; i++) this.headBytes -= this.head[this.headPos++]!.size;
    for (let i = plan.batchDrops; i < batch.length; i++) this.addWritten(batch[i]!);
    if (plan.batchDrops > 0 && batch.length > 0) {
      const lastDropped = batch[plan.batchDrops - 1]!.msg.sequence;
      if (this.loadCursor <= lastDropped) this.loadCursor = lastDropped + 1;
    }
    const lastOfBatch = batch[batch.length - 1];
    if (lastOfBatch && lastOfBatch.msg.sequence > this.dbLast) this.dbLast = lastOfBatch.msg.sequence;
    this.compactHead();
  }

  private addWritten(e: Cached): void {
    const seq = e.msg.sequence;
    if (this.unloadedCount === 0 && this.head.length - this.headPos < MAX_HEAD && seq >= this.loadCursor) {
      this.head.push({ seq, size: e.size, ts: e.msg.timestamp });
      this.headBytes += e.size;
      this.loadCursor = seq + 1;
    } else {
      this.unloadedCount++;
      this.unloadedBytes += e.size;
    }
    if (seq > this.dbLast) this.dbLast = seq;
  }

  private compactHead(): void {
    if (this.headPos > 1024 && this.headPos * 2 > this.head.length) {
      this.head = this.head.slice(this.headPos);
      this.headPos = 0;
    }
    if (this.headPos === this.head.length) {
      this.head = [];
      this.headPos = 0;
      this.headBytes = 0;
    }
  }

  /** Reads the sizes of the next (oldest unloaded) rows into the head. */
  private async loadMore(wanted: number): Promise<void> {
    const limit = Math.min(MAX_SIZE_CHUNK, Math.max(MIN_SIZE_CHUNK, wanted));
    const rows = await this.db.query(SQL.msgSizes, [this.channelId, this.loadCursor, this.dbLast, limit]);
    for (const [seq, size, ts] of rows) {
      const s = num(size);
      this.head.push({ seq: num(seq), size: s, ts: big(ts) });
      this.headBytes += s;
      this.unloadedCount--;
      this.unloadedBytes -= s;
      this.loadCursor = num(seq) + 1;
    }
    if (rows.length < limit) {
      // Every row up to dbLast is in the head now.
      if (this.unloadedCount !== 0) {
        this.log.warn({ channel: this.name, off: this.unloadedCount }, 'sql: message count out of step with the table, corrected');
      }
      this.unloadedCount = 0;
      this.unloadedBytes = 0;
      this.loadCursor = this.dbLast + 1;
    } else if (this.unloadedCount <= 0) {
      this.unloadedCount = 0;
      this.unloadedBytes = 0;
    }
  }

  private dbCount(): number {
    return this.head.length - this.headPos + this.unloadedCount;
  }

  private dbBytes(): number {
    return this.headBytes + this.unloadedBytes;
  }

  private count(): number {
    return this.dbCount() + this.inflight.length + this.cache.length;
  }

  private firstSeq(): number {
    if (this.dbCount() > 0) return this.headPos < this.head.length ? this.head[this.headPos]!.seq : this.loadCursor;
    const pending = this.inflight[0] ?? this.cache[0];
    return pending ? pending.msg.sequence : this.last + 1;
  }

  state(): MsgStoreState {
    let bytes = this.dbBytes();
    for (const e of this.inflight) bytes += e.size;
    for (const e of this.cache) bytes += e.size;
    return { msgs: this.count(), bytes };
  }

  firstSequence(): number {
    return this.count() === 0 ? this.last + 1 : this.firstSeq();
  }

  lastSequence(): number {
    return this.last;
  }

  firstAndLastSequence(): [number, number] {
    if (this.count() === 0) return [this.last === 0 ? 0 : this.last + 1, this.last];
    return [this.firstSeq(), this.last];
  }

  async lookup(seq: number): Promise<MsgProto | undefined> {
    if (this.count() === 0 || seq < this.firstSeq() || seq > this.last) return undefined;
    const msg = findCached(this.cache, seq) ?? findCached(this.inflight, seq) ?? (await this.fromTable(seq));
    if (!msg) return undefined;
    if (isLimited(this.limits.maxAge) && nowNs() > msg.timestamp + BigInt(this.limits.maxAge) * NS_PER_MS) return undefined;
    return msg;
  }

  private async fromTable(seq: number): Promise<MsgProto | undefined> {
    if (seq > this.dbLast) return undefined;
    const hit = this.readAhead.get(seq);
    if (hit) return hit;
    const pending = this.readAheadPending;
    if (pending && seq >= pending.from && seq <= pending.to) {
      await pending.done;
      const again = this.readAhead.get(seq);
      if (again) return again;
    }
    const from = seq;
    const to = Math.min(seq + READ_AHEAD - 1, this.dbLast);
    const done = (async () => {
      const rows = await this.db.query(SQL.lookupMsgs, [this.channelId, from, to]);
      const map = new Map<number, MsgProto>();
      for (const [s, data] of rows) {
        const bytes = bytesOf(data);
        if (bytes) map.set(num(s), pb.MsgProto.decode(bytes));
      }
      this.readAhead = map;
    })();
    this.readAheadPending = { from, to, done };
    try {
      await done;
    } finally {
      if (this.readAheadPending?.done === done) this.readAheadPending = undefined;
    }
    return this.readAhead.get(seq);
  }

  async getSequenceFromTimestamp(timestamp: bigint): Promise<number> {
    if (this.count() === 0) return this.last + 1;
    if (this.dbCount() > 0) {
      const rows = await this.db.query(SQL.seqFromTimestamp, [this.channelId, timestamp]);
      if (rows.length > 0) return Math.max(num(rows[0]![0]), this.firstSeq());
    }
    for (const list of [this.inflight, this.cache]) {
      for (const e of list) if (e.msg.timestamp >= timestamp) return e.msg.sequence;
    }
    return this.last + 1;
  }

  async firstMsg(): Promise<MsgProto | undefined> {
    return this.count() === 0 ? undefined : this.lookup(this.firstSeq());
  }

  async lastMsg(): Promise<MsgProto | undefined> {
    return this.count() === 0 ? undefined : this.lookup(this.last);
  }

  empty(): Promise<void> {
    return this.enqueue(async () => {
      await this.writes;
      const last = this.last;
      await this.db.transaction(async (tx) => {
        await tx.exec(SQL.deleteMsgsUpTo, [this.channelId, last]);
        // Unlike the Go store (which writes 0), keep the sequence so that it survives a restart.
        await tx.exec(SQL.updateChannelMaxSeq, [last, this.channelId]);
      });
      this.head = [];
      this.headPos = 0;
      this.headBytes = 0;
      this.unloadedCount = 0;
      this.unloadedBytes = 0;
      this.dbLast = Math.max(this.dbLast, last);
      this.loadCursor = this.dbLast + 1;
      this.cache = [];
      this.readAhead = new Map();
      this.hitLimit = false;
      clearTimeout(this.ageTimer);
      this.ageTimer = undefined;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      clearTimeout(this.ageTimer);
      this.ageTimer = undefined;
      await this.serial.catch(() => undefined);
    }
  }

  /** Stops timers without writing (the channel was deleted). */
  async abandon(): Promise<void> {
    this.closed = true;
    clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    this.cache = [];
    await this.serial.catch(() => undefined);
    await this.writes.catch(() => undefined);
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.serial.then(op, op);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private scheduleAgeCheck(delayMs?: number): void {
    if (!isLimited(this.limits.maxAge) || this.closed || this.ageTimer || this.dbCount() === 0) return;
    let delay = delayMs;
    if (delay === undefined) {
      const oldest = this.headPos < this.head.length ? this.head[this.headPos]!.ts : undefined;
      delay = oldest === undefined ? 0 : Math.max(0, Number(oldest / NS_PER_MS) + this.limits.maxAge - Date.now());
    }
    this.ageTimer = setTimeout(() => {
      this.ageTimer = undefined;
      this.enqueue(() => this.expire()).catch((err: unknown) => {
        this.log.error({ err, channel: this.name }, `Unable to perform expiration for channel "${this.name}"`);
        this.scheduleAgeCheck(EXPIRE_RETRY_MS);
      });
    }, delay);
    this.ageTimer.unref();
  }

  /** Deletes the messages older than max_age (and everything before the newest of them). */
  private async expire(): Promise<void> {
    if (this.closed) return;
    const cutoff = nowNs() - BigInt(this.limits.maxAge) * NS_PER_MS;
    const [[maxRaw] = [0]] = await this.db.query(SQL.lastExpiredSeq, [this.channelId, cutoff]);
    const maxSeq = Math.min(num(maxRaw), this.dbLast);
    if (maxSeq > 0 && maxSeq >= this.firstSeq()) {
      const [[countRaw, sizeRaw] = [0, 0]] = await this.db.query(SQL.countAndSizeUpTo, [this.channelId, maxSeq]);
      await this.db.transaction(async (tx) => {
        // When the newest message goes, the channel row keeps its sequence for the next start.
        if (maxSeq === this.last) await tx.exec(SQL.updateChannelMaxSeq, [maxSeq, this.channelId]);
        await tx.exec(SQL.deleteMsgsUpTo, [this.channelId, maxSeq]);
      });
      let count = num(countRaw);
      let bytes = num(sizeRaw);
      while (this.headPos < this.head.length && this.head[this.headPos]!.seq <= maxSeq) {
        const e = this.head[this.headPos++]!;
        this.headBytes -= e.size;
        count--;
        bytes -= e.size;
      }
      this.unloadedCount = Math.max(0, this.unloadedCount - Math.max(0, count));
      this.unloadedBytes = this.unloadedCount === 0 ? 0 : Math.max(0, this.unloadedBytes - Math.max(0, bytes));
      if (this.loadCursor <= maxSeq) this.loadCursor = maxSeq + 1;
      this.compactHead();
    }
    if (this.headPos >= this.head.length && this.unloadedCount > 0) await this.loadMore(MIN_SIZE_CHUNK);
    this.scheduleAgeCheck();
  }
}

function findCached(list: Cached[], seq: number): MsgProto | undefined {
  if (list.length === 0) return undefined;
  const first = list[0]!.msg.sequence;
  if (seq < first || seq > list[list.length - 1]!.msg.sequence) return undefined;
  // Sequences in a batch are increasing and usually contiguous.
  const guess = list[seq - first];
  if (guess && guess.msg.sequence === seq) return guess.msg;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = list[mid]!.msg.sequence;
    if (s === seq) return list[mid]!.msg;
    if (s < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
