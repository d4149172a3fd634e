import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { SqlStoreOptions } from '../../config/options.js';
import type { Logger } from '../../log.js';
import { spb, type ClientInfo, type ServerInfo, type SubState } from '../../proto/codec.js';
import { ErrAlreadyExists, ErrClosed, ErrNotFound, ErrTooManyChannels, StoreError } from '../errors.js';
import { type ChannelLimits, type StoreLimits, channelLimitsFor, defaultStoreLimits, isLimited } from '../limits.js';
import type { Channel, RecoveredChannel, RecoveredState, RecoveredSubscription, Store } from '../store.js';
import { openDatabase, type Database, type Executor, type SessionLock } from './db.js';
import { SqlMsgStore, nowNs } from './msgstore.js';
import { checkSchema } from './schema.js';
import { SQL, SQL_VERSION, big, bytesOf, num } from './statements.js';
import { SqlSubStore } from './substore.js';

export class ErrNoSrvButChannels extends StoreError {
  constructor() {
    super('no server state recovered but channels present');
  }
}

export class ErrStoreLockLost extends StoreError {
  constructor(reason: string) {
    super(`lost store lock, aborting: ${reason}`);
  }
}

/** Intervals the Go store hard-codes; tests shorten them. Milliseconds. */
export interface SqlStoreTimings {
  /** How often the lock owner bumps StoreLock.tick. */
  lockUpdateInterval: number;
  /** Intervals without a tick change (or failed updates) after which the lock is taken over (or given up). */
  lockLostCount: number;
  /** How soon pending/ack updates are written when nobody calls flush(). */
  subFlushInterval: number;
}

export const DEFAULT_SQL_TIMINGS: Readonly<SqlStoreTimings> = Object.freeze({
  lockUpdateInterval: 1000,
  lockLostCount: 3,
  subFlushInterval: 1000,
});

interface ChannelEntry {
  id: number;
  channel: Channel;
  msgs: SqlMsgStore;
  subs: SqlSubStore;
}

interface DbLock {
  /** Our random id (nuid); the row gets it with SESSION_PREFIX when we hold the session lock as well. */
  base: string;
  /** The id we write in the StoreLock row now. */
  id: string;
  isOwner: boolean;
  lost: boolean;
  timer?: NodeJS.Timeout;
  failed: number;
  busy: Promise<unknown>;
}

const NS_PER_MS = 1_000_000n;
const DEEP_DELETE_BATCH = 1000;
const NUID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Fast failover (PostgreSQL and MySQL/MariaDB). Besides the Go store's StoreLock row, a server of ours holds a session
 * lock (pg_try_advisory_lock / GET_LOCK(name, 0)) on one connection of its own for as long as it owns the row, and
 * then writes its id in the row with this prefix. The database frees that lock only when the owner's session ends
 * (its process died and the kernel closed its socket, or it closed the store), never while the owner is merely
 * frozen. So a standby that gets the session lock and finds a prefixed id in the row knows that owner is gone and
 * takes the row at once, instead of waiting ~5 s for the tick to stop moving.
 *
 * Why the prefix (rather than trusting the session lock alone): a Go server, or one of ours that took the row without
 * the session lock (its lock connection failed), owns the row without holding the session lock, so getting the lock
 * says nothing about it being alive; such rows carry a plain id and are only ever taken by the Go tick protocol. nuid
 * ids are alphanumeric, so no Go id can carry the prefix. A prefixed owner that loses its lock connection gives up
 * the store (onFatal), so a prefixed row always means "owner alive ⇔ session lock held".
 *
 * A standby that cannot get the session lock never takes the row, however stale the tick looks: the holder's session
 * is alive (it may be frozen, or another standby mid-attempt). Only when the lock's connection itself fails does it
 * fall back to the Go protocol (plain id, takeover after the tick stops moving).
 */
export const SESSION_LOCK_PREFIX = 'ts-';

/** A 22-character random id, like the Go store's nuid (StoreLock.id is a VARCHAR(30)). */
function lockId(): string {
  const bytes = randomBytes(22);
  let s = '';
  for (const b of bytes) s += NUID_ALPHABET[b % NUID_ALPHABET.length];
  return s;
}

/** Limits as the Go store writes them into Channels: unlimited is 0, max_age is in nanoseconds. */
function storedLimits(limits: ChannelLimits): { maxMsgs: number; maxBytes: number; maxAgeNs: bigint } {
  return {
    maxMsgs: Math.max(0, limits.maxMsgs),
    maxBytes: Math.max(0, limits.maxBytes),
    maxAgeNs: BigInt(Math.max(0, Math.trunc(limits.maxAge))) * NS_PER_MS,
  };
}

/**
 * The SQL store (-st SQL): the Go server's tables and row formats in PostgreSQL (pg) or MySQL/MariaDB (mysql2), so
 * that a database written by either server is read by the other. See deploy/sql/ for the tables.
 */
export class SqlStore implements Store {
  readonly type = 'SQL' as const;
  onFatal?: (err: Error) => void;
  private limits: StoreLimits = defaultStoreLimits();
  private readonly channels = new Map<string, ChannelEntry>();
  private maxChannelId = 0;
  private maxSubId = 0;
  private lock: DbLock | undefined;
  private session: SessionLock | undefined;
  private sessionChecked = false;
  private readonly background = new Set<Promise<unknown>>();
  private serial: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly db: Database,
    private readonly opts: SqlStoreOptions,
    private readonly log: Logger,
    private readonly timings: SqlStoreTimings,
  ) {}

  /** Connects, checks that every table and column exists, and reads the highest channel and subscription IDs. */
  static async open(opts: SqlStoreOptions, log?: Logger, timings: Partial<SqlStoreTimings> = {}): Promise<SqlStore> {
    const db = openDatabase(opts.driver, opts.source, { maxOpenConns: opts.maxOpenConns });
    const store = new SqlStore(db, opts, log ?? pino({ enabled: false }), { ...DEFAULT_SQL_TIMINGS, ...timings });
    try {
      await db.query('SELECT 1');
      await checkSchema(db);
      store.maxChannelId = num((await db.query(SQL.maxChannelId))[0]?.[0]);
      store.maxSubId = num((await db.query(SQL.maxSubId))[0]?.[0]);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return store;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Exclusive lock (fault tolerance)

  async getExclusiveLock(): Promise<boolean> {
    if (this.closed) return false;
    if (!this.lock) {
      const base = lockId();
      this.lock = { base, id: base, isOwner: false, lost: false, failed: 0, busy: Promise.resolve() };
    }
    const lock = this.lock;
    if (lock.isOwner) return true;
    if (!this.sessionChecked) {
      this.sessionChecked = true;
      this.session = this.db.sessionLock?.();
    }
    const session = this.session;
    let viaSession = false;
    if (session) {
      try {
        // Someone else's session holds it: an owner of ours, alive or frozen, or a standby trying: not our turn.
        if (!(await session.tryAcquire())) return false;
        viaSession = true;
      } catch (err) {
        this.log.warn({ err }, 'cannot use the database session lock; falling back to the StoreLock tick protocol');
      }
    }
    lock.id = viaSession ? SESSION_LOCK_PREFIX + lock.base : lock.base;
    let hasLock = false;
    try {
      hasLock = await this.takeDbLock(viaSession);
    } finally {
      if (!(hasLock && !this.closed) && viaSession) await session!.release().catch(() => undefined);
    }
    if (hasLock && viaSession && !session!.held) {
      // The lock's connection died while we took the row: a prefixed id without the session lock would let the next
      // standby in at once, so give the row back and try again later.
      await this.db.exec(SQL.lockUpdateIfOwner, ['', 0, lock.id]).catch(() => undefined);
      hasLock = false;
    }
    if (hasLock && !this.closed) {
      lock.isOwner = true;
      lock.lost = false;
      lock.failed = 0;
      if (viaSession) session!.onLost = (err) => this.lockLost(`lost the database session lock: ${err.message}`);
      this.scheduleLockUpdate();
    }
    return hasLock;
  }

  /** The row part: take it if free or ours; with the session lock, at once from a gone owner; else the Go way. */
  private async takeDbLock(viaSession: boolean): Promise<boolean> {
    let [hasLock, id, tick] = await this.acquireDbLock(false, viaSession);
    if (hasLock) return true;
    // Someone holds it: if its tick does not move for lockLostCount checks, take it over.
    const prevId = id;
    let prevTick = tick;
    for (let i = 0; i < this.timings.lockLostCount; i++) {
      await new Promise((r) => setTimeout(r, 1.5 * this.timings.lockUpdateInterval));
      if (this.closed) return false;
      [hasLock, id, tick] = await this.acquireDbLock(false, viaSession);
      if (hasLock) return true;
      if (id !== prevId || tick !== prevTick) return false;
      prevTick = tick;
    }
    [hasLock] = await this.acquireDbLock(true, viaSession);
    return hasLock;
  }

  /**
   * One round of the lock protocol: [got it, owner's id, owner's tick] as read before any update. `sessionHeld`: we
   * hold the session lock, so a prefixed owner is gone and its row is ours to take.
   */
  private acquireDbLock(steal: boolean, sessionHeld = false): Promise<[boolean, string, number]> {
    const lock = this.lock!;
    const run = lock.busy.then(() =>
      this.db.transaction(async (tx): Promise<[boolean, string, number]> => {
        const rows = await tx.query(SQL.lockSelect);
        const row = rows[0];
        const id = row ? String(row[0] ?? '') : '';
        let tick = row ? num(row[1]) : 0;
        const goneOwner = sessionHeld && id.startsWith(SESSION_LOCK_PREFIX);
        if (!row || steal || goneOwner || id === '' || id === lock.id) {
          if (steal || goneOwner) tick = 0;
          await tx.exec(row ? SQL.lockUpdate : SQL.lockInsert, [lock.id, tick + 1]);
          if (goneOwner && id !== lock.id) this.log.info({ previous: id }, 'took the store lock at once: the previous owner\'s database session is gone');
          return [true, id, tick];
        }
        return [false, id, tick];
      }),
    );
    lock.busy = run.catch(() => undefined);
    return run;
  }

  private scheduleLockUpdate(): void {
    const lock = this.lock;
    if (!lock || this.closed) return;
    lock.timer = setTimeout(() => {
      lock.timer = undefined;
      void this.updateDbLock();
    }, this.timings.lockUpdateInterval);
    lock.timer.unref();
  }

  private async updateDbLock(): Promise<void> {
    const lock = this.lock!;
    let hasLock = false;
    let err: unknown;
    try {
      [hasLock] = await this.acquireDbLock(false);
    } catch (e) {
      err = e;
    }
    if (this.closed || lock.lost) return;
    if (hasLock) {
      lock.failed = 0;
      this.scheduleLockUpdate();
      return;
    }
    if (err !== undefined) {
      lock.failed++;
      this.log.error({ err, failed: lock.failed }, 'Unable to update store lock');
      if (lock.failed < this.timings.lockLostCount) {
        this.scheduleLockUpdate();
        return;
      }
    }
    this.lockLost(err === undefined ? 'another server took the store lock' : `cannot update the store lock (${lock.failed} failures): ${(err as Error).message}`);
  }

  private lockLost(reason: string): void {
    const lock = this.lock;
    if (!lock || !lock.isOwner || lock.lost || this.closed) return;
    lock.lost = true;
    lock.isOwner = false;
    clearTimeout(lock.timer);
    this.log.error(reason);
    this.onFatal?.(new ErrStoreLockLost(reason));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Server info, recovery

  async init(info: ServerInfo): Promise<void> {
    this.checkOpen();
    const proto = spb.ServerInfo.encode(info);
    const [[count] = [0]] = await this.db.query(SQL.hasServerInfo);
    if (num(count) === 0) await this.db.exec(SQL.addServerInfo, [info.ClusterID, proto, SQL_VERSION]);
    else await this.db.exec(SQL.updateServerInfo, [info.ClusterID, proto, SQL_VERSION]);
  }

  async recover(): Promise<RecoveredState | undefined> {
    this.checkOpen();
    const infoRows = await this.db.query(SQL.recoverServerInfo);
    if (infoRows.length === 0) {
      const [[maxId] = [0]] = await this.db.query(SQL.maxChannelId);
      if (num(maxId) > 0) throw new ErrNoSrvButChannels();
      return undefined;
    }
    const [clusterId, protoRaw, versionRaw] = infoRows[0]!;
    const version = num(versionRaw);
    if (version !== SQL_VERSION) throw new StoreError(`sql: unsupported version: ${version} (supports [1..${SQL_VERSION}])`);
    const info = spb.ServerInfo.decode(bytesOf(protoRaw) ?? new Uint8Array(0));
    if (info.ClusterID !== String(clusterId)) {
      throw new StoreError(`sql: id "${String(clusterId)}" in column does not match cluster ID in data "${info.ClusterID}"`);
    }

    const clients: ClientInfo[] = [];
    for (const [id, hbInbox, proto] of await this.db.query(SQL.recoverClients)) {
      const bytes = bytesOf(proto);
      if (!bytes || bytes.length === 0) {
        clients.push({ ID: String(id), HbInbox: String(hbInbox ?? ''), ConnID: new Uint8Array(0), Protocol: 0, PingInterval: 0, PingMaxOut: 0 });
      } else clients.push(spb.ClientInfo.decode(bytes));
    }

    const channels = new Map<string, RecoveredChannel>();
    this.maxChannelId = num((await this.db.query(SQL.maxChannelId))[0]?.[0]);
    if (this.maxChannelId === 0) return { info, clients, channels };
    this.maxSubId = num((await this.db.query(SQL.maxSubId))[0]?.[0]);

    for (const [idRaw, nameRaw, maxSeqRaw] of await this.db.query(SQL.channelsList)) {
      const cid = num(idRaw);
      const name = String(nameRaw);
      const storedMaxSeq = num(maxSeqRaw);
      const limits = this.getChannelLimits(name);
      // The last sequence before limits remove anything; any higher sequence a subscription saw counts too.
      const [[lastRaw] = [0]] = await this.db.query(SQL.lastSeq, [cid]);
      let maxSeq = Math.max(storedMaxSeq, num(lastRaw));
      await this.applyLimitsOnRecovery(cid, limits, maxSeq, storedMaxSeq);
      const [[countRaw, firstRaw, dbLastRaw, bytesRaw] = [0, 0, 0, 0]] = await this.db.query(SQL.channelMsgs, [cid]);
      const count = num(countRaw);
      const first = num(firstRaw);

      const entry = this.newChannelEntry(name, cid, limits);
      entry.subs.purgeDeletedOnNextCreate();
      const subscriptions: RecoveredSubscription[] = [];
      for (const [lastSentRaw, protoRaw] of await this.db.query(SQL.channelSubs, [cid])) {
        const lastSent = num(lastSentRaw);
        const bytes = bytesOf(protoRaw);
        if (!bytes) {
          if (lastSent > maxSeq) maxSeq = lastSent;
          continue;
        }
        const sub: SubState = spb.SubState.decode(bytes);
        if (lastSent > sub.lastSent) sub.lastSent = lastSent;
        const pending = await entry.subs.recoverSubscription(sub, first);
        if (sub.lastSent > maxSeq) maxSeq = sub.lastSent;
        subscriptions.push({ sub, pending });
      }
      await entry.msgs.initRecovered(count, first, num(dbLastRaw), num(bytesRaw), maxSeq);
      this.channels.set(name, entry);
      channels.set(name, { channel: entry.channel, subscriptions });
    }
    return { info, clients, channels };
  }

  /**
   * Applies the current limits to a channel's stored messages at start, as the Go store does: max_age always, and
   * max_msgs/max_bytes when they are lower than the ones stored with the channel. Then stores the current limits.
   */
  private async applyLimitsOnRecovery(cid: number, limits: ChannelLimits, lastSeq: number, storedMaxSeq: number): Promise<void> {
    const cur = storedLimits(limits);
    const [[smRaw, sbRaw, saRaw] = [0, 0, 0]] = await this.db.query(SQL.channelLimits, [cid]);
    const storedMsgs = num(smRaw);
    const storedBytes = num(sbRaw);
    const storedAge = big(saRaw);
    const needUpdate = storedMsgs !== cur.maxMsgs || storedBytes !== cur.maxBytes || storedAge !== cur.maxAgeNs;
    let removed = false;
    if (cur.maxAgeNs > 0n) {
      removed = (await this.db.exec(SQL.expireMsgsAt, [cid, nowNs() - cur.maxAgeNs])) > 0;
    }
    if (cur.maxMsgs > 0 && cur.maxMsgs < storedMsgs) {
      const [[countRaw] = [0]] = await this.db.query(SQL.msgCount, [cid]);
      const count = num(countRaw);
      if (count > 1 && count > cur.maxMsgs) {
        const [[floor] = [0]] = await this.db.query(SQL.seqFloorForMaxMsgs, [cid, cur.maxMsgs]);
        await this.db.exec(SQL.deleteMsgsUpTo, [cid, num(floor) - 1]);
      }
    }
    if (cur.maxBytes > 0 && cur.maxBytes < storedBytes) {
      const [[totalRaw] = [0]] = await this.db.query(SQL.totalSize, [cid]);
      if (num(totalRaw) > cur.maxBytes) {
        // The lowest sequence from which the newest messages fit in max_bytes; at least the newest one is kept.
        let floor = 0;
        let total = 0;
        let before = Number.MAX_SAFE_INTEGER;
        scan: for (;;) {
          const rows = await this.db.query(SQL.newestSizes, [cid, before, DEEP_DELETE_BATCH]);
          for (const [seqRaw, sizeRaw] of rows) {
            total += num(sizeRaw);
            if (total > cur.maxBytes) break scan;
            floor = num(seqRaw);
          }
          if (rows.length < DEEP_DELETE_BATCH) break;
          before = num(rows[rows.length - 1]![0]);
        }
        if (floor === 0) floor = num((await this.db.query(SQL.lastSeq, [cid]))[0]?.[0]);
        if (floor > 1) await this.db.exec(SQL.deleteMsgsUpTo, [cid, floor - 1]);
      }
    }
    if (removed && lastSeq > storedMaxSeq) {
      // Expiration may have removed every message: keep the sequence in the channel row (the Go store loses it).
      const [[left] = [0]] = await this.db.query(SQL.msgCount, [cid]);
      if (num(left) === 0) await this.db.exec(SQL.updateChannelMaxSeq, [lastSeq, cid]);
    }
    if (needUpdate) await this.db.exec(SQL.updateChannelLimits, [cur.maxMsgs, cur.maxBytes, cur.maxAgeNs, cid]);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Limits, channels, clients

  setLimits(limits: StoreLimits): void {
    this.limits = limits;
  }

  getChannelLimits(name: string): ChannelLimits {
    return channelLimitsFor(this.limits, name);
  }

  private newChannelEntry(name: string, id: number, limits: ChannelLimits): ChannelEntry {
    const msgs = new SqlMsgStore(name, id, this.db, limits, { noCaching: this.opts.noCaching, bulkInsertLimit: this.opts.bulkInsertLimit }, this.log);
    const subs = new SqlSubStore(id, limits, {
      db: this.db,
      log: this.log,
      noCaching: this.opts.noCaching,
      subFlushIntervalMs: this.timings.subFlushInterval,
      nextSubId: () => ++this.maxSubId,
      maxSubId: () => this.maxSubId,
    });
    return { id, msgs, subs, channel: { name, msgs, subs } };
  }

  createChannel(name: string): Promise<Channel> {
    return this.enqueue(async () => {
      this.checkOpen();
      if (this.channels.has(name)) throw new ErrAlreadyExists(`channel ${name}`);
      if (isLimited(this.limits.maxChannels) && this.channels.size >= this.limits.maxChannels) throw new ErrTooManyChannels();
      const limits = this.getChannelLimits(name);
      const stored = storedLimits(limits);
      const id = this.maxChannelId + 1;
      await this.db.exec(SQL.addChannel, [id, name, stored.maxMsgs, stored.maxBytes, stored.maxAgeNs]);
      this.maxChannelId = id;
      const entry = this.newChannelEntry(name, id, limits);
      this.channels.set(name, entry);
      return entry.channel;
    });
  }

  deleteChannel(name: string): Promise<void> {
    return this.enqueue(() => this.doDeleteChannel(name));
  }

  /** Channel creations and deletions, one at a time (they allocate IDs and check limits). */
  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.serial.then(op, op);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async doDeleteChannel(name: string): Promise<void> {
    this.checkOpen();
    const entry = this.channels.get(name);
    if (!entry) throw new ErrNotFound(`channel ${name}`);
    // Marking the row is enough for the channel to be gone; the rows that reference it are deleted in the background.
    await this.db.exec(SQL.markChannelDeleted, [entry.id]);
    this.channels.delete(name);
    await entry.msgs.abandon();
    await entry.subs.abandon();
    const work = this.deepChannelDelete(entry.id).catch((err: unknown) =>
      this.log.error({ err, channel: name }, `Unable to completely delete channel "${name}"`),
    );
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  private async deepChannelDelete(cid: number): Promise<void> {
    for (;;) {
      const subIds = await this.db.query(SQL.channelSubIdsWithPending, [cid, DEEP_DELETE_BATCH]);
      for (const [subId] of subIds) await this.db.exec(SQL.deleteSubPending, [num(subId)]);
      if (subIds.length < DEEP_DELETE_BATCH) break;
    }
    for (;;) {
      const [[maxSeq] = [0]] = await this.db.query(SQL.someMsgsSeq, [cid, DEEP_DELETE_BATCH]);
      if (num(maxSeq) === 0) break;
      await this.db.exec(SQL.deleteMsgsUpTo, [cid, num(maxSeq)]);
    }
    await this.db.exec(SQL.deleteChannelSubs, [cid]);
    await this.db.exec(SQL.deleteChannel, [cid]);
  }

  async addClient(info: ClientInfo): Promise<void> {
    this.checkOpen();
    const proto = spb.ClientInfo.encode(info);
    try {
      await this.db.exec(SQL.addClient, [info.ID, info.HbInbox, proto]);
    } catch {
      // Most likely already there (a client that reconnects with the same ID): replace it.
      await this.db.transaction(async (tx: Executor) => {
        await tx.exec(SQL.deleteClient, [info.ID]);
        await tx.exec(SQL.addClient, [info.ID, info.HbInbox, proto]);
      });
    }
  }

  async deleteClient(clientId: string): Promise<void> {
    this.checkOpen();
    await this.db.exec(SQL.deleteClient, [clientId]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    let firstErr: unknown;
    for (const entry of this.channels.values()) {
      await entry.msgs.close().catch((err: unknown) => (firstErr ??= err));
      await entry.subs.close().catch((err: unknown) => (firstErr ??= err));
    }
    this.channels.clear();
    this.closed = true;
    await Promise.allSettled([...this.background]);
    const lock = this.lock;
    if (lock) {
      clearTimeout(lock.timer);
      await lock.busy;
      if (lock.isOwner) {
        // Release at once so that a standby does not have to wait for the tick to stop.
        await this.db.exec(SQL.lockUpdate, ['', 0]).catch((err: unknown) => this.log.error({ err }, 'cannot release the store lock'));
        lock.isOwner = false;
      }
    }
    if (this.session) {
      // After the row: closing the session frees the session lock, which lets a standby in.
      this.session.onLost = undefined;
      await this.session.close();
    }
    await this.db.close().catch((err: unknown) => (firstErr ??= err));
    if (firstErr !== undefined) throw firstErr;
  }

  private checkOpen(): void {
    if (this.closed) throw new ErrClosed();
  }
}
