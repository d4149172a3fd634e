import mysql from 'mysql2';
import pg from 'pg';
import { DsnError, parseMysqlDsn, parsePostgresDsn, type MysqlConnectionSettings, type PgConnectionSettings } from './dsn.js';

/**
 * The little the SQL store needs from a database: statements with `?` placeholders (written once, in MySQL's form, and
 * rewritten to `$n` for PostgreSQL, as the Go store does), rows as arrays, transactions, and a bound on how long any
 * statement may wait for the database (the DSN's readTimeout/writeTimeout). A statement that runs out of time fails,
 * and its connection is destroyed so that nothing queued behind it waits for a server that does not answer.
 */

export type Dialect = 'postgres' | 'mysql';
export type Param = string | number | bigint | boolean | Uint8Array | null;
export type Row = unknown[];

export interface Executor {
  query(sql: string, params?: readonly Param[]): Promise<Row[]>;
  /** Runs a statement that returns no rows; resolves with the number of rows it matched. */
  exec(sql: string, params?: readonly Param[]): Promise<number>;
}

export interface Database extends Executor {
  readonly dialect: Dialect;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /**
   * A database session lock on a dedicated connection (PostgreSQL advisory lock, MySQL GET_LOCK): held until released
   * or until that connection ends, which the database notices when the holder dies. See SessionLock.
   */
  sessionLock?(): SessionLock;
  close(): Promise<void>;
}

/**
 * A lock owned by one database session (one connection kept open for it). The database frees it when the session
 * ends, so whoever gets it knows that the previous holder's connection is gone.
 */
export interface SessionLock {
  /** Takes the lock without waiting: false when another session holds it; rejects when the connection fails. */
  tryAcquire(): Promise<boolean>;
  /** Gives the lock back, keeping the connection. */
  release(): Promise<void>;
  /** Whether this session holds the lock now (false once the connection is lost). */
  readonly held: boolean;
  /** Called (once per connection) when the connection is lost while it held the lock. */
  onLost?: (err: Error) => void;
  /** Closes the connection (which frees the lock). */
  close(): Promise<void>;
}

/** Class id of our PostgreSQL advisory locks (two-int4 key space, 'NSST'); the object id is the schema's hash. */
const PG_LOCK_CLASS = 0x4e535354;
/** Server-side TCP keepalive for the lock's connection, so that a vanished client host frees the lock in ~20 s. */
const PG_LOCK_SESSION_SETTINGS = ['SET tcp_keepalives_idle = 10', 'SET tcp_keepalives_interval = 2', 'SET tcp_keepalives_count = 5', 'SET idle_session_timeout = 0', 'SET idle_in_transaction_session_timeout = 0', 'SET statement_timeout = 0'];

export interface DatabaseOptions {
  /** --sql_max_open_conns: at most this many connections; 0 or less: no limit of our own. */
  maxOpenConns: number;
}

/** Pool size when the user sets no limit (Go's database/sql has none; this only caps runaway concurrency). */
const UNLIMITED_CONNS = 100;
/** Statement text kept in error messages. */
const MAX_STMT_IN_ERROR = 300;

export class SqlStatementError extends Error {
  constructor(
    readonly statement: string,
    readonly cause: unknown,
  ) {
    const text = statement.length > MAX_STMT_IN_ERROR ? `${statement.slice(0, MAX_STMT_IN_ERROR)}...` : statement;
    super(`sql: error executing "${text}": ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'SqlStatementError';
  }
}

export class SqlTimeoutError extends Error {
  constructor(ms: number) {
    super(`i/o timeout: no answer from the database within ${ms} ms`);
    this.name = 'SqlTimeoutError';
  }
}

export function openDatabase(driver: string, source: string, opts: DatabaseOptions): Database {
  switch (driver) {
    case 'postgres':
      return new PgDatabase(parsePostgresDsn(source), opts);
    case 'mysql':
      return new MysqlDatabase(parseMysqlDsn(source), opts);
    default:
      throw new DsnError(`sql: unknown driver "${driver}" (forgotten import?)`);
  }
}

/** `?` to `$1, $2...` and MySQL's quoted `row` to PostgreSQL's plain one. */
const pgTextCache = new Map<string, string>();
export function toPostgres(sql: string): string {
  let out = pgTextCache.get(sql);
  if (out !== undefined) return out;
  let n = 0;
  out = sql.replace(/\?/g, () => `$${++n}`).replace(/`row`/g, 'row');
  // Multi-row INSERTs vary with the batch size: only the short, fixed statements are kept.
  if (sql.length < 1024 && pgTextCache.size < 500) pgTextCache.set(sql, out);
  return out;
}

function statementBound(s: { readTimeoutMs: number; writeTimeoutMs: number }): number {
  return s.readTimeoutMs > 0 || s.writeTimeoutMs > 0 ? s.readTimeoutMs + s.writeTimeoutMs : 0;
}

/** Runs `work` with a deadline; when it passes, `onTimeout` cleans up and the promise rejects. */
function withDeadline<T>(ms: number, work: Promise<T>, onTimeout: () => void): Promise<T> {
  if (ms <= 0) return work;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      try {
        onTimeout();
      } finally {
        reject(new SqlTimeoutError(ms));
      }
    }, ms);
    work.then(
      (v) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function noop(): void {}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL (pg)

interface PgSocketHolder {
  connection?: { stream?: { destroy(): void } };
}

class PgDatabase implements Database {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly bound: number;

  constructor(
    private readonly settings: PgConnectionSettings,
    opts: DatabaseOptions,
  ) {
    this.bound = statementBound(settings);
    const connectBound = settings.connectTimeoutMs || this.bound;
    this.pool = new pg.Pool({
      host: settings.host,
      port: settings.port,
      user: settings.user,
      password: settings.password,
      database: settings.database,
      ssl: settings.ssl === false ? false : settings.ssl,
      application_name: settings.applicationName,
      fallback_application_name: settings.fallbackApplicationName,
      options: settings.options,
      max: opts.maxOpenConns > 0 ? opts.maxOpenConns : UNLIMITED_CONNS,
      connectionTimeoutMillis: connectBound,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
    });
    // Errors of idle connections (the server went away): the pool drops them; nothing to do here.
    this.pool.on('error', noop);
  }

  private async acquire(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    client.on('error', noop);
    return client;
  }

  private releaseClient(client: pg.PoolClient, broken: boolean): void {
    client.removeListener('error', noop);
    if (broken) (client as unknown as PgSocketHolder).connection?.stream?.destroy();
    client.release(broken);
  }

  private run(client: pg.PoolClient, sql: string, params: readonly Param[]): Promise<pg.QueryArrayResult> {
    const text = toPostgres(sql);
    const values = params.map(pgValue);
    return withDeadline(this.bound, client.query({ text, values, rowMode: 'array' }), () =>
      (client as unknown as PgSocketHolder).connection?.stream?.destroy(),
    );
  }

  private async single(sql: string, params: readonly Param[]): Promise<pg.QueryArrayResult> {
    let client: pg.PoolClient | undefined;
    let broken = false;
    try {
      client = await this.acquire();
      return await this.run(client, sql, params);
    } catch (err) {
      broken = isConnectionError(err);
      throw new SqlStatementError(sql, err);
    } finally {
      if (client) this.releaseClient(client, broken);
    }
  }

  async query(sql: string, params: readonly Param[] = []): Promise<Row[]> {
    return (await this.single(sql, params)).rows;
  }

  async exec(sql: string, params: readonly Param[] = []): Promise<number> {
    return (await this.single(sql, params)).rowCount ?? 0;
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.acquire();
    } catch (err) {
      throw new SqlStatementError('BEGIN', err);
    }
    let broken = false;
    const tx: Executor = {
      query: async (sql, params = []) => {
        try {
          return (await this.run(client, sql, params)).rows;
        } catch (err) {
          broken ||= isConnectionError(err);
          throw new SqlStatementError(sql, err);
        }
      },
      exec: async (sql, params = []) => {
        try {
          return (await this.run(client, sql, params)).rowCount ?? 0;
        } catch (err) {
          broken ||= isConnectionError(err);
          throw new SqlStatementError(sql, err);
        }
      },
    };
    try {
      await tx.exec('BEGIN');
      const result = await fn(tx);
      await tx.exec('COMMIT');
      return result;
    } catch (err) {
      if (!broken) await tx.exec('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      this.releaseClient(client, broken);
    }
  }

  sessionLock(): SessionLock {
    const s = this.settings;
    const bound = this.bound || 5000;
    return new DedicatedSessionLock<pg.Client>({
      bound,
      async connect(onGone) {
        const client = new pg.Client({
          host: s.host,
          port: s.port,
          user: s.user,
          password: s.password,
          database: s.database,
          ssl: s.ssl === false ? false : s.ssl,
          application_name: s.applicationName,
          fallback_application_name: s.fallbackApplicationName,
          options: s.options,
          connectionTimeoutMillis: s.connectTimeoutMs || bound,
          keepAlive: true,
          keepAliveInitialDelayMillis: 5000,
        });
        client.on('error', (err: Error) => onGone(err));
        client.on('end', () => onGone(new Error('the lock connection ended')));
        try {
          await client.connect();
          // Settings the server may not know (older versions) or refuse are only a nicety.
          for (const set of PG_LOCK_SESSION_SETTINGS) await client.query(set).catch(noop);
        } catch (err) {
          await client.end().catch(noop);
          throw err;
        }
        return client;
      },
      async tryLock(client) {
        const r = await client.query({ text: 'SELECT pg_try_advisory_lock($1::int4, hashtext(current_schema()))', values: [PG_LOCK_CLASS], rowMode: 'array' });
        return r.rows[0]?.[0] === true;
      },
      async unlock(client) {
        await client.query({ text: 'SELECT pg_advisory_unlock($1::int4, hashtext(current_schema()))', values: [PG_LOCK_CLASS] });
      },
      destroy(client) {
        (client as unknown as PgSocketHolder).connection?.stream?.destroy();
      },
      async end(client) {
        await client.end();
      },
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

interface SessionDriver<C> {
  bound: number;
  connect(onGone: (err: Error) => void): Promise<C>;
  tryLock(conn: C): Promise<boolean>;
  unlock(conn: C): Promise<void>;
  /** Tears the socket down at once (a statement ran out of time). */
  destroy(conn: C): void;
  end(conn: C): Promise<void>;
}

/** A SessionLock on one connection of its own, opened on first use and again after it is lost. */
class DedicatedSessionLock<C> implements SessionLock {
  onLost?: (err: Error) => void;
  private conn: C | undefined;
  private generation = 0;
  private holding = false;
  private closed = false;

  constructor(private readonly driver: SessionDriver<C>) {}

  get held(): boolean {
    return this.holding && this.conn !== undefined;
  }

  private async connection(): Promise<C> {
    if (this.conn !== undefined) return this.conn;
    const gen = ++this.generation;
    const conn = await withDeadline(
      this.driver.bound,
      this.driver.connect((err) => this.gone(gen, err)),
      noop,
    );
    if (this.closed || gen !== this.generation) {
      await this.driver.end(conn).catch(noop);
      throw new Error('session lock closed');
    }
    this.conn = conn;
    return conn;
  }

  private gone(gen: number, err: Error): void {
    if (gen !== this.generation || this.conn === undefined) return;
    const conn = this.conn;
    const wasHeld = this.holding;
    this.conn = undefined;
    this.holding = false;
    this.generation++;
    this.driver.destroy(conn);
    if (wasHeld && !this.closed) this.onLost?.(err);
  }

  private run<T>(work: Promise<T>): Promise<T> {
    const gen = this.generation;
    return withDeadline(this.driver.bound, work, () => this.gone(gen, new SqlTimeoutError(this.driver.bound))).catch((err: unknown) => {
      // A failed statement on the lock's connection: the connection cannot be trusted any more.
      this.gone(gen, err instanceof Error ? err : new Error(String(err)));
      throw err;
    });
  }

  async tryAcquire(): Promise<boolean> {
    if (this.closed) throw new Error('session lock closed');
    if (this.held) return true; // both databases count re-entrant acquisitions: take it once only
    const conn = await this.connection();
    const got = await this.run(this.driver.tryLock(conn));
    if (conn === this.conn) this.holding = got;
    return got && conn === this.conn;
  }

  async release(): Promise<void> {
    const conn = this.conn;
    if (!this.holding || conn === undefined) return;
    this.holding = false;
    await this.run(this.driver.unlock(conn));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const wasHolding = this.holding;
    this.holding = false;
    const conn = this.conn;
    this.conn = undefined;
    this.generation++;
    if (conn === undefined) return;
    // The database frees a session lock only once it has noticed the disconnection, a moment after end() returns:
    // unlocking first lets a standby take it as soon as this resolves.
    if (wasHolding) await withDeadline(this.driver.bound, this.driver.unlock(conn), () => this.driver.destroy(conn)).catch(noop);
    await withDeadline(this.driver.bound, this.driver.end(conn), () => this.driver.destroy(conn)).catch(noop);
  }
}

function pgValue(v: Param): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// MySQL / MariaDB (mysql2)

interface MysqlResultHeader {
  affectedRows?: number;
}

class MysqlDatabase implements Database {
  readonly dialect = 'mysql' as const;
  private readonly pool: mysql.Pool;
  private readonly bound: number;
  private closed = false;

  constructor(
    private readonly settings: MysqlConnectionSettings,
    opts: DatabaseOptions,
  ) {
    this.bound = statementBound(settings);
    const connectBound = settings.connectTimeoutMs || this.bound;
    this.pool = mysql.createPool({
      host: settings.host,
      port: settings.port,
      socketPath: settings.socketPath,
      user: settings.user,
      password: settings.password,
      database: settings.database,
      ssl: settings.ssl,
      charset: settings.charset,
      connectTimeout: connectBound > 0 ? connectBound : undefined,
      connectionLimit: opts.maxOpenConns > 0 ? opts.maxOpenConns : UNLIMITED_CONNS,
      maxIdle: 10,
      idleTimeout: 30_000,
      waitForConnections: true,
      queueLimit: 0,
      enableKeepAlive: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      multipleStatements: false,
    });
    if (settings.sessionVariables.length > 0) {
      const set = `SET ${settings.sessionVariables.map(([k, v]) => `${k}=${v}`).join(', ')}`;
      this.pool.on('connection', (conn) => {
        conn.query(set, (err: unknown) => {
          if (err) conn.destroy();
        });
      });
    }
  }

  private acquire(): Promise<mysql.PoolConnection> {
    const got = new Promise<mysql.PoolConnection>((resolve, reject) => {
      this.pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn)));
    });
    // The pool itself has no bound on waiting for a free connection: give up when the statement bound passes, and
    // hand back a connection that arrives afterwards.
    return withDeadline(this.bound, got, () => {
      got.then((c) => c.release(), noop);
    });
  }

  private run(conn: mysql.PoolConnection, sql: string, params: readonly Param[]): Promise<Row[] | MysqlResultHeader> {
    const values = params.map(mysqlValue);
    const work = new Promise<Row[] | MysqlResultHeader>((resolve, reject) => {
      conn.query({ sql, values, rowsAsArray: true }, (err, result) => (err ? reject(err) : resolve(result as Row[] | MysqlResultHeader)));
    });
    return withDeadline(this.bound, work, () => conn.destroy());
  }

  private async single(sql: string, params: readonly Param[]): Promise<Row[] | MysqlResultHeader> {
    let conn: mysql.PoolConnection | undefined;
    let broken = false;
    try {
      conn = await this.acquire();
      return await this.run(conn, sql, params);
    } catch (err) {
      broken = isConnectionError(err);
      throw new SqlStatementError(sql, err);
    } finally {
      if (conn) {
        if (broken) conn.destroy();
        else conn.release();
      }
    }
  }

  async query(sql: string, params: readonly Param[] = []): Promise<Row[]> {
    const r = await this.single(sql, params);
    return Array.isArray(r) ? r : [];
  }

  async exec(sql: string, params: readonly Param[] = []): Promise<number> {
    const r = await this.single(sql, params);
    return Array.isArray(r) ? r.length : (r.affectedRows ?? 0);
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    let conn: mysql.PoolConnection;
    try {
      conn = await this.acquire();
    } catch (err) {
      throw new SqlStatementError('START TRANSACTION', err);
    }
    let broken = false;
    const wrap = async <R>(sql: string, params: readonly Param[], pick: (r: Row[] | MysqlResultHeader) => R): Promise<R> => {
      try {
        return pick(await this.run(conn, sql, params));
      } catch (err) {
        broken ||= isConnectionError(err);
        throw new SqlStatementError(sql, err);
      }
    };
    const tx: Executor = {
      query: (sql, params = []) => wrap(sql, params, (r) => (Array.isArray(r) ? r : [])),
      exec: (sql, params = []) => wrap(sql, params, (r) => (Array.isArray(r) ? r.length : (r.affectedRows ?? 0))),
    };
    try {
      await tx.exec('START TRANSACTION');
      const result = await fn(tx);
      await tx.exec('COMMIT');
      return result;
    } catch (err) {
      if (!broken) await tx.exec('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  sessionLock(): SessionLock {
    const s = this.settings;
    const bound = this.bound || 5000;
    const query = (conn: mysql.Connection, sql: string): Promise<Row[]> =>
      new Promise((resolve, reject) => conn.query({ sql, rowsAsArray: true }, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))));
    // GET_LOCK names are server-wide (at most 64 characters): one per database.
    const name = "CONCAT('nss_storelock_', SHA1(IFNULL(DATABASE(), '')))";
    return new DedicatedSessionLock<mysql.Connection>({
      bound,
      async connect(onGone) {
        const conn = mysql.createConnection({
          host: s.host,
          port: s.port,
          socketPath: s.socketPath,
          user: s.user,
          password: s.password,
          database: s.database,
          ssl: s.ssl,
          charset: s.charset,
          connectTimeout: s.connectTimeoutMs || bound,
          enableKeepAlive: true,
          keepAliveInitialDelay: 5000,
        });
        conn.on('error', (err: Error) => onGone(err));
        conn.on('end', () => onGone(new Error('the lock connection ended')));
        try {
          await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
          // The lock's connection is idle for long stretches: do not let the server's wait_timeout end it.
          await query(conn, 'SET SESSION wait_timeout = 31536000').catch(noop);
        } catch (err) {
          conn.destroy();
          throw err;
        }
        return conn;
      },
      async tryLock(conn) {
        const rows = await query(conn, `SELECT GET_LOCK(${name}, 0)`);
        return Number(rows[0]?.[0]) === 1;
      },
      async unlock(conn) {
        await query(conn, `SELECT RELEASE_LOCK(${name})`);
      },
      destroy: (conn) => conn.destroy(),
      end: (conn) => new Promise<void>((resolve) => conn.end(() => resolve())),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.pool.end(() => resolve()));
  }
}

function mysqlValue(v: Param): unknown {
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

/** Errors after which a connection cannot be trusted (timeouts, sockets closed, protocol errors). */
function isConnectionError(err: unknown): boolean {
  if (err instanceof SqlTimeoutError) return true;
  const e = err as { code?: unknown; fatal?: unknown; message?: unknown } | undefined;
  if (!e || typeof e !== 'object') return true;
  if (e.fatal === true) return true;
  if (typeof e.code === 'string') {
    // PostgreSQL SQLSTATEs are five characters; class 08 is a connection exception, 57P is an operator intervention.
    if (/^[0-9A-Z]{5}$/.test(e.code)) return e.code.startsWith('08') || e.code.startsWith('57P');
    // MySQL server errors carry ER_* codes and leave the connection usable.
    if (e.code.startsWith('ER_')) return false;
    return true;
  }
  return typeof e.message === 'string' && /terminated|closed|ECONNRESET|EPIPE|timeout/i.test(e.message);
}
