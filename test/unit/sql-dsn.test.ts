import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMysqlDsn, parsePostgresDsn } from '../../src/stores/sql/dsn.js';
import { toPostgres } from '../../src/stores/sql/db.js';
import { decodeSeqs, encodeSeqs } from '../../src/stores/sql/statements.js';

describe('SQL data source names', () => {
  it('parses lib/pq key=value words, quoting, timeouts and sslmode', () => {
    const s = parsePostgresDsn("host=db.example port=5433 user=nss password='p a\\'ss' dbname=nss_db sslmode=disable readTimeout=5s writeTimeout=2s connect_timeout=7");
    assert.equal(s.host, 'db.example');
    assert.equal(s.port, 5433);
    assert.equal(s.user, 'nss');
    assert.equal(s.password, "p a'ss");
    assert.equal(s.database, 'nss_db');
    assert.equal(s.ssl, false);
    assert.equal(s.readTimeoutMs, 5000);
    assert.equal(s.writeTimeoutMs, 2000);
    assert.equal(s.connectTimeoutMs, 7000);
    assert.equal(s.options, undefined);
    // lib/pq's default is sslmode=require (no certificate check).
    assert.deepEqual(parsePostgresDsn('host=x').ssl, { rejectUnauthorized: false });
    assert.throws(() => parsePostgresDsn('host=x sslmode=prefer'), /unsupported sslmode "prefer"/);
    assert.throws(() => parsePostgresDsn('host=x readTimeout=5'), /unable to parse readTimeout/);
    assert.throws(() => parsePostgresDsn('host'), /missing "="/);
    // Keys lib/pq does not know become run-time parameters.
    assert.equal(parsePostgresDsn('host=x search_path=nss').options, '-c search_path=nss');
  });

  it('parses postgres:// URLs like pq.ParseURL', () => {
    const s = parsePostgresDsn('postgres://nss:p%40ss@127.0.0.1:55532/nss_db?sslmode=disable&readTimeout=1s&application_name=stan');
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.port, 55532);
    assert.equal(s.user, 'nss');
    assert.equal(s.password, 'p@ss');
    assert.equal(s.database, 'nss_db');
    assert.equal(s.ssl, false);
    assert.equal(s.readTimeoutMs, 1000);
    assert.equal(s.applicationName, 'stan');
    assert.equal(parsePostgresDsn('postgresql://[::1]:5432/db?sslmode=disable').host, '::1');
  });

  it('parses go-sql-driver/mysql DSNs', () => {
    const s = parseMysqlDsn('nss:p@ss:w@tcp(127.0.0.1:53306)/nss_db?readTimeout=3s&writeTimeout=1s&timeout=10s&charset=utf8mb4,utf8&parseTime=true');
    assert.equal(s.user, 'nss');
    assert.equal(s.password, 'p@ss:w');
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.port, 53306);
    assert.equal(s.database, 'nss_db');
    assert.equal(s.readTimeoutMs, 3000);
    assert.equal(s.writeTimeoutMs, 1000);
    assert.equal(s.connectTimeoutMs, 10_000);
    assert.equal(s.charset, 'utf8mb4');
    assert.deepEqual(s.sessionVariables, []);
    const d = parseMysqlDsn('root@/db');
    assert.deepEqual([d.user, d.password, d.host, d.port, d.database], ['root', '', '127.0.0.1', 3306, 'db']);
    assert.equal(parseMysqlDsn('u:p@tcp(dbhost)/db').port, 3306);
    assert.equal(parseMysqlDsn('u:p@unix(/run/mysqld/mysqld.sock)/db').socketPath, '/run/mysqld/mysqld.sock');
    assert.deepEqual(parseMysqlDsn('u:p@tcp(h:1)/db?tls=skip-verify').ssl, { rejectUnauthorized: false });
    assert.deepEqual(parseMysqlDsn('u:p@tcp(h:1)/db?sql_mode=%27ANSI%27').sessionVariables, [['sql_mode', "'ANSI'"]]);
    assert.throws(() => parseMysqlDsn('u:p@tcp(h:1)'), /missing the slash/);
    assert.throws(() => parseMysqlDsn('u:p@tcp(h:1/db'), /not terminated/);
    assert.throws(() => parseMysqlDsn('u:p@tcp(h:1)/db?readTimeout=x'), /invalid duration/);
  });

  it('rewrites statements for PostgreSQL as the Go store does', () => {
    assert.equal(toPostgres('INSERT INTO SubsPending (subid, `row`, seq) VALUES (?, ?, ?)'), 'INSERT INTO SubsPending (subid, row, seq) VALUES ($1, $2, $3)');
  });

  it('encodes pending and acks lists as the Go store (JSON arrays of sequences)', () => {
    assert.equal(encodeSeqs(new Set([500, 402, 406])).toString(), '[500,402,406]');
    assert.equal(encodeSeqs([]).toString(), '[]');
    assert.deepEqual(decodeSeqs(Buffer.from('[500,402,406]')), [500, 402, 406]);
    assert.deepEqual(decodeSeqs(Buffer.from('null')), []);
    assert.deepEqual(decodeSeqs(null), []);
    assert.deepEqual(decodeSeqs(Buffer.alloc(0)), []);
    assert.throws(() => decodeSeqs(Buffer.from('{"a":1}')), /invalid sequence list/);
  });
});
