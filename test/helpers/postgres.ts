import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from './ports.js';
import { untilStopped } from './process.js';

/**
 * A throwaway PostgreSQL server for tests (Debian package `postgresql`): initdb in a temp dir, the postmaster on a free
 * loopback port, password authentication over TCP. PostgreSQL refuses to run as root, so when the tests are root the
 * server runs as the `postgres` user the package creates.
 */
export interface PgServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The postmaster's pid. */
  readonly pid: number;
  /** A lib/pq key=value DSN for `db`, with extra `key=value` words appended. */
  dsn(db: string, extra?: string): string;
  /** A postgres:// URL for `db`, with extra query parameters. */
  url(db: string, query?: string): string;
  /** Creates an empty database with a fresh name and returns its name. */
  createDatabase(prefix?: string): Promise<string>;
  /** Runs SQL text (several statements allowed) in `db`. */
  exec(db: string, sql: string): Promise<void>;
  query(db: string, sql: string, params?: unknown[]): Promise<unknown[][]>;
  /** SIGSTOP / SIGCONT the whole server (postmaster and every backend). */
  /** Stops the server's processes (SIGSTOP) and resolves once they are all stopped. */
  pause(): Promise<void>;
  resume(): void;
  /** Stops the database (cutting every session) and starts it again on the same data and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'postgres')) && existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0]!, 'bin') : undefined;
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
  return { uid, gid };
}

let dbCounter = 0;

export interface StartPostgresOptions {
  /** PostgreSQL's default durability (fsync, synchronous_commit, full_page_writes on) instead of the fast test setup. */
  durable?: boolean;
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PgServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (Debian: apt-get install postgresql); scripts/setup.sh installs it');
  const dir = mkdtempSync(join(tmpdir(), 'nss-pg-'));
  const ids = process.getuid?.() === 0 ? userIds('postgres') : undefined;
  const password = 'pg-test-pass';
  writeFileSync(join(dir, 'pwfile'), `${password}\n`);
  if (ids) {
    chownSync(dir, ids.uid, ids.gid);
    chownSync(join(dir, 'pwfile'), ids.uid, ids.gid);
  }
  const asUser = ids ? { uid: ids.uid, gid: ids.gid } : {};
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  const data = join(dir, 'data');
  await runOnce(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${join(dir, 'pwfile')}`, '--no-sync', '-E', 'UTF8'], { ...asUser, env, cwd: dir });
  const port = await freePort();
  const spawnPostgres = () => {
    const proc = spawn(
      join(bin, 'postgres'),
      [
        '-D', data, '-k', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200',
        ...(opts.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      ],
      { ...asUser, env, cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    return proc;
  };
  let out = '';
  let child = spawnPostgres();
  const host = '127.0.0.1';
  const admin = (db: string) => new pg.Client({ host, port, user: 'postgres', password, database: db });
  const ready = (proc: ChildProcess) =>
    waitReady(proc, async () => {
      const c = admin('postgres');
      await c.connect();
      await c.end();
    }, () => out);
  await ready(child);

  const withClient = async <T>(db: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = admin(db);
    c.on('error', () => undefined);
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  let stopped = false;
  return {
    host,
    port,
    user: 'postgres',
    password,
    get pid() {
      return child.pid!;
    },
    dsn: (db, extra = '') => `host=${host} port=${port} user=postgres password=${password} dbname=${db} sslmode=disable${extra ? ` ${extra}` : ''}`,
    url: (db, query = '') => `postgres://postgres:${password}@${host}:${port}/${db}?sslmode=disable${query ? `&${query}` : ''}`,
    async createDatabase(prefix = 'nss') {
      const name = `${prefix}_${process.pid}_${++dbCounter}`;
      await withClient('postgres', (c) => c.query(`CREATE DATABASE ${name}`));
      return name;
    },
    exec: (db, sql) => withClient(db, async (c) => void (await c.query(sql))),
    query: (db, sql, params = []) => withClient(db, async (c) => (await c.query({ text: sql, values: params, rowMode: 'array' })).rows as unknown[][]),
    // Backends are children of the postmaster in sessions of their own (setsid), so each one is signalled.
    pause: () => untilStopped(signalTree(child.pid!, 'SIGSTOP')),
    resume: () => signalTree(child.pid!, 'SIGCONT'),
    async restart() {
      // A fast shutdown (every session is cut), then the same data directory and port again.
      child.kill('SIGINT');
      await once(child, 'exit');
      child = spawnPostgres();
      await ready(child);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        signalTree(child.pid!, 'SIGCONT');
        child.kill('SIGQUIT');
        const timer = setTimeout(() => signalTree(child.pid!, 'SIGKILL'), 10000);
        await once(child, 'exit');
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => out,
  };
}

/** Sends `signal` to a process and all its descendants (from /proc), parents first. */
/** Signals a process and its descendants, parents first; returns the processes signalled. */
export function signalTree(pid: number, signal: NodeJS.Signals): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const order: number[] = [];
  const walk = (p: number) => {
    order.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  for (const p of order) {
    try {
      process.kill(p, signal);
    } catch {
      // gone meanwhile
    }
  }
  return order;
}

async function runOnce(cmd: string, args: string[], opts: { uid?: number; gid?: number; env: NodeJS.ProcessEnv; cwd: string }): Promise<void> {
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${cmd} failed (${code}):\n${out}`);
}

/** Polls `probe` until it succeeds; fails when the process exits or 30 s pass. */
export async function waitReady(child: ChildProcess, probe: () => Promise<void>, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`database server exited:\n${output()}`);
    try {
      await probe();
      return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`database server did not become ready: ${String(last)}\n${output()}`);
}

/** A file of the repository (tests run from test/ in the source tree or from dist/test/ after a build). */
export function repoFile(...parts: string[]): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'deploy'))) return join(dir, ...parts);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the repository root from ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The schema script users run (deploy/sql/postgres.db.sql). */
export function postgresSchema(): string {
  return readFileSync(repoFile('deploy', 'sql', 'postgres.db.sql'), 'utf8');
}
