import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { SqlStoreOptions } from '../../config/options.js';
import type { Logger } from '../../log.js';
import { spb, type ClientInfo, type ServerInfo, type SubState } from '../../proto/codec.js';
import { ErrAlreadyExists, ErrClosed, ErrNotFound, ErrTooManyChannels, StoreError } from '../errors.js';
import { type ChannelLimits, type StoreLimits, channelLimitsFor, defaultStoreLimits, isLimited } from '../limits.js';
import type { Channel, RecoveredChannel, RecoveredState, RecoveredSubscription, Store } from '../store.js';
import { openDatabase, type Database, type Executor } from './db.js';
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
  id: string;
  isOwner: boolean;
  timer?: NodeJS.Timeout;
  failed: number;
  busy: Promise<unknown>;
}

const NS_PER_MS = 1_000_000n;
const DEEP_DELETE_BATCH = 1000;
const NUID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

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
    this.lock ??= { id: lockId(), isOwner: false, failed: 0, busy: Promise.resolve() };
    const lock = this.lock;
    if (lock.isOwner) return true;
    let [hasLock, id, tick] = await this.acquireDbLock(false);
    if (!hasLock) {
      // Someone holds it: if its tick does not move for lockLostCount checks, take it over.
      const prevId = id;
      let prevTick = tick;
      for (let i = 0; i < this.timings.lockLostCount; i++) {
        await new Promise((r) => setTimeout(r, 1.5 * this.timings.lockUpdateInterval));
        if (this.closed) return false;
        [hasLock, id, tick] = await this.acquireDbLock(false);
        if (hasLock) break;
        if (id !== prevId || tick !== prevTick) return false;
        prevTick = tick;
      }
      if (!hasLock) [hasLock] = await this.acquireDbLock(true);
    }
    if (hasLock && !this.closed) {
      lock.isOwner = true;
      lock.failed = 0;
      this.scheduleLockUpdate();
    }
    return hasLock;
  }

  /** One round of the lock protocol: [got it, owner's id, owner's tick] as read before any update. */
  private acquireDbLock(steal: boolean): Promise<[boolean, string, number]> {
    const lock = this.lock!;
    const run = lock.busy.then(() =>
      this.db.transaction(async (tx): Promise<[boolean, string, number]> => {
        const rows = await tx.query(SQL.lockSelect);
        const row = rows[0];
        const id = row ? String(row[0] ?? '') : '';
        let tick = row ? num(row[1]) : 0;
        if (!row || steal || id === '' || id === lock.id) {
          if (steal) tick = 0;
          await tx.exec(row ? SQL.lockUpdate : SQL.lockInsert, [lock.id, tick + 1]);
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
    if (this.closed) return;
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
    lock.isOwner = false;
    const reason = err === undefined ? 'another server took the store lock' : `cannot update the store lock (${lock.failed} failures): ${(err as Error).message}`;
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
    await this.db.close().catch((err: unknown) => (firstErr ??= err));
    if (firstErr !== undefined) throw firstErr;
  }

  private checkOpen(): void {
    if (this.closed) throw new ErrClosed();
  }
}
