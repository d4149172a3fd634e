/**
 * One failover, end to end with real processes: nats-server, two servers in an FT group on one store, a publisher
 * that keeps publishing with acks and a durable subscriber; SIGKILL of the active; then the timeline and the count of
 * messages acked, received and lost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mysqlSchema, startMariaDb, type MariaDbServer } from '../helpers/mariadb.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { postgresSchema, startPostgres, type PgServer } from '../helpers/postgres.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';
import { LiteStan } from './stan-client-lite.js';

export interface StoreUnderTest {
  name: string;
  /** Server arguments selecting the store; called once per run. */
  args(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export function fileStore(): StoreUnderTest {
  let dir = '';
  return {
    name: 'FILE',
    async args() {
      dir = await mkdtemp(join(tmpdir(), 'nss-failover-'));
      return ['-st', 'FILE', '--dir', dir];
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A fresh PostgreSQL (test helper, default durability) with the deploy/sql schema for each run. */
export function postgresStore(): StoreUnderTest {
  let pg: PgServer | undefined;
  return {
    name: 'PostgreSQL',
    async args() {
      pg = await startPostgres({ durable: true });
      const db = await pg.createDatabase('failover');
      await pg.exec(db, postgresSchema());
      return ['-st', 'SQL', '--sql_driver', 'postgres', '--sql_source', pg.dsn(db, 'readTimeout=5s writeTimeout=5s')];
    },
    async cleanup() {
      await pg?.stop();
      pg = undefined;
    },
  };
}

/** A fresh MariaDB (test helper, default durability) with the deploy/sql schema for each run. */
export function mariadbStore(): StoreUnderTest {
  let maria: MariaDbServer | undefined;
  return {
    name: 'MariaDB',
    async args() {
      maria = await startMariaDb({ durable: true });
      const db = await maria.createDatabase('failover');
      await maria.exec(db, mysqlSchema());
      return ['-st', 'SQL', '--sql_driver', 'mysql', '--sql_source', maria.dsn(db, 'readTimeout=5s&writeTimeout=5s')];
    },
    async cleanup() {
      await maria?.stop();
      maria = undefined;
    },
  };
}

export interface FailoverResult {
  killToLockMs: number;
  killToReadyMs: number;
  killToFirstAckMs: number;
  acked: number;
  received: number;
  lost: number;
  timeline: [number, string][];
}

const CLUSTER = 'failover-cluster';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function logTime(proc: StanProcess, pattern: RegExp): number | undefined {
  for (const line of proc.proc.output().split('\n')) {
    if (!pattern.test(line)) continue;
    try {
      return Date.parse((JSON.parse(line) as { time: string }).time);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export async function runFailover(store: StoreUnderTest, warmupMsgs = 200): Promise<FailoverResult> {
  const nats = await startNatsServer();
  const args = [...(await store.args()), '--ft_group', 'grp', '-SD'];
  const servers: StanProcess[] = [];
  try {
    const a = await startStanServer(nats.url, args, CLUSTER);
    servers.push(a);
    const b = await startStanServer(nats.url, args, CLUSTER, [], /starting in standby mode/);
    servers.push(b);
    const pub = await LiteStan.connect(nats.url, CLUSTER, 'failover-pub');
    const sub = await LiteStan.connect(nats.url, CLUSTER, 'failover-sub');
    const received = new Set<number>();
    const payloads = new Map<number, number>();
    await sub.subscribe('failover', 1024, (_seq, _ts, data) => received.add(Number(Buffer.from(data).toString())), 'dur');
    let n = 0;
    const acked: number[] = [];
    for (; n < warmupMsgs; n++) {
      await pub.publishSync('failover', Buffer.from(String(n)), 2000);
      acked.push(n);
    }
    const killAt = Date.now();
    a.proc.child.kill('SIGKILL');
    let firstAckAt = 0;
    while (!firstAckAt) {
      const id = n++;
      payloads.set(id, Date.now());
      try {
        await pub.publishSync('failover', Buffer.from(String(id)), 50);
        acked.push(id);
        firstAckAt = Date.now();
      } catch {
        // not served yet: try the next message
      }
    }
    for (let i = 0; i < 50; i++, n++) {
      await pub.publishSync('failover', Buffer.from(String(n)), 2000);
      acked.push(n);
    }
    const deadline = Date.now() + 10_000;
    while (acked.some((id) => !received.has(id)) && Date.now() < deadline) await sleep(20);
    const lockAt = logTime(b, /got the store lock/) ?? firstAckAt;
    const readyAt = logTime(b, /Streaming Server is ready/) ?? firstAckAt;
    await pub.close();
    await sub.close();
    const lost = acked.filter((id) => !received.has(id)).length;
    return {
      killToLockMs: lockAt - killAt,
      killToReadyMs: readyAt - killAt,
      killToFirstAckMs: firstAckAt - killAt,
      acked: acked.length,
      received: received.size,
      lost,
      timeline: [
        [0, 'SIGKILL sent to the active server'],
        [lockAt - killAt, 'standby got the store lock'],
        [readyAt - killAt, 'standby recovered the store and serves (Streaming Server is ready)'],
        [firstAckAt - killAt, 'first publish acked by the new active server'],
      ],
    };
  } finally {
    for (const s of servers) await s.stop('SIGKILL');
    await nats.stop();
    await store.cleanup();
  }
}
