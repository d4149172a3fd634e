import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { pb, spb, type MsgProto, type ServerInfo } from '../../src/proto/codec.js';
import { defaultStoreLimits } from '../../src/stores/limits.js';
import { SqlStore, type SqlStoreTimings } from '../../src/stores/sql/sqlstore.js';
import { mysqlSchema, startMariaDb, type MariaDbServer } from '../helpers/mariadb.js';
import { postgresSchema, startPostgres, type PgServer } from '../helpers/postgres.js';
import { subState } from './suite.js';

/**
 * What the SQL store must do beyond the store conformance suite, against real PostgreSQL and MariaDB servers: refuse
 * to start on a missing table or column, bound statements with readTimeout, fail and recover when the database
 * fails, write rows in the Go store's formats, the StoreLock protocol, and the Go options.
 */

interface Backend {
  kind: 'postgres' | 'mysql';
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A new database with the deploy/sql tables. */
  newDb(): Promise<string>;
  /** A DSN in the user's format, with read/write timeouts when `timeout` is given (a Go duration). */
  dsn(db: string, timeout?: string): string;
  query(db: string, sql: string, params?: unknown[]): Promise<unknown[][]>;
  exec(db: string, sql: string): Promise<void>;
  pause(): Promise<void>;
  resume(): void;
  /** Closes every connection other clients have to `db`, as a database restart would. */
  killConnections(db: string): Promise<void>;
  /** Column types of the blob columns. */
  blobType: string;
}

function pgBackend(): Backend {
  let s: PgServer;
  return {
    kind: 'postgres',
    blobType: 'BYTEA',
    async start() {
      s = await startPostgres();
    },
    stop: () => s.stop(),
    async newDb() {
      const db = await s.createDatabase();
      await s.exec(db, postgresSchema());
      return db;
    },
    dsn: (db, timeout) => s.dsn(db, timeout ? `readTimeout=${timeout} writeTimeout=${timeout}` : ''),
    query: (db, sql, params) => s.query(db, sql, params),
    exec: (db, sql) => s.exec(db, sql),
    pause: () => s.pause(),
    resume: () => s.resume(),
    async killConnections(db) {
      // With a timeout, pg_terminate_backend waits until the session is gone (and so its advisory locks are free).
      await s.query('postgres', 'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db]);
    },
  };
}

function mysqlBackend(): Backend {
  let s: MariaDbServer;
  return {
    kind: 'mysql',
    blobType: 'BLOB',
    async start() {
      s = await startMariaDb();
    },
    stop: () => s.stop(),
    async newDb() {
      const db = await s.createDatabase();
      await s.exec(db, mysqlSchema());
      return db;
    },
    dsn: (db, timeout) => s.dsn(db, timeout ? `readTimeout=${timeout}&writeTimeout=${timeout}` : ''),
    query: (db, sql, params) => s.query(db, sql, params),
    exec: (db, sql) => s.exec(db, sql),
    pause: () => s.pause(),
    resume: () => s.resume(),
    async killConnections(db) {
      const ids = await s.query(db, 'SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()', [db]);
      for (const [id] of ids) await s.exec(db, `KILL ${Number(id)}`).catch(() => undefined);
      // KILL only marks a session: wait until it is gone, and its GET_LOCK locks with it.
      const killed = ids.map(([id]) => Number(id));
      await eventually('the killed sessions to end', async () => {
        const left = await s.query(db, 'SELECT id FROM information_schema.processlist');
        return !left.some(([id]) => killed.includes(Number(id)));
      });
    },
  };
}

const info: ServerInfo = {
  ClusterID: 'sql-test',
  Discovery: '_STAN.discover.sql-test',
  Publish: '_STAN.pub.sql-test',
  Subscribe: '_STAN.sub.sql-test',
  Unsubscribe: '_STAN.unsub.sql-test',
  Close: '_STAN.close.sql-test',
  SubClose: '_STAN.subclose.sql-test',
  AcksSubs: '_STAN.ack.sql-test',
  NodeID: '',
};

function msg(seq: number, data = `msg-${seq}`, timestamp = BigInt(Date.now()) * 1_000_000n): MsgProto {
  return { sequence: seq, subject: 'foo', reply: '', data: Buffer.from(data), timestamp };
}

async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const fastLock: Partial<SqlStoreTimings> = { lockUpdateInterval: 100, lockLostCount: 3, subFlushInterval: 100 };

for (const backend of [pgBackend(), mysqlBackend()]) {
  const opened: SqlStore[] = [];
  const open = async (db: string, opts: { noCaching?: boolean; maxOpenConns?: number; bulkInsertLimit?: number; timeout?: string } = {}, timings: Partial<SqlStoreTimings> = {}) => {
    const store = await SqlStore.open(
      { driver: backend.kind, source: backend.dsn(db, opts.timeout), noCaching: opts.noCaching ?? false, maxOpenConns: opts.maxOpenConns ?? 0, bulkInsertLimit: opts.bulkInsertLimit ?? 0 },
      undefined,
      timings,
    );
    opened.push(store);
    return store;
  };

  describe(`SQL store on ${backend.kind}`, () => {
    before(() => backend.start());
    after(() => backend.stop());
    // A test that fails half-way leaves its stores open; their pools and timers would keep the test run from ending.
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close().catch(() => undefined);
    });

    it('refuses to start without the Clients.proto column, giving the 0.10.0 upgrade statement', async () => {
      const db = await backend.newDb();
      await backend.exec(db, 'ALTER TABLE Clients DROP COLUMN proto');
      await assert.rejects(open(db), (err: Error) => {
        assert.match(err.message, /Clients\.proto/);
        assert.ok(err.message.includes(`ALTER TABLE Clients ADD proto ${backend.blobType};`), err.message);
        return true;
      });
      await backend.exec(db, `ALTER TABLE Clients ADD proto ${backend.blobType}`);
      const store = await open(db);
      await store.close();
    });

    it('refuses to start without a table, naming it and the statement that creates it', async () => {
      const db = await backend.newDb();
      await backend.exec(db, 'DROP TABLE SubsPending');
      await assert.rejects(open(db), (err: Error) => {
        assert.match(err.message, /table SubsPending does not exist/);
        assert.match(err.message, /CREATE TABLE IF NOT EXISTS SubsPending \(/);
        return true;
      });
    });

    it('refuses an unknown driver and a DSN it cannot parse', async () => {
      await assert.rejects(SqlStore.open({ driver: 'oracle', source: 'x', noCaching: false, maxOpenConns: 0, bulkInsertLimit: 0 }), /unknown driver "oracle"/);
      const bad = backend.kind === 'postgres' ? 'host=127.0.0.1 readTimeout=soon' : 'u:p@tcp(127.0.0.1:1)/db?readTimeout=soon';
      await assert.rejects(SqlStore.open({ driver: backend.kind, source: bad, noCaching: false, maxOpenConns: 0, bulkInsertLimit: 0 }), /invalid duration/);
    });

    it('writes rows in the Go store formats', async () => {
      const db = await backend.newDb();
      const store = await open(db);
      await store.init(info);
      const limits = defaultStoreLimits();
      limits.perChannel.set('foo', { maxMsgs: 50, maxAge: 3_600_000 });
      store.setLimits(limits);
      await store.addClient({ ID: 'c1', HbInbox: '_INBOX.hb', ConnID: Buffer.from('conn'), Protocol: 1, PingInterval: 5, PingMaxOut: 3 });
      const { msgs, subs } = await store.createChannel('foo');
      const m1 = msg(1, 'hello');
      msgs.store(m1);
      await msgs.flush();
      const a = subState({ durableName: 'dur', isDurable: true });
      await subs.createSub(a);
      subs.addSeqPending(a.ID, 1);
      await subs.flush();

      const [[id, proto, version]] = (await backend.query(db, 'SELECT id, proto, version FROM ServerInfo WHERE uniquerow=1')) as [[string, Buffer, number]];
      assert.equal(id, 'sql-test');
      assert.equal(Number(version), 1);
      assert.deepEqual(spb.ServerInfo.decode(proto), info);
      const [[cid, hb, cproto]] = (await backend.query(db, 'SELECT id, hbinbox, proto FROM Clients')) as [[string, string, Buffer]];
      assert.equal(cid, 'c1');
      assert.equal(hb, '_INBOX.hb');
      assert.equal(spb.ClientInfo.decode(cproto).PingMaxOut, 3);
      const [[chId, name, maxseq, maxmsgs, maxbytes, maxage, deleted]] = await backend.query(db, 'SELECT id, name, maxseq, maxmsgs, maxbytes, maxage, deleted FROM Channels');
      assert.deepEqual([Number(chId), name, Number(maxseq), Number(maxmsgs), Number(maxbytes), String(maxage), Number(deleted)], [1, 'foo', 0, 50, 1_024_000_000, '3600000000000', 0]);
      const [[mid, seq, ts, size, data]] = (await backend.query(db, 'SELECT id, seq, timestamp, size, data FROM Messages')) as [[number, string, string, number, Buffer]];
      assert.equal(Number(mid), 1);
      assert.equal(Number(seq), 1);
      assert.equal(String(ts), m1.timestamp.toString());
      assert.equal(Number(size), data.length);
      assert.deepEqual(data, Buffer.from(pb.MsgProto.encode(m1)));
      assert.equal(msgs.state().bytes, data.length);
      const [[sid, subid, lastsent, sproto, sdel]] = (await backend.query(db, 'SELECT id, subid, lastsent, proto, deleted FROM Subscriptions')) as [[number, string, string, Buffer, unknown]];
      assert.deepEqual([Number(sid), Number(subid), Number(lastsent), Number(sdel)], [1, a.ID, 0, 0]);
      assert.equal(spb.SubState.decode(sproto).durableName, 'dur');
      const [[psub, pseq, plast, pending, acks]] = (await backend.query(db, 'SELECT subid, seq, lastsent, pending, acks FROM SubsPending')) as [[string, string, string, Buffer, Buffer | null]];
      assert.deepEqual([Number(psub), Number(pseq), Number(plast)], [a.ID, 0, 1]);
      assert.equal(pending.toString(), '[1]');
      assert.ok(acks === null || acks.length === 0);
      await store.close();
    });

    it('acks delete SubsPending rows whose sequences are all acknowledged, and keep the rest', async () => {
      const db = await backend.newDb();
      let store = await open(db);
      await store.init(info);
      const { msgs, subs } = await store.createChannel('foo');
      for (let i = 1; i <= 6; i++) msgs.store(msg(i));
      await msgs.flush();
      const a = subState({ durableName: 'dur', isDurable: true });
      await subs.createSub(a);
      for (const s of [1, 2, 3]) subs.addSeqPending(a.ID, s);
      await subs.flush();
      for (const s of [4, 5, 6]) subs.addSeqPending(a.ID, s);
      await subs.flush();
      assert.equal((await backend.query(db, 'SELECT subid FROM SubsPending')).length, 2);
      for (const s of [1, 2, 3]) subs.ackSeqPending(a.ID, s);
      subs.ackSeqPending(a.ID, 5);
      await subs.flush();
      // The first row is gone; the second stays with a row holding the ack of 5.
      const rows = await backend.query(db, 'SELECT pending, acks FROM SubsPending ORDER BY lastsent, pending');
      const texts = rows.map(([p, k]) => [p ? Buffer.from(p as Buffer).toString() : '', k ? Buffer.from(k as Buffer).toString() : '']);
      assert.ok(!texts.some(([p]) => p.includes('1')), JSON.stringify(texts));
      assert.ok(texts.some(([, k]) => k === '[5]'), JSON.stringify(texts));
      await store.close();
      store = await open(db);
      const state = await store.recover();
      const sub = state!.channels.get('foo')!.subscriptions[0]!;
      assert.deepEqual([...sub.pending].sort(), [4, 6]);
      assert.equal(sub.sub.lastSent, 6);
      await store.close();
    });

    it('soft-deletes the subscription with the highest ID so that IDs are not reused, and purges it later', async () => {
      const db = await backend.newDb();
      let store = await open(db);
      await store.init(info);
      const { subs } = await store.createChannel('foo');
      const a = subState();
      const b = subState();
      await subs.createSub(a);
      await subs.createSub(b);
      await subs.deleteSub(b.ID);
      const rows = await backend.query(db, 'SELECT subid, deleted FROM Subscriptions ORDER BY subid');
      assert.deepEqual(
        rows.map(([s, d]) => [Number(s), Number(d)]),
        [
          [a.ID, 0],
          [b.ID, 1],
        ],
      );
      await store.close();
      store = await open(db);
      const state = await store.recover();
      const foo = state!.channels.get('foo')!;
      assert.deepEqual(
        foo.subscriptions.map((s) => s.sub.ID),
        [a.ID],
      );
      const c = subState();
      await foo.channel.subs.createSub(c);
      assert.equal(c.ID, b.ID + 1);
      const after = await backend.query(db, 'SELECT subid FROM Subscriptions ORDER BY subid');
      assert.deepEqual(
        after.map(([s]) => Number(s)),
        [a.ID, c.ID],
      );
      await store.close();
    });

    it('without caching writes one SubsPending row per pending sequence and the last sent on acks', async () => {
      const db = await backend.newDb();
      let store = await open(db, { noCaching: true });
      await store.init(info);
      const { msgs, subs } = await store.createChannel('foo');
      for (let i = 1; i <= 4; i++) msgs.store(msg(i));
      await msgs.flush();
      const a = subState({ durableName: 'dur', isDurable: true });
      await subs.createSub(a);
      for (const s of [1, 2, 3, 4]) subs.addSeqPending(a.ID, s);
      subs.ackSeqPending(a.ID, 2);
      subs.ackSeqPending(a.ID, 4);
      await subs.flush();
      const rows = await backend.query(db, 'SELECT seq FROM SubsPending ORDER BY seq');
      assert.deepEqual(
        rows.map(([s]) => Number(s)),
        [1, 3],
      );
      const [[lastsent]] = await backend.query(db, 'SELECT lastsent FROM Subscriptions');
      assert.equal(Number(lastsent), 4);
      await store.close();
      // A caching run reads them, and acks one of them.
      store = await open(db);
      const state = await store.recover();
      const foo = state!.channels.get('foo')!;
      assert.deepEqual([...foo.subscriptions[0]!.pending].sort(), [1, 3]);
      foo.channel.subs.ackSeqPending(a.ID, 1);
      await foo.channel.subs.flush();
      await store.close();
      store = await open(db, { noCaching: true });
      const again = await store.recover();
      assert.deepEqual([...again!.channels.get('foo')!.subscriptions[0]!.pending], [3]);
      await store.close();
    });

    it('stores batches with --sql_bulk_insert_limit and with one connection (--sql_max_open_conns 1)', async () => {
      for (const opts of [{ bulkInsertLimit: 5 }, { maxOpenConns: 1 }, { maxOpenConns: 1, noCaching: true }]) {
        const db = await backend.newDb();
        let store = await open(db, opts);
        await store.init(info);
        const channels = await Promise.all(['a', 'b', 'c'].map((n) => store.createChannel(n)));
        for (const ch of channels) for (let i = 1; i <= 23; i++) ch.msgs.store(msg(i, `${ch.name}-${i}`));
        const lookups = channels.map((ch) => ch.msgs.lookup(7));
        await Promise.all(channels.map((ch) => ch.msgs.flush()));
        for (const m of await Promise.all(lookups)) assert.equal(m?.sequence, 7);
        await Promise.all(channels.map(async (ch) => assert.equal(Buffer.from((await ch.msgs.lookup(23))!.data).toString(), `${ch.name}-23`)));
        await store.close();
        store = await open(db, opts);
        const state = await store.recover();
        for (const n of ['a', 'b', 'c']) assert.deepEqual(state!.channels.get(n)!.channel.msgs.firstAndLastSequence(), [1, 23], JSON.stringify(opts));
        await store.close();
      }
    });

    it('applies lowered limits and max_age at recovery, keeping the sequence when every message expired', async () => {
      const db = await backend.newDb();
      let store = await open(db);
      await store.init(info);
      const old = BigInt(Date.now() - 3_600_000) * 1_000_000n;
      const a = await store.createChannel('a');
      const b = await store.createChannel('b');
      for (let i = 1; i <= 20; i++) a.msgs.store(msg(i, 'x'.repeat(10)));
      for (let i = 1; i <= 5; i++) b.msgs.store(msg(i, 'old', old));
      await Promise.all([a.msgs.flush(), b.msgs.flush()]);
      const one = a.msgs.state().bytes / 20;
      await store.close();
      store = await open(db);
      const limits = defaultStoreLimits();
      limits.perChannel.set('a', { maxMsgs: 10, maxBytes: Math.floor(one * 7.5) });
      limits.perChannel.set('b', { maxAge: 60_000 });
      store.setLimits(limits);
      const state = await store.recover();
      assert.deepEqual(state!.channels.get('a')!.channel.msgs.firstAndLastSequence(), [14, 20]);
      assert.equal(state!.channels.get('a')!.channel.msgs.state().msgs, 7);
      assert.deepEqual(state!.channels.get('b')!.channel.msgs.firstAndLastSequence(), [6, 5]);
      const [[maxmsgs, maxage]] = await backend.query(db, "SELECT maxmsgs, maxage FROM Channels WHERE name='b'");
      assert.deepEqual([Number(maxmsgs), String(maxage)], [1_000_000, '60000000000']);
      await store.close();
      store = await open(db);
      store.setLimits(limits);
      const again = await store.recover();
      assert.deepEqual(again!.channels.get('b')!.channel.msgs.firstAndLastSequence(), [6, 5]);
      await store.close();
    });

    it('refuses to recover channels without server info', async () => {
      const db = await backend.newDb();
      await backend.exec(db, "INSERT INTO Channels (id, name) VALUES (1, 'foo')");
      const store = await open(db);
      await assert.rejects(store.recover(), /no server state recovered but channels present/);
      await store.close();
    });

    it('bounds statements with readTimeout when the database stops answering, and works again once it is back', { timeout: 120_000 }, async () => {
      const db = await backend.newDb();
      let store = await open(db, { timeout: '1s' });
      await store.init(info);
      const { msgs, subs } = await store.createChannel('foo');
      msgs.store(msg(1));
      await msgs.flush();
      const a = subState({ durableName: 'dur', isDurable: true });
      await subs.createSub(a);
      subs.addSeqPending(a.ID, 1);
      await subs.flush();
      await backend.pause();
      try {
        msgs.store(msg(2));
        await assert.rejects(msgs.flush(), /timeout|timedout/i);
        subs.addSeqPending(a.ID, 2);
        await assert.rejects(subs.flush(), /timeout|timedout/i);
        await assert.rejects(msgs.lookup(1).then(() => store.addClient({ ID: 'c', HbInbox: 'x', ConnID: Buffer.alloc(0), Protocol: 1, PingInterval: 1, PingMaxOut: 1 })), /timeout|timedout/i);
      } finally {
        backend.resume();
      }
      assert.equal(msgs.state().msgs, 1);
      msgs.store(msg(3));
      await msgs.flush();
      subs.addSeqPending(a.ID, 3);
      await subs.flush();
      assert.equal(msgs.state().msgs, 2);
      assert.equal(Buffer.from((await msgs.lookup(3))!.data).toString(), 'msg-3');
      await store.close();
      store = await open(db);
      const state = await store.recover();
      const foo = state!.channels.get('foo')!;
      assert.deepEqual(foo.channel.msgs.firstAndLastSequence(), [1, 3]);
      assert.equal(await foo.channel.msgs.lookup(2), undefined);
      assert.deepEqual([...foo.subscriptions[0]!.pending].sort(), [1, 2, 3]);
      await store.close();
    });

    it('keeps working when the database drops its connections', async () => {
      const db = await backend.newDb();
      let store = await open(db);
      await store.init(info);
      const { msgs, subs } = await store.createChannel('foo');
      const a = subState();
      await subs.createSub(a);
      let seq = 0;
      const acked: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 5; i++) msgs.store(msg(++seq));
        await msgs.flush();
        acked.push(seq);
        subs.addSeqPending(a.ID, seq);
        await subs.flush();
        await backend.killConnections(db);
        // The next statements may fail on a dead connection; then they work again.
        msgs.store(msg(++seq));
        const ok = await msgs.flush().then(
          () => true,
          () => false,
        );
        if (ok) acked.push(seq);
        msgs.store(msg(++seq));
        await msgs.flush();
        acked.push(seq);
      }
      await store.close();
      store = await open(db);
      const state = await store.recover();
      const foo = state!.channels.get('foo')!;
      for (const s of acked) assert.equal((await foo.channel.msgs.lookup(s))?.sequence, s);
      assert.equal(foo.subscriptions[0]!.pending.size, 3);
      await store.close();
    });

    it('takes the store lock, bumps its tick, and hands it over when closed', async () => {
      const db = await backend.newDb();
      const a = await open(db, {}, fastLock);
      const b = await open(db, {}, fastLock);
      try {
        assert.equal(await a.getExclusiveLock(), true);
        assert.equal(await a.getExclusiveLock(), true);
        const [[owner, tick]] = await backend.query(db, 'SELECT id, tick FROM StoreLock');
        // Our ids are Go-like 22-character nuids, prefixed while the owner also holds the database session lock.
        assert.match(String(owner), /^ts-[0-9A-Za-z]{22}$/);
        await eventually('the tick to move', async () => Number((await backend.query(db, 'SELECT tick FROM StoreLock'))[0]![0]) > Number(tick));
        assert.equal(await b.getExclusiveLock(), false);
        await a.close();
        const [[released]] = await backend.query(db, 'SELECT id FROM StoreLock');
        assert.equal(released, '');
        assert.equal(await b.getExclusiveLock(), true);
        const [[newOwner]] = await backend.query(db, 'SELECT id FROM StoreLock');
        assert.notEqual(newOwner, owner);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('takes over a lock whose tick does not move', async () => {
      const db = await backend.newDb();
      await backend.exec(db, "INSERT INTO StoreLock (id, tick) VALUES ('crashed-server', 41)");
      const store = await open(db, {}, fastLock);
      try {
        assert.equal(await store.getExclusiveLock(), true);
        const [[owner, tick]] = await backend.query(db, 'SELECT id, tick FROM StoreLock');
        assert.notEqual(owner, 'crashed-server');
        assert.ok(Number(tick) < 41);
      } finally {
        await store.close();
      }
    });

    it('with the session lock, takes a gone owner\'s row at once, never one whose session lives, and a Go row only the Go way', async () => {
      const db = await backend.newDb();
      // Slow ticks: the Go protocol would need 3 x 1.5 s of a still tick before taking over.
      const slow: Partial<SqlStoreTimings> = { lockUpdateInterval: 1000, lockLostCount: 3, subFlushInterval: 100 };
      const a = await open(db, {}, slow);
      const b = await open(db, {}, slow);
      const c = await open(db, {}, slow);
      try {
        const fatal = new Promise<Error>((resolve) => (a.onFatal = resolve));
        assert.equal(await a.getExclusiveLock(), true);
        const [[owner]] = await backend.query(db, 'SELECT id FROM StoreLock');
        // a's session lives: b does not even look at the tick.
        let t0 = Date.now();
        assert.equal(await b.getExclusiveLock(), false);
        assert.ok(Date.now() - t0 < 1000, 'no tick protocol while the owner\'s session holds the lock');
        // Freeze the tick (as a frozen owner would) and make it look stale: still not taken while a's session lives.
        await backend.exec(db, `UPDATE StoreLock SET tick = 1 WHERE id = '${String(owner)}'`);
        assert.equal(await b.getExclusiveLock(), false);
        // a's session ends (as when its process dies): a learns it lost the lock, b takes the row at once.
        await backend.killConnections(db);
        assert.match((await fatal).message, /lost store lock/);
        t0 = Date.now();
        assert.equal(await b.getExclusiveLock(), true);
        assert.ok(Date.now() - t0 < 1000, 'taken at once, not after the tick protocol');
        const [[newOwner]] = await backend.query(db, 'SELECT id FROM StoreLock');
        assert.notEqual(newOwner, owner);
        await b.close();
        // A Go server's row (plain nuid, no session lock): only the tick protocol takes it.
        await backend.exec(db, "UPDATE StoreLock SET id = 'GoServerNuid1234567890', tick = 7");
        t0 = Date.now();
        assert.equal(await c.getExclusiveLock(), true);
        assert.ok(Date.now() - t0 >= 4000, 'a Go owner is only taken over once its tick stopped for the Go protocol\'s time');
      } finally {
        await a.close();
        await b.close();
        await c.close();
      }
    });

    it('reports the loss of the lock through onFatal when another server takes it or the table cannot be updated', async () => {
      const db = await backend.newDb();
      const store = await open(db, {}, fastLock);
      try {
        const fatal = new Promise<Error>((resolve) => (store.onFatal = resolve));
        assert.equal(await store.getExclusiveLock(), true);
        await backend.exec(db, "UPDATE StoreLock SET id='intruder'");
        assert.match((await fatal).message, /lost store lock/);
      } finally {
        await store.close();
      }
      const db2 = await backend.newDb();
      const store2 = await open(db2, {}, fastLock);
      try {
        const fatal = new Promise<Error>((resolve) => (store2.onFatal = resolve));
        assert.equal(await store2.getExclusiveLock(), true);
        await backend.exec(db2, 'DROP TABLE StoreLock');
        assert.match((await fatal).message, /lost store lock.*3 failures/);
      } finally {
        await store2.close();
      }
    });
  });
}
