import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mysqlSchema, startMariaDb, type MariaDbServer } from '../helpers/mariadb.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { postgresSchema, repoFile, startPostgres, type PgServer } from '../helpers/postgres.js';
import { closeStan, connectStan, publish, subscribe, until } from '../helpers/stan-client.js';
import { runToExit, startStanServer, type StanProcess } from '../helpers/stan-server.js';

/**
 * The server process with -st SQL against real databases: it serves the Go server's fixture databases as the Go
 * server did after its restart, keeps state across its own restarts, answers error PubAcks while the database does
 * not answer (and recovers), and refuses to start on a missing table.
 */

function fixturesDir(): string {
  const candidates = [process.env.NSS_GO_FIXTURES, repoFile('..', 'shared', 'fixtures', 'go-0.25.6'), '/work/shared/fixtures/go-0.25.6'];
  for (const c of candidates) if (c && existsSync(join(c, 'manifest.json'))) return c;
  throw new Error('the Go fixtures (shared/fixtures/go-0.25.6) are missing; set NSS_GO_FIXTURES');
}
const FX = fixturesDir();

interface Db {
  kind: 'postgres' | 'mysql';
  start(): Promise<void>;
  stop(): Promise<void>;
  newDb(withFixture?: boolean): Promise<string>;
  dsn(db: string, timeout?: string): string;
  exec(db: string, sql: string): Promise<void>;
  pause(): Promise<void>;
  resume(): void;
}

function pgDb(): Db {
  let s: PgServer;
  return {
    kind: 'postgres',
    async start() {
      s = await startPostgres();
    },
    stop: () => s.stop(),
    async newDb(withFixture) {
      const db = await s.createDatabase();
      await s.exec(db, postgresSchema());
      if (withFixture) await s.exec(db, readFileSync(join(FX, 'postgres.sql'), 'utf8'));
      return db;
    },
    dsn: (db, timeout) => s.dsn(db, timeout ? `readTimeout=${timeout} writeTimeout=${timeout}` : ''),
    exec: (db, sql) => s.exec(db, sql),
    pause: () => s.pause(),
    resume: () => s.resume(),
  };
}

function mysqlDb(): Db {
  let s: MariaDbServer;
  return {
    kind: 'mysql',
    async start() {
      s = await startMariaDb();
    },
    stop: () => s.stop(),
    async newDb(withFixture) {
      const db = await s.createDatabase();
      await s.exec(db, mysqlSchema());
      if (withFixture) await s.exec(db, readFileSync(join(FX, 'mysql.sql'), 'utf8'));
      return db;
    },
    dsn: (db, timeout) => s.dsn(db, timeout ? `readTimeout=${timeout}&writeTimeout=${timeout}` : ''),
    exec: (db, sql) => s.exec(db, sql),
    pause: () => s.pause(),
    resume: () => s.resume(),
  };
}

/** Monitoring output without what differs between runs. */
function normalize(body: unknown): unknown {
  return JSON.parse(JSON.stringify(body), (k, v) => (k === 'now' || k === 'server_id' || k === 'is_stalled' ? undefined : v));
}

for (const backend of [pgDb(), mysqlDb()]) {
  describe(`server with the ${backend.kind} SQL store`, () => {
    let nats: NatsServer;
    const servers: StanProcess[] = [];
    const sqlArgs = (db: string, timeout?: string) => ['-st', 'SQL', '--sql_driver', backend.kind, '--sql_source', backend.dsn(db, timeout)];

    before(async () => {
      nats = await startNatsServer();
      await backend.start();
    });
    after(async () => {
      for (const s of servers) await s.stop().catch(() => undefined);
      await nats?.stop();
      await backend.stop();
    });

    it("serves the Go server's database as the Go server did after its restart", async () => {
      const db = await backend.newDb(true);
      const server = await startStanServer(nats.url, [...sqlArgs(db), '-sc', join(FX, 'stan.conf')], 'fixture-cluster');
      servers.push(server);
      for (const endpoint of ['channelsz', 'clientsz']) {
        const expected = JSON.parse(readFileSync(join(FX, 'verify', backend.kind, `${endpoint}.json`), 'utf8'));
        const { body } = await server.monitor(`/streaming/${endpoint}?subs=1`);
        assert.deepEqual(normalize(body), normalize(expected), endpoint);
      }
      const { body: serverz } = await server.monitor('/streaming/serverz');
      assert.deepEqual([serverz.clients, serverz.subscriptions, serverz.channels, serverz.total_msgs, serverz.total_bytes], [1, 4, 3, 1105, 39834]);
      // A new reader gets every message of limited; the durable resumes with its unacknowledged messages.
      const reader = await connectStan('fixture-cluster', 'sql-reader', nats.url);
      const { got } = await subscribe(reader, 'limited', undefined, reader.subscriptionOptions().setDeliverAllAvailable());
      await until(() => got.length === 100, 15000, '100 messages of limited');
      assert.deepEqual(got.map((m) => m.seq), Array.from({ length: 100 }, (_, i) => 31 + i));
      assert.deepEqual(got.map((m) => m.data), Array.from({ length: 100 }, (_, i) => `limited-${31 + i}`));
      await closeStan(reader);
      const owner = await connectStan('fixture-cluster', 'client-durable', nats.url);
      const { got: redelivered } = await subscribe(owner, 'orders', undefined, owner.subscriptionOptions().setDurableName('dur-a').setManualAckMode(true).setMaxInFlight(100).setAckWait(60_000));
      await until(() => redelivered.length >= 100, 15000, 'dur-a redeliveries');
      assert.deepEqual(redelivered.map((m) => m.seq).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => 401 + i));
      assert.ok(redelivered.every((m) => m.redelivered));
      await closeStan(owner);
      await server.stop();
    });

    it('keeps messages, durables and pending acks across a restart', async () => {
      const db = await backend.newDb();
      let server = await startStanServer(nats.url, sqlArgs(db), 'sql-restart');
      servers.push(server);
      let sc = await connectStan('sql-restart', 'restart-client', nats.url);
      for (let i = 1; i <= 20; i++) await publish(sc, 'jobs', `job-${i}`);
      const { sub, got } = await subscribe(sc, 'jobs', undefined, sc.subscriptionOptions().setDurableName('worker').setDeliverAllAvailable().setManualAckMode(true).setAckWait(60_000));
      await until(() => got.length === 20, 10000, '20 jobs');
      for (const m of got.slice(0, 10)) m.msg.ack();
      await new Promise((r) => setTimeout(r, 300));
      sub.close();
      await new Promise((r) => sub.once('closed', r));
      await closeStan(sc);
      await server.stop();

      server = await startStanServer(nats.url, sqlArgs(db), 'sql-restart');
      servers.push(server);
      const { body } = await server.monitor('/streaming/channelsz?channel=jobs');
      assert.deepEqual([body.msgs, body.first_seq, body.last_seq], [20, 1, 20]);
      sc = await connectStan('sql-restart', 'restart-client', nats.url);
      await publish(sc, 'jobs', 'job-21');
      const { got: again } = await subscribe(sc, 'jobs', undefined, sc.subscriptionOptions().setDurableName('worker').setManualAckMode(true).setAckWait(60_000));
      await until(() => again.length >= 11, 10000, 'the 10 unacknowledged jobs and the new one');
      assert.deepEqual(again.map((m) => m.seq).sort((a, b) => a - b), Array.from({ length: 11 }, (_, i) => 11 + i));
      await closeStan(sc);
      await server.stop();
    });

    it('answers error PubAcks while the database does not answer, and stores again once it is back', { timeout: 120_000 }, async () => {
      const db = await backend.newDb();
      let server = await startStanServer(nats.url, sqlArgs(db, '1s'), 'sql-outage');
      servers.push(server);
      let sc = await connectStan('sql-outage', 'outage-client', nats.url, { ackTimeout: 60_000 });
      await publish(sc, 'events', 'before');
      await backend.pause();
      try {
        // If this fails, the server's log says what the store did meanwhile.
        await assert.rejects(publish(sc, 'events', 'during'), /timeout|timedout/i).catch((err: Error) => {
          throw new Error(`${err.message}\nserver output:\n${server.proc.output()}`);
        });
      } finally {
        backend.resume();
      }
      await publish(sc, 'events', 'after');
      await closeStan(sc);
      await server.stop();
      // What was acknowledged is stored, and the refused message is not.
      server = await startStanServer(nats.url, sqlArgs(db, '1s'), 'sql-outage');
      servers.push(server);
      const { body } = await server.monitor('/streaming/channelsz?channel=events');
      assert.deepEqual([body.msgs, body.first_seq, body.last_seq], [2, 1, 3]);
      sc = await connectStan('sql-outage', 'outage-reader', nats.url);
      const { got } = await subscribe(sc, 'events', undefined, sc.subscriptionOptions().setDeliverAllAvailable());
      await until(() => got.some((m) => m.data === 'after'), 10000, 'the stored events');
      assert.deepEqual(
        got.map((m) => [m.seq, m.data]),
        [
          [1, 'before'],
          [3, 'after'],
        ],
      );
      await closeStan(sc);
      await server.stop();
    });

    it('refuses to start when a table is missing, naming it and the statement that creates it', async () => {
      const db = await backend.newDb();
      await backend.exec(db, 'DROP TABLE Messages');
      const { code, output } = await runToExit(['-ns', nats.url, ...sqlArgs(db)]);
      assert.notEqual(code, 0);
      assert.match(output, /table Messages does not exist/);
      assert.match(output, /CREATE TABLE IF NOT EXISTS Messages/);
    });
  });
}
