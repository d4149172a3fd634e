import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './ports.js';
import { untilStopped } from './process.js';
import { repoFile, waitReady } from './postgres.js';

/**
 * A throwaway MariaDB server for tests (Debian package `mariadb-server`): mariadb-install-db in a temp dir, mariadbd on
 * a free loopback port and a private socket, and a user `nss` with a password for the DSNs under test.
 */
export interface MariaDbServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly pid: number;
  /** A go-sql-driver DSN: `user:pass@tcp(host:port)/db?params`. */
  dsn(db: string, params?: string): string;
  createDatabase(prefix?: string): Promise<string>;
  /** Runs SQL text (several statements allowed) in `db`. */
  exec(db: string, sql: string): Promise<void>;
  query(db: string, sql: string, params?: unknown[]): Promise<unknown[][]>;
  /** Stops the server (SIGSTOP) and resolves once all its threads are stopped. */
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<void>;
  output(): string;
}

function findBinary(names: string[]): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    for (const name of names) if (existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function mariadbBinaries(): { server: string; installDb: string } | undefined {
  const server = findBinary(['mariadbd', 'mysqld']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  return server && installDb ? { server, installDb } : undefined;
}

let dbCounter = 0;

export interface StartMariaDbOptions {
  /** MariaDB's default durability (InnoDB log flushed at each commit) instead of the fast test setup. */
  durable?: boolean;
}

export async function startMariaDb(opts: StartMariaDbOptions = {}): Promise<MariaDbServer> {
  const bins = mariadbBinaries();
  if (!bins) throw new Error('MariaDB is not installed (Debian: apt-get install mariadb-server); scripts/setup.sh installs it');
  const dir = mkdtempSync(join(tmpdir(), 'nss-maria-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const root = process.getuid?.() === 0;
  const userArgs = root ? ['--user=root'] : [];
  {
    const child = spawn(
      bins.installDb,
      ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=socket', '--skip-test-db', '--skip-name-resolve', ...userArgs],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`mariadb-install-db failed (${code}):\n${out}`);
  }
  const port = await freePort();
  const child = spawn(
    bins.server,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      '--skip-name-resolve',
      '--skip-log-bin',
      `--innodb-flush-log-at-trx-commit=${opts.durable ? 1 : 0}`,
      '--innodb-buffer-pool-size=64M',
      '--innodb-log-file-size=16M',
      '--max-connections=300',
      ...userArgs,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const host = '127.0.0.1';
  const user = 'nss';
  const password = 'nss-test-pass';
  const rootConn = () => mysql.createConnection({ socketPath: socket, user: root ? 'root' : (process.env.USER ?? 'root'), multipleStatements: true });
  await waitReady(child, async () => {
    const c = await rootConn();
    await c.end();
  }, () => out);
  {
    const c = await rootConn();
    await c.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO '${user}'@'%'; FLUSH PRIVILEGES;`);
    await c.end();
  }
  const withConn = async <T>(db: string | undefined, fn: (c: mysql.Connection) => Promise<T>): Promise<T> => {
    const c = await mysql.createConnection({ host, port, user, password, database: db, multipleStatements: true, supportBigNumbers: true, bigNumberStrings: true });
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
    user,
    password,
    pid: child.pid!,
    dsn: (db, params = '') => `${user}:${password}@tcp(${host}:${port})/${db}${params ? `?${params}` : ''}`,
    async createDatabase(prefix = 'nss') {
      const name = `${prefix}_${process.pid}_${++dbCounter}`;
      await withConn(undefined, (c) => c.query(`CREATE DATABASE ${name}`));
      return name;
    },
    exec: (db, sql) => withConn(db, async (c) => void (await c.query(sql))),
    query: (db, sql, params = []) => withConn(db, async (c) => (await c.query({ sql, values: params, rowsAsArray: true }))[0] as unknown[][]),
    pause: async () => {
      process.kill(child.pid!, 'SIGSTOP');
      await untilStopped([child.pid!]);
    },
    resume: () => process.kill(child.pid!, 'SIGCONT'),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid!, 'SIGCONT');
        } catch {
          // already gone
        }
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        await once(child, 'exit');
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => out,
  };
}

/** The schema script users run (deploy/sql/mysql.db.sql). */
export function mysqlSchema(): string {
  return readFileSync(repoFile('deploy', 'sql', 'mysql.db.sql'), 'utf8');
}
