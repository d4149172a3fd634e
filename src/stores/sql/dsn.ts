import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { parseDuration } from '../../config/units.js';

/**
 * Data source names as the Go server's users already write them: lib/pq's `key=value` words or a postgres:// URL for
 * PostgreSQL, and go-sql-driver's `user:pass@tcp(host:port)/db?param=value` for MySQL. `readTimeout` and `writeTimeout`
 * (Go durations) are understood by both, as the Go server's drivers do.
 */

export class DsnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DsnError';
  }
}

/** A Go duration in milliseconds, failing as a DSN error. */
function parseGoDuration(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new DsnError(`time: invalid duration "${text}"`);
  }
}

export interface TimeoutSettings {
  /** Bounds on waiting for the database, in ms (0: none). */
  readTimeoutMs: number;
  writeTimeoutMs: number;
  /** Bound on opening a connection, in ms (0: none). */
  connectTimeoutMs: number;
}

export interface PgConnectionSettings extends TimeoutSettings {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  ssl: false | ConnectionOptions;
  applicationName?: string;
  fallbackApplicationName?: string;
  /** Other keys, sent as run-time parameters (`-c key=value`), as lib/pq sends unknown keys in the startup message. */
  options?: string;
}

/** lib/pq's `key=value` words: values may be single-quoted, with backslash escapes. */
function parseKeyValues(dsn: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const n = dsn.length;
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
  while (i < n) {
    while (i < n && isSpace(dsn[i])) i++;
    if (i >= n) break;
    let key = '';
    while (i < n && dsn[i] !== '=' && !isSpace(dsn[i])) key += dsn[i++];
    while (i < n && isSpace(dsn[i])) i++;
    if (dsn[i] !== '=') throw new DsnError(`missing "=" after "${key}" in connection info string"`);
    i++;
    while (i < n && isSpace(dsn[i])) i++;
    let value = '';
    if (dsn[i] === "'") {
      i++;
      for (;;) {
        if (i >= n) throw new DsnError('unterminated quoted string in connection info string');
        const c = dsn[i++]!;
        if (c === "'") break;
        if (c === '\\') {
          if (i >= n) throw new DsnError('unterminated quoted string in connection info string');
          value += dsn[i++];
        } else value += c;
      }
    } else {
      while (i < n && !isSpace(dsn[i])) {
        const c = dsn[i++]!;
        if (c === '\\' && i < n) value += dsn[i++];
        else value += c;
      }
    }
    out.set(key, value);
  }
  return out;
}

/** pq.ParseURL: a postgres:// or postgresql:// URL as key=value pairs. */
function parsePgUrl(dsn: string): Map<string, string> {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new DsnError(`invalid connection URL: ${dsn.replace(/:[^:@/]*@/, ':***@')}`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new DsnError(`invalid connection protocol: ${url.protocol}`);
  const out = new Map<string, string>();
  if (url.username) out.set('user', decodeURIComponent(url.username));
  if (url.password) out.set('password', decodeURIComponent(url.password));
  if (url.hostname) out.set('host', url.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (url.port) out.set('port', url.port);
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (db) out.set('dbname', db);
  for (const [k, v] of url.searchParams) out.set(k, v);
  return out;
}

const PG_KNOWN = new Set([
  'host',
  'port',
  'user',
  'password',
  'dbname',
  'sslmode',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslinline',
  'sslsni',
  'application_name',
  'fallback_application_name',
  'connect_timeout',
  'krbsrvname',
  'krbspn',
  'disable_prepared_binary_result',
  'binary_parameters',
  'readtimeout',
  'writetimeout',
]);

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new DsnError(`cannot read ${what} "${path}": ${(err as Error).message}`);
  }
}

/** A PostgreSQL DSN (lib/pq key=value words or a URL) as connection settings. */
export function parsePostgresDsn(dsn: string): PgConnectionSettings {
  const trimmed = dsn.trim();
  const kv = trimmed.startsWith('postgres://') || trimmed.startsWith('postgresql://') ? parsePgUrl(trimmed) : parseKeyValues(trimmed);
  const lower = new Map<string, string>();
  for (const [k, v] of kv) lower.set(k.toLowerCase(), v);
  const get = (k: string) => lower.get(k);
  const duration = (k: string) => {
    const v = get(k);
    if (v === undefined || v === '') return 0;
    try {
      return Math.max(0, parseGoDuration(v));
    } catch (err) {
      throw new DsnError(`unable to parse ${k === 'readtimeout' ? 'readTimeout' : 'writeTimeout'}: ${(err as Error).message}`);
    }
  };
  const out: PgConnectionSettings = {
    readTimeoutMs: duration('readtimeout'),
    writeTimeoutMs: duration('writetimeout'),
    connectTimeoutMs: 0,
    ssl: false,
  };
  const host = get('host');
  if (host) out.host = host;
  const port = get('port');
  if (port) {
    const p = Number(port);
    if (!Number.isInteger(p) || p <= 0 || p > 65535) throw new DsnError(`invalid port "${port}"`);
    out.port = p;
  }
  if (get('user')) out.user = get('user');
  if (get('password') !== undefined) out.password = get('password');
  if (get('dbname')) out.database = get('dbname');
  if (get('application_name')) out.applicationName = get('application_name');
  if (get('fallback_application_name')) out.fallbackApplicationName = get('fallback_application_name');
  const ct = get('connect_timeout');
  if (ct) {
    const secs = Number(ct);
    if (!Number.isFinite(secs)) throw new DsnError(`invalid connect_timeout "${ct}"`);
    // lib/pq: 0 means wait forever; other values are seconds (at least 2, as libpq does).
    if (secs > 0) out.connectTimeoutMs = Math.max(2, Math.trunc(secs)) * 1000;
  }
  const mode = get('sslmode') ?? process.env.PGSSLMODE ?? '';
  const rootCert = get('sslrootcert');
  const tls: ConnectionOptions = {};
  if (get('sslcert')) tls.cert = readPem(get('sslcert')!, 'sslcert');
  if (get('sslkey')) tls.key = readPem(get('sslkey')!, 'sslkey');
  switch (mode) {
    case '':
    case 'require':
      // lib/pq's default. A root certificate turns it into verify-ca, as libpq does.
      if (rootCert) {
        out.ssl = { ...tls, ca: readPem(rootCert, 'sslrootcert'), rejectUnauthorized: true, checkServerIdentity: () => undefined };
      } else out.ssl = { ...tls, rejectUnauthorized: false };
      break;
    case 'verify-ca':
      out.ssl = { ...tls, ...(rootCert ? { ca: readPem(rootCert, 'sslrootcert') } : {}), rejectUnauthorized: true, checkServerIdentity: () => undefined };
      break;
    case 'verify-full':
      out.ssl = { ...tls, ...(rootCert ? { ca: readPem(rootCert, 'sslrootcert') } : {}), rejectUnauthorized: true, ...(host ? { servername: host } : {}) };
      break;
    case 'disable':
      out.ssl = false;
      break;
    default:
      throw new DsnError(`unsupported sslmode "${mode}"; only "require" (default), "verify-full", "verify-ca", and "disable" supported`);
  }
  const extra: string[] = [];
  for (const [k, v] of kv) {
    if (PG_KNOWN.has(k.toLowerCase())) continue;
    extra.push(`-c ${k}=${v.replace(/\\/g, '\\\\').replace(/ /g, '\\ ')}`);
  }
  if (extra.length) out.options = extra.join(' ');
  return out;
}

export interface MysqlConnectionSettings extends TimeoutSettings {
  host?: string;
  port?: number;
  socketPath?: string;
  user: string;
  password: string;
  database: string;
  ssl?: { rejectUnauthorized: boolean };
  charset?: string;
  /** Parameters go-sql-driver does not know, which it sets as session variables (`SET name=value`) on connect. */
  sessionVariables: [string, string][];
}

const MYSQL_IGNORED = new Set([
  'allowallfiles',
  'allowcleartextpasswords',
  'allowfallbacktoplaintext',
  'allownativepasswords',
  'allowoldpasswords',
  'checkconnliveness',
  'clientfoundrows',
  'columnswithalias',
  'interpolateparams',
  'loc',
  'maxallowedpacket',
  'multistatements',
  'parsetime',
  'rejectreadonly',
  'serverpubkey',
  'connectionattributes',
]);

function unescapeParam(v: string): string {
  try {
    return decodeURIComponent(v.replace(/\+/g, ' '));
  } catch {
    throw new DsnError(`invalid value in DSN parameter: "${v}"`);
  }
}

/** A go-sql-driver/mysql DSN: `[user[:password]@][net[(addr)]]/dbname[?param1=value1&paramN=valueN]`. */
export function parseMysqlDsn(dsn: string): MysqlConnectionSettings {
  const slash = dsn.lastIndexOf('/');
  if (slash < 0) throw new DsnError('invalid DSN: missing the slash separating the database name');
  let user = '';
  let password = '';
  let net = '';
  let addr = '';
  if (slash > 0) {
    const left = dsn.slice(0, slash);
    const at = left.lastIndexOf('@');
    let rest = left;
    if (at >= 0) {
      const cred = left.slice(0, at);
      const colon = cred.indexOf(':');
      if (colon >= 0) {
        user = cred.slice(0, colon);
        password = cred.slice(colon + 1);
      } else user = cred;
      rest = left.slice(at + 1);
    }
    const paren = rest.indexOf('(');
    if (paren >= 0) {
      if (!rest.endsWith(')')) {
        if (rest.slice(paren + 1).includes(')')) throw new DsnError('invalid DSN: did you forget to escape a param value?');
        throw new DsnError('invalid DSN: network address not terminated (missing closing brace)');
      }
      addr = rest.slice(paren + 1, -1);
      net = rest.slice(0, paren);
    } else net = rest;
  }
  const tail = dsn.slice(slash + 1);
  const q = tail.indexOf('?');
  const database = unescapeParam(q >= 0 ? tail.slice(0, q) : tail);
  const out: MysqlConnectionSettings = {
    user,
    password,
    database,
    readTimeoutMs: 0,
    writeTimeoutMs: 0,
    connectTimeoutMs: 0,
    sessionVariables: [],
  };
  if (q >= 0) {
    for (const pair of tail.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq < 0) throw new DsnError(`invalid DSN: invalid parameter "${pair}"`);
      const key = pair.slice(0, eq);
      const value = unescapeParam(pair.slice(eq + 1));
      const duration = () => {
        try {
          return Math.max(0, parseGoDuration(value));
        } catch (err) {
          throw new DsnError(`invalid DSN: invalid ${key}: ${(err as Error).message}`);
        }
      };
      switch (key.toLowerCase()) {
        case 'readtimeout':
          out.readTimeoutMs = duration();
          break;
        case 'writetimeout':
          out.writeTimeoutMs = duration();
          break;
        case 'timeout':
          out.connectTimeoutMs = duration();
          break;
        case 'charset':
          out.charset = value.split(',')[0];
          break;
        case 'collation':
          out.charset = value;
          break;
        case 'tls': {
          const v = value.toLowerCase();
          if (v === 'true' || v === '1') out.ssl = { rejectUnauthorized: true };
          else if (v === 'skip-verify') out.ssl = { rejectUnauthorized: false };
          else if (v === 'false' || v === '0' || v === 'preferred' || v === '') delete out.ssl;
          else throw new DsnError(`invalid value / unknown config name: ${value}`);
          break;
        }
        default:
          if (MYSQL_IGNORED.has(key.toLowerCase())) break;
          out.sessionVariables.push([key, value]);
      }
    }
  }
  if (net === '') net = 'tcp';
  switch (net) {
    case 'tcp':
    case 'tcp4':
    case 'tcp6': {
      const a = addr || '127.0.0.1:3306';
      const m = /^\[([^\]]*)\](?::(\d+))?$/.exec(a) ?? /^([^:]*)(?::(\d+))?$/.exec(a);
      if (!m) throw new DsnError(`invalid DSN: bad address "${a}"`);
      out.host = m[1] || '127.0.0.1';
      out.port = m[2] ? Number(m[2]) : 3306;
      break;
    }
    case 'unix':
      out.socketPath = addr || '/tmp/mysql.sock';
      break;
    default:
      throw new DsnError(`invalid DSN: unknown network "${net}"`);
  }
  return out;
}
