/**
 * Every statement the SQL store runs, in MySQL's form (`?` placeholders, quoted `row`); the PostgreSQL connection
 * rewrites them (see toPostgres). Table and column names are the Go server's, so that either server can use the same
 * database.
 */
export const SQL = {
  lockSelect: 'SELECT id, tick FROM StoreLock FOR UPDATE',
  lockInsert: 'INSERT INTO StoreLock (id, tick) VALUES (?, ?)',
  lockUpdate: 'UPDATE StoreLock SET id=?, tick=?',
  lockUpdateIfOwner: 'UPDATE StoreLock SET id=?, tick=? WHERE id=?',

  hasServerInfo: 'SELECT COUNT(uniquerow) FROM ServerInfo',
  updateServerInfo: 'UPDATE ServerInfo SET id=?, proto=?, version=? WHERE uniquerow=1',
  addServerInfo: 'INSERT INTO ServerInfo (id, proto, version) VALUES (?, ?, ?)',
  recoverServerInfo: 'SELECT id, proto, version FROM ServerInfo WHERE uniquerow=1',

  addClient: 'INSERT INTO Clients (id, hbinbox, proto) VALUES (?, ?, ?)',
  deleteClient: 'DELETE FROM Clients WHERE id=?',
  recoverClients: 'SELECT id, hbinbox, proto FROM Clients',

  addChannel: 'INSERT INTO Channels (id, name, maxmsgs, maxbytes, maxage) VALUES (?, ?, ?, ?, ?)',
  maxChannelId: 'SELECT COALESCE(MAX(id), 0) FROM Channels',
  channelsList: 'SELECT id, name, maxseq FROM Channels WHERE deleted=FALSE',
  channelLimits: 'SELECT maxmsgs, maxbytes, maxage FROM Channels WHERE id=?',
  updateChannelLimits: 'UPDATE Channels SET maxmsgs=?, maxbytes=?, maxage=? WHERE id=?',
  updateChannelMaxSeq: 'UPDATE Channels SET maxseq=? WHERE id=?',
  markChannelDeleted: 'UPDATE Channels SET deleted=TRUE WHERE id=?',
  deleteChannel: 'DELETE FROM Channels WHERE id=?',

  /** Followed by one `(?, ?, ?, ?, ?)` group per message. */
  insertMsgs: 'INSERT INTO Messages (id, seq, timestamp, size, data) VALUES ',
  lookupMsgs: 'SELECT seq, data FROM Messages WHERE id=? AND seq>=? AND seq<=? ORDER BY seq',
  seqFromTimestamp: 'SELECT seq FROM Messages WHERE id=? AND timestamp>=? ORDER BY seq LIMIT 1',
  lastExpiredSeq: 'SELECT COALESCE(MAX(seq), 0) FROM Messages WHERE id=? AND timestamp<=?',
  countAndSizeUpTo: 'SELECT COUNT(seq), COALESCE(SUM(size), 0) FROM Messages WHERE id=? AND seq<=?',
  deleteMsgsUpTo: 'DELETE FROM Messages WHERE id=? AND seq<=?',
  /** The oldest messages' sizes and timestamps, read in chunks when limits drop messages. */
  msgSizes: 'SELECT seq, size, timestamp FROM Messages WHERE id=? AND seq>=? AND seq<=? ORDER BY seq LIMIT ?',
  newestSizes: 'SELECT seq, size FROM Messages WHERE id=? AND seq<? ORDER BY seq DESC LIMIT ?',
  channelMsgs: 'SELECT COUNT(seq), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0), COALESCE(SUM(size), 0) FROM Messages WHERE id=?',
  lastSeq: 'SELECT COALESCE(MAX(seq), 0) FROM Messages WHERE id=?',
  msgCount: 'SELECT COUNT(seq) FROM Messages WHERE id=?',
  totalSize: 'SELECT COALESCE(SUM(size), 0) FROM Messages WHERE id=?',
  expireMsgsAt: 'DELETE FROM Messages WHERE id=? AND timestamp<=?',
  seqFloorForMaxMsgs: 'SELECT MIN(t.seq) FROM (SELECT seq FROM Messages WHERE id=? ORDER BY seq DESC LIMIT ?) t',
  someMsgsSeq: 'SELECT COALESCE(MAX(t1.seq), 0) FROM (SELECT seq FROM Messages WHERE id=? ORDER BY seq LIMIT ?) t1',

  maxSubId: 'SELECT COALESCE(MAX(subid), 0) FROM Subscriptions',
  countSubs: 'SELECT COUNT(subid) FROM Subscriptions WHERE id=? AND deleted=FALSE',
  createSub: 'INSERT INTO Subscriptions (id, subid, proto) VALUES (?, ?, ?)',
  updateSub: 'UPDATE Subscriptions SET proto=? WHERE id=? AND subid=?',
  markSubDeleted: 'UPDATE Subscriptions SET deleted=TRUE WHERE id=? AND subid=?',
  deleteSub: 'DELETE FROM Subscriptions WHERE id=? AND subid=?',
  deleteSubsMarkedDeleted: 'DELETE FROM Subscriptions WHERE id=? AND deleted=TRUE',
  subUpdateLastSent: 'UPDATE Subscriptions SET lastsent=? WHERE id=? AND subid=?',
  channelSubs: 'SELECT lastsent, proto FROM Subscriptions WHERE id=? AND deleted=FALSE',
  deleteChannelSubs: 'DELETE FROM Subscriptions WHERE id=?',

  deleteSubPending: 'DELETE FROM SubsPending WHERE subid=?',
  subAddPending: 'INSERT INTO SubsPending (subid, `row`, seq) VALUES (?, ?, ?)',
  subAddPendingRow: 'INSERT INTO SubsPending (subid, `row`, lastsent, pending, acks) VALUES (?, ?, ?, ?, ?)',
  subDeletePending: 'DELETE FROM SubsPending WHERE subid=? AND seq=?',
  subDeletePendingRow: 'DELETE FROM SubsPending WHERE subid=? AND `row`=?',
  purgeSubPending: 'DELETE FROM SubsPending WHERE subid=? AND (seq > 0 AND seq<?)',
  subPending: 'SELECT `row`, seq, lastsent, pending, acks FROM SubsPending WHERE subid=? ORDER BY `row`',
  channelSubIdsWithPending:
    'SELECT DISTINCT SubsPending.subid FROM SubsPending INNER JOIN Subscriptions ON Subscriptions.id=? AND Subscriptions.subid=SubsPending.subid LIMIT ?',
} as const;

/** The layout version the Go server writes in ServerInfo.version. */
export const SQL_VERSION = 1;

/** Converts a column value (a number, or a string for 64-bit and aggregate columns) to a number. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return v === '' ? 0 : Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v == null) return 0;
  if (Buffer.isBuffer(v)) return Number(v.toString());
  return Number(v);
}

/** Converts a 64-bit column value to a bigint without losing precision. */
export function big(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string') return v === '' ? 0n : BigInt(v.split('.')[0]!);
  if (v == null) return 0n;
  return BigInt(String(v));
}

export function bytesOf(v: unknown): Uint8Array | null {
  if (v == null) return null;
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'latin1');
  return null;
}

/** A pending/acks column: the JSON array of sequences the Go store writes (e.g. `[500,402,406]`). */
export function encodeSeqs(seqs: Iterable<number>): Buffer {
  let s = '[';
  let first = true;
  for (const seq of seqs) {
    if (!first) s += ',';
    s += String(seq);
    first = false;
  }
  return Buffer.from(`${s}]`, 'latin1');
}

export function decodeSeqs(data: Uint8Array | null): number[] {
  if (!data || data.length === 0) return [];
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  const parsed: unknown = JSON.parse(text);
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new Error(`sql: invalid sequence list ${JSON.stringify(text.slice(0, 40))}`);
  return parsed.map((v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`sql: invalid sequence ${String(v)} in pending list`);
    return v;
  });
}
