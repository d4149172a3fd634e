import type { Database, Dialect } from './db.js';

/**
 * The tables the SQL store uses, with the Go server's names, columns and types (deploy/sql/*.db.sql creates them). The
 * server never creates or alters a table: it checks them at start and, when one or a column is missing, stops with an
 * error that names it and gives the statement that adds it.
 */

interface TableDef {
  name: string;
  columns: string[];
  create: Record<Dialect, string[]>;
  /** Statements that add a column a table created by an older version lacks. */
  addColumn?: Record<string, Record<Dialect, string>>;
}

export const TABLES: TableDef[] = [
  {
    name: 'ServerInfo',
    columns: ['uniquerow', 'id', 'proto', 'version'],
    create: {
      postgres: ['CREATE TABLE IF NOT EXISTS ServerInfo (uniquerow INTEGER DEFAULT 1, id VARCHAR(1024), proto BYTEA, version INTEGER, PRIMARY KEY (uniquerow));'],
      mysql: ['CREATE TABLE IF NOT EXISTS ServerInfo (uniquerow INT DEFAULT 1, id VARCHAR(1024), proto BLOB, version INTEGER, PRIMARY KEY (uniquerow));'],
    },
  },
  {
    name: 'Clients',
    columns: ['id', 'hbinbox', 'proto'],
    create: {
      postgres: ['CREATE TABLE IF NOT EXISTS Clients (id VARCHAR(1024), hbinbox TEXT, proto BYTEA, PRIMARY KEY (id));'],
      mysql: ['CREATE TABLE IF NOT EXISTS Clients (id VARCHAR(1024), hbinbox TEXT, proto BLOB, PRIMARY KEY (id(256)));'],
    },
    addColumn: {
      // The 0.10.0 upgrade of the Go server's scripts.
      proto: { postgres: 'ALTER TABLE Clients ADD proto BYTEA;', mysql: 'ALTER TABLE Clients ADD proto BLOB;' },
    },
  },
  {
    name: 'Channels',
    columns: ['id', 'name', 'maxseq', 'maxmsgs', 'maxbytes', 'maxage', 'deleted'],
    create: {
      postgres: [
        'CREATE TABLE IF NOT EXISTS Channels (id INTEGER, name VARCHAR(1024) NOT NULL, maxseq BIGINT DEFAULT 0, maxmsgs INTEGER DEFAULT 0, maxbytes BIGINT DEFAULT 0, maxage BIGINT DEFAULT 0, deleted BOOL DEFAULT FALSE, PRIMARY KEY (id));',
        'CREATE INDEX IF NOT EXISTS Idx_ChannelsName ON Channels (name);',
      ],
      mysql: [
        'CREATE TABLE IF NOT EXISTS Channels (id INTEGER, name VARCHAR(1024) NOT NULL, maxseq BIGINT UNSIGNED DEFAULT 0, maxmsgs INTEGER DEFAULT 0, maxbytes BIGINT DEFAULT 0, maxage BIGINT DEFAULT 0, deleted BOOL DEFAULT FALSE, PRIMARY KEY (id), INDEX Idx_ChannelsName (name(256)));',
      ],
    },
  },
  {
    name: 'Messages',
    columns: ['id', 'seq', 'timestamp', 'size', 'data'],
    create: {
      postgres: [
        'CREATE TABLE IF NOT EXISTS Messages (id INTEGER, seq BIGINT, timestamp BIGINT, size INTEGER, data BYTEA, CONSTRAINT PK_MsgKey PRIMARY KEY(id, seq));',
        'CREATE INDEX IF NOT EXISTS Idx_MsgsTimestamp ON Messages (timestamp);',
      ],
      mysql: [
        'CREATE TABLE IF NOT EXISTS Messages (id INTEGER, seq BIGINT UNSIGNED, timestamp BIGINT, size INTEGER, data BLOB, CONSTRAINT PK_MsgKey PRIMARY KEY(id, seq), INDEX Idx_MsgsTimestamp (timestamp));',
      ],
    },
  },
  {
    name: 'Subscriptions',
    columns: ['id', 'subid', 'lastsent', 'proto', 'deleted'],
    create: {
      postgres: ['CREATE TABLE IF NOT EXISTS Subscriptions (id INTEGER, subid BIGINT, lastsent BIGINT DEFAULT 0, proto BYTEA, deleted BOOL DEFAULT FALSE, CONSTRAINT PK_SubKey PRIMARY KEY(id, subid));'],
      mysql: ['CREATE TABLE IF NOT EXISTS Subscriptions (id INTEGER, subid BIGINT UNSIGNED, lastsent BIGINT UNSIGNED DEFAULT 0, proto BLOB, deleted BOOL DEFAULT FALSE, CONSTRAINT PK_SubKey PRIMARY KEY(id, subid));'],
    },
  },
  {
    name: 'SubsPending',
    columns: ['subid', 'row', 'seq', 'lastsent', 'pending', 'acks'],
    create: {
      postgres: [
        'CREATE TABLE IF NOT EXISTS SubsPending (subid BIGINT, row BIGINT, seq BIGINT DEFAULT 0, lastsent BIGINT DEFAULT 0, pending BYTEA, acks BYTEA, CONSTRAINT PK_MsgPendingKey PRIMARY KEY(subid, row));',
        'CREATE INDEX IF NOT EXISTS Idx_SubsPendingSeq ON SubsPending (seq);',
      ],
      mysql: [
        'CREATE TABLE IF NOT EXISTS SubsPending (subid BIGINT UNSIGNED, `row` BIGINT UNSIGNED, seq BIGINT UNSIGNED DEFAULT 0, lastsent BIGINT UNSIGNED DEFAULT 0, pending BLOB, acks BLOB, CONSTRAINT PK_MsgPendingKey PRIMARY KEY(subid, `row`), INDEX Idx_SubsPendingSeq(seq));',
      ],
    },
  },
  {
    name: 'StoreLock',
    columns: ['id', 'tick'],
    create: {
      postgres: ['CREATE TABLE IF NOT EXISTS StoreLock (id VARCHAR(30), tick BIGINT DEFAULT 0);'],
      mysql: ['CREATE TABLE IF NOT EXISTS StoreLock (id VARCHAR(30), tick BIGINT UNSIGNED DEFAULT 0);'],
    },
  },
];

export class SqlSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlSchemaError';
  }
}

const SCRIPT: Record<Dialect, string> = { postgres: 'deploy/sql/postgres.db.sql', mysql: 'deploy/sql/mysql.db.sql' };

/** The (lower-cased) columns of every table visible in the connection's current schema or database. */
async function existingColumns(db: Database): Promise<Map<string, Set<string>>> {
  const sql =
    db.dialect === 'postgres'
      ? 'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ANY (current_schemas(false))'
      : 'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = DATABASE()';
  const rows = await db.query(sql);
  const out = new Map<string, Set<string>>();
  for (const [table, column] of rows) {
    const t = String(table).toLowerCase();
    let cols = out.get(t);
    if (!cols) out.set(t, (cols = new Set()));
    cols.add(String(column).toLowerCase());
  }
  return out;
}

/** Fails with an error naming the first missing table or column and the statement that adds it. */
export async function checkSchema(db: Database): Promise<void> {
  const existing = await existingColumns(db);
  for (const table of TABLES) {
    const cols = existing.get(table.name.toLowerCase());
    if (!cols) {
      throw new SqlSchemaError(
        `sql: table ${table.name} does not exist; the server does not create tables. Create it with:\n  ${table.create[db.dialect].join('\n  ')}\n` +
          `(${SCRIPT[db.dialect]} creates every table)`,
      );
    }
    for (const column of table.columns) {
      if (cols.has(column)) continue;
      const fix = table.addColumn?.[column]?.[db.dialect];
      const hint = fix
        ? `This database was created for an older server version. Add the column with:\n  ${fix}`
        : `Recreate the table as ${SCRIPT[db.dialect]} defines it:\n  ${table.create[db.dialect].join('\n  ')}`;
      throw new SqlSchemaError(`sql: column ${table.name}.${column} does not exist. ${hint}`);
    }
  }
}
