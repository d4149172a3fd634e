/**
 * A load generator in the spirit of Go's stan-bench: publishers and subscribers on one channel, each in its own
 * worker thread with its own NATS connection, against a real nats-server and the real server process.
 *
 * Runs compiled (dist/test/bench), so that worker threads load plain JavaScript:
 *   npm run bench -- --np 1 --ns 1 --n 200000 --ms 128 --runs 5 [--server-args="-st FILE --dir /tmp/store"] [--cpu-prof]
 *   npm run bench -- --store postgres --np 1 --ns 1 --n 100000 --runs 3
 *   npm run bench -- --server-bin /path/to/go/nats-streaming-server ...   (the same load against another server)
 *
 * --store postgres|mariadb starts a throwaway database with the test helper at its default durability (fsync on /
 * InnoDB log flushed at commit), creates the deploy/sql schema and runs the server with `-st SQL` on it.
 */
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { mysqlSchema, startMariaDb } from '../helpers/mariadb.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { postgresSchema, startPostgres } from '../helpers/postgres.js';
import { startStanServer } from '../helpers/stan-server.js';
import { median } from './median.js';
import type { WorkerJob, WorkerResult } from './bench-worker.js';

const { values } = parseArgs({
  options: {
    np: { type: 'string', default: '1' },
    ns: { type: 'string', default: '0' },
    n: { type: 'string', default: '100000' },
    ms: { type: 'string', default: '128' },
    mpa: { type: 'string', default: '512' },
    msi: { type: 'string', default: '1024' },
    runs: { type: 'string', default: '5' },
    'server-args': { type: 'string', default: '' },
    store: { type: 'string', default: '' },
    'cpu-prof': { type: 'boolean', default: false },
    'server-bin': { type: 'string', default: '' },
  },
});

const np = Number(values.np);
const ns = Number(values.ns);
const total = Number(values.n);
const size = Number(values.ms);
const runs = Number(values.runs);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function startWorker(job: WorkerJob): { worker: Worker; ready: Promise<void>; done: Promise<WorkerResult> } {
  const worker = new Worker(new URL('./bench-worker.js', import.meta.url), { workerData: job });
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const done = new Promise<WorkerResult>((resolve, reject) => {
    worker.on('message', (m: unknown) => {
      if (m === 'ready') return readyResolve();
      if (m && typeof m === 'object' && 'error' in m) return reject(new Error(String((m as { error: string }).error)));
      resolve(m as WorkerResult);
      void worker.terminate();
    });
    worker.on('error', reject);
  });
  if (job.role === 'pub') readyResolve();
  return { worker, ready, done };
}

async function oneRun(run: number, url: string, clusterId: string): Promise<{ pub: number; sub: number; p50: number; p99: number }> {
  const subject = `bench.${run}.${Date.now()}`;
  const base = { url, clusterId, subject, size, maxPubAcks: Number(values.mpa), maxInFlight: Number(values.msi) };
  const subs = Array.from({ length: ns }, (_, i) => startWorker({ ...base, role: 'sub', clientId: `bench-sub-${run}-${i}`, count: total }));
  await Promise.all(subs.map((s) => s.ready));
  const perPub = Math.floor(total / np);
  const pubs = Array.from({ length: np }, (_, i) => startWorker({ ...base, role: 'pub', clientId: `bench-pub-${run}-${i}`, count: perPub }));
  for (const p of pubs) p.worker.postMessage('go');
  const pubResults = await Promise.all(pubs.map((p) => p.done));
  const subResults = await Promise.all(subs.map((s) => s.done));
  const rate = (rs: WorkerResult[]) => {
    if (rs.length === 0) return 0;
    const start = Math.min(...rs.map((r) => r.startMs));
    const end = Math.max(...rs.map((r) => r.endMs));
    return (rs.reduce((a, r) => a + r.count, 0) / Math.max(1, end - start)) * 1000;
  };
  const lat = pubResults.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  return { pub: rate(pubResults), sub: ns ? rate(subResults) / ns : 0, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** --store: a database for the SQL store, its server arguments and how to stop it. */
async function startDatabase(kind: string): Promise<{ args: string[]; stop(): Promise<void> }> {
  switch (kind) {
    case '':
      return { args: [], stop: async () => undefined };
    case 'postgres': {
      const pg = await startPostgres({ durable: true });
      const db = await pg.createDatabase('bench');
      await pg.exec(db, postgresSchema());
      return { args: ['-st', 'SQL', '--sql_driver', 'postgres', '--sql_source', pg.dsn(db)], stop: () => pg.stop() };
    }
    case 'mariadb':
    case 'mysql': {
      const maria = await startMariaDb({ durable: true });
      const db = await maria.createDatabase('bench');
      await maria.exec(db, mysqlSchema());
      return { args: ['-st', 'SQL', '--sql_driver', 'mysql', '--sql_source', maria.dsn(db)], stop: () => maria.stop() };
    }
    default:
      throw new Error(`--store: unknown "${kind}" (postgres or mariadb)`);
  }
}

async function main(): Promise<void> {
  const database = await startDatabase(values.store);
  const nats = await startNatsServer();
  const serverArgs = [...database.args, ...(values['server-args'] ? values['server-args'].split(/\s+/) : [])];
  const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir=.tmp/prof'] : [];
  const server = await startStanServer(nats.url, serverArgs, 'bench-cluster', nodeArgs, undefined, values['server-bin'] || undefined);
  try {
    console.log(`stan-bench: ${np} publisher(s), ${ns} subscriber(s), ${total} msgs of ${size} bytes, ${runs} runs, server args: ${serverArgs.join(' ') || '(defaults)'}`);
    const results = [];
    for (let r = 0; r < runs; r++) {
      const res = await oneRun(r, nats.url, 'bench-cluster');
      results.push(res);
      console.log(
        `run ${r + 1}: pub ${Math.round(res.pub)} msgs/s` + (ns ? `, sub ${Math.round(res.sub)} msgs/s each` : '') + `, ack latency p50 ${res.p50.toFixed(2)} ms p99 ${res.p99.toFixed(2)} ms`,
      );
    }
    console.log(
      `median: pub ${Math.round(median(results.map((r) => r.pub)))} msgs/s` +
        (ns ? `, sub ${Math.round(median(results.map((r) => r.sub)))} msgs/s each` : '') +
        `, ack latency p50 ${median(results.map((r) => r.p50)).toFixed(2)} ms p99 ${median(results.map((r) => r.p99)).toFixed(2)} ms`,
    );
  } finally {
    await server.stop('SIGINT');
    await nats.stop();
    await database.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
