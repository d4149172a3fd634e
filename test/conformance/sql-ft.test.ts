import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mysqlSchema, startMariaDb, type MariaDbServer } from '../helpers/mariadb.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { postgresSchema, startPostgres, type PgServer } from '../helpers/postgres.js';
import { closeStan, connectStan, sleep, subscribe, until } from '../helpers/stan-client.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';

/**
 * Fault tolerance on the SQL store: the StoreLock row decides which server is active, together with a database session
 * lock (advisory lock / GET_LOCK) its owner holds on a connection of its own. A standby takes over at once when the
 * active's session ends (killed), never while it lives (frozen); the tick protocol alone is covered in
 * sql-behaviour.test.ts (Go-owned rows) and only applies when the session lock cannot be used.
 */

const CLUSTER = 'sql-ft';
const STANDBY = /starting in standby mode/;

async function isActive(server: StanProcess): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/streaming/isFTActive`);
  return res.status === 200;
}

function publishUntilAcked(sc: any, subject: string, payload: string): Promise<void> {
  return new Promise((resolve) => {
    const attempt = () => sc.publish(subject, payload, (err: unknown) => (err ? setTimeout(attempt, 50) : resolve()));
    attempt();
  });
}

interface Backend {
  kind: 'postgres' | 'mysql';
  start(): Promise<string>;
  stop(): Promise<void>;
  /** Stops the database under the servers and starts it again on the same data. */
  restart?(): Promise<void>;
}

const backends: Backend[] = [
  (() => {
    let s: PgServer;
    return {
      kind: 'postgres' as const,
      async start() {
        s = await startPostgres();
        const db = await s.createDatabase();
        await s.exec(db, postgresSchema());
        return s.dsn(db, 'readTimeout=5s writeTimeout=5s');
      },
      stop: () => s.stop(),
      restart: () => s.restart(),
    };
  })(),
  (() => {
    let s: MariaDbServer;
    return {
      kind: 'mysql' as const,
      async start() {
        s = await startMariaDb();
        const db = await s.createDatabase();
        await s.exec(db, mysqlSchema());
        return s.dsn(db, 'readTimeout=5s&writeTimeout=5s');
      },
      stop: () => s.stop(),
    };
  })(),
];

for (const backend of backends) {
  describe(`fault tolerance on the ${backend.kind} SQL store`, () => {
    let nats: NatsServer;
    let dsn: string;
    const servers: StanProcess[] = [];
    const args = () => ['-st', 'SQL', '--sql_driver', backend.kind, '--sql_source', dsn, '--ft_group', 'grp'];

    before(async () => {
      nats = await startNatsServer();
      dsn = await backend.start();
    });
    after(async () => {
      for (const s of servers) await s.stop('SIGKILL');
      await nats?.stop();
      await backend.stop();
    });

    it('fails over when the active is killed, without losing an acked message', { timeout: 120_000 }, async () => {
      const a = await startStanServer(nats.url, args(), CLUSTER);
      servers.push(a);
      const b = await startStanServer(nats.url, args(), CLUSTER, [], STANDBY);
      servers.push(b);
      await sleep(500);
      assert.equal(await isActive(a), true);
      assert.equal(await isActive(b), false);
      const pub = await connectStan(CLUSTER, 'ft-pub', nats.url, { ackTimeout: 1000 });
      const acked: string[] = [];
      for (let i = 1; i <= 100; i++) {
        if (i === 50) await a.stop('SIGKILL');
        await publishUntilAcked(pub, 'ft.orders', `o${i}`);
        acked.push(`o${i}`);
      }
      await b.proc.waitFor(/Streaming Server is ready/);
      assert.equal(await isActive(b), true);
      const reader = await connectStan(CLUSTER, 'ft-reader', nats.url);
      const { got } = await subscribe(reader, 'ft.orders', undefined, reader.subscriptionOptions().setDeliverAllAvailable());
      await until(() => new Set(got.map((m) => m.data)).size >= 100, 20_000, 'every acked message');
      const stored = new Set(got.map((m) => m.data));
      for (const p of acked) assert.ok(stored.has(p), `acked ${p} is not stored`);
      await closeStan(reader);
      await closeStan(pub);
    });

    it('never lets a second server become active while the active is frozen (its database session still holds the lock)', { timeout: 120_000 }, async () => {
      const active = servers.find((s) => s.proc.child.exitCode === null && s.proc.child.signalCode === null)!;
      assert.ok(active && (await isActive(active)));
      const standby = await startStanServer(nats.url, args(), CLUSTER, [], STANDBY);
      servers.push(standby);
      active.proc.child.kill('SIGSTOP');
      try {
        // Well past the Go tick protocol's takeover time (3 checks 1.5 s apart after the heartbeats stop).
        await sleep(9000);
        assert.doesNotMatch(standby.proc.output(), /Streaming Server is ready|got the store lock/);
        assert.equal(await isActive(standby), false);
      } finally {
        active.proc.child.kill('SIGCONT');
      }
      await sleep(2000);
      assert.equal(active.proc.child.exitCode, null, 'the resumed active keeps running');
      assert.equal(await isActive(active), true);
      assert.equal(await isActive(standby), false);
    });

    it('lets the standby take the store lock at once when the active is killed (its database session ends)', { timeout: 120_000 }, async () => {
      const live = servers.filter((s) => s.proc.child.exitCode === null && s.proc.child.signalCode === null);
      const active = live.find((s) => /Streaming Server is ready/.test(s.proc.output()))!;
      const standby = live.find((s) => s !== active)!;
      assert.ok(active && standby && (await isActive(active)));
      const pub = await connectStan(CLUSTER, 'ft-pub-2', nats.url, { ackTimeout: 1000 });
      await publishUntilAcked(pub, 'ft.kill', 'before');
      await active.stop('SIGKILL');
      await standby.proc.waitFor(/Streaming Server is ready/, 60_000);
      // Taken through the session lock, not after the tick stopped moving.
      assert.match(standby.proc.output(), /previous owner's database session is gone/);
      assert.equal(await isActive(standby), true);
      await publishUntilAcked(pub, 'ft.kill', 'after');
      const reader = await connectStan(CLUSTER, 'ft-reader-2', nats.url);
      const { got } = await subscribe(reader, 'ft.kill', undefined, reader.subscriptionOptions().setDeliverAllAvailable());
      await until(() => got.length >= 2, 20_000, 'both messages');
      assert.deepEqual(new Set(got.map((m) => m.data)), new Set(['before', 'after']));
      await closeStan(reader);
      await closeStan(pub);
    });

    if (backend.restart) {
      it('serves again, with every acked message, after the database restarts under the active server', { timeout: 120_000 }, async () => {
        const running = servers.filter((srv) => srv.proc.child.exitCode === null && srv.proc.child.signalCode === null);
        if (running.length === 0) servers.push(await startStanServer(nats.url, args(), CLUSTER));
        if (running.length < 2) servers.push(await startStanServer(nats.url, args(), CLUSTER, [], STANDBY));
        const pub = await connectStan(CLUSTER, 'ft-db-restart', nats.url, { ackTimeout: 1000 });
        const acked: string[] = [];
        for (let i = 1; i <= 20; i++) {
          await publishUntilAcked(pub, 'ft.restart', `r${i}`);
          acked.push(`r${i}`);
        }
        await backend.restart!();
        await publishUntilAcked(pub, 'ft.restart', 'after');
        acked.push('after');
        const alive = servers.filter((srv) => srv.proc.child.exitCode === null && srv.proc.child.signalCode === null);
        const actives = [];
        for (const srv of alive) if (await isActive(srv)) actives.push(srv);
        assert.equal(actives.length, 1, 'exactly one active server after the database restart');
        const reader = await connectStan(CLUSTER, 'ft-db-reader', nats.url);
        const { got } = await subscribe(reader, 'ft.restart', undefined, reader.subscriptionOptions().setDeliverAllAvailable());
        await until(() => new Set(got.map((m) => m.data)).size >= acked.length, 20_000, 'every acked message');
        const stored = new Set(got.map((m) => m.data));
        for (const p of acked) assert.ok(stored.has(p), `acked ${p} is not stored`);
        await closeStan(reader);
        await closeStan(pub);
      });
    }
  });
}
