import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { Logger } from '../../log.js';
import { pb } from '../../proto/codec.js';
import type { Crc32 } from './crc.js';
import {
  CorruptFileError,
  INDEX_RECORD_SIZE,
  type IndexEntry,
  MSG_RECORD_OVERHEAD,
  RECORD_HEADER_SIZE,
  VERSION_SIZE,
  checkVersion,
  decodeIndex,
  decodeRecordHeader,
  encodeIndex,
  versionHeader,
} from './format.js';
import { type IndexChunkView, indexChunks } from './index-chunks.js';
import { type ScanEnd, exists, readFully, replaceFile, scanRecords, settleScanEnd, writeFully } from './io.js';
import { MsgSlice } from './slice.js';

export interface SliceRecoveryOptions {
  crc: Crc32;
  doCRC: boolean;
  truncateUnexpectedEOF: boolean;
  log: Logger;
}

const INDEX_CHUNK_ENTRIES = 32 * 1024;

/**
 * Rebuilds the counters of slice `id` from its files. The index file is trusted when its last entry matches the data
 * file (as in the Go store); otherwise the index is rebuilt from the data file. Returns undefined for a slice with no
 * message, which, like the Go store, we leave on disk and ignore.
 */
export async function recoverSlice(dir: string, id: number, o: SliceRecoveryOptions): Promise<MsgSlice | undefined> {
  const slice = new MsgSlice(id, dir, false);
  const dat = await open(slice.datPath, 'r+');
  let idx: FileHandle | undefined;
  try {
    const datSize = (await dat.stat()).size;
    if (datSize === 0) return undefined;
    const header = Buffer.alloc(VERSION_SIZE);
    checkVersion(slice.datPath, header.subarray(0, await readFully(dat, header, 0)));
    let fromIndex = false;
    if (await exists(slice.idxPath)) {
      idx = await open(slice.idxPath, 'r+');
      try {
        fromIndex = await recoverFromIndex(slice, dat, idx, o);
      } catch (err) {
        if (!(err instanceof CorruptFileError)) throw err;
        o.log.error({ file: slice.idxPath, reason: err.message }, 'file store: bad index file, rebuilding it from the data file');
        resetCounters(slice);
      }
    }
    if (!fromIndex) {
      // Closed first: the rebuilt index is renamed over this file.
      await idx?.close();
      idx = undefined;
      await rebuildIndexAside(slice, dat, o);
    }
  } finally {
    await Promise.allSettled([dat.close(), idx?.close()]);
  }
  return slice.msgsCount > 0 ? slice : undefined;
}

function resetCounters(s: MsgSlice): void {
  s.baseSeq = s.firstSeq = s.lastSeq = s.msgsCount = s.msgsSize = s.written = 0;
  s.contiguous = true;
  s.firstWrite = 0n;
  s.datEnd = s.idxEnd = VERSION_SIZE;
}

function account(s: MsgSlice, e: IndexEntry): void {
  if (s.msgsCount === 0) {
    s.baseSeq = s.firstSeq = e.seq;
    s.firstWrite = e.timestamp;
  } else if (e.seq !== s.lastSeq + 1) {
    s.contiguous = false;
  }
  s.lastSeq = e.seq;
  s.msgsCount++;
  s.msgsSize += e.size + MSG_RECORD_OVERHEAD;
}

/**
 * Counts the whole entries in the first `n` bytes of the chunk into the slice. This loop sees every message of the
 * store on each start, so it reads the few fields it needs in place rather than decoding entries (with their bigints),
 * and it is a plain function so that V8 optimises it (a loop inside an async function stayed unoptimised).
 * Stops at a zero-filled entry (a tail the OS extended but never wrote) or at `firstBad`, the first entry whose CRC
 * does not match.
 */
function accountEntries(s: MsgSlice, chunk: IndexChunkView, n: number, firstBad: number): { bytes: number; stop?: 'zero' | 'crc' } {
  const { buf, view } = chunk;
  const badAt = firstBad * INDEX_RECORD_SIZE;
  let at = 0;
  for (; at + INDEX_RECORD_SIZE <= n; at += INDEX_RECORD_SIZE) {
    const seq = view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
    const size = view.getUint32(at + 24, true);
    if (seq === 0 && size === 0 && view.getUint32(at + 28, true) === 0 && isZeroEntry(buf, at)) return { bytes: at, stop: 'zero' };
    if (at === badAt) return { bytes: at, stop: 'crc' };
    if (s.msgsCount === 0) {
      account(s, decodeIndex(buf, at, undefined) as IndexEntry);
    } else {
      if (seq !== s.lastSeq + 1) s.contiguous = false;
      s.lastSeq = seq;
      s.msgsCount++;
      s.msgsSize += size + MSG_RECORD_OVERHEAD;
    }
  }
  return { bytes: at };
}

/** Recovers the slice from its index, and indexes the records found after its last entry; throws CorruptFileError when the index is unusable. */
async function recoverFromIndex(s: MsgSlice, dat: FileHandle, idx: FileHandle, o: SliceRecoveryOptions): Promise<boolean> {
  const size = (await idx.stat()).size;
  if (size === 0) {
    // Created, then a crash before its header was written: like an index with no entry yet.
    await writeFully(idx, versionHeader(), 0);
    await indexDataTail(s, dat, idx, o, (await dat.stat()).size);
    return true;
  }
  const header = Buffer.alloc(VERSION_SIZE);
  checkVersion(s.idxPath, header.subarray(0, await readFully(idx, header, 0)));
  const whole = Math.floor((size - VERSION_SIZE) / INDEX_RECORD_SIZE);
  const wholeEnd = VERSION_SIZE + whole * INDEX_RECORD_SIZE;
  let pos = VERSION_SIZE;
  let last: IndexEntry | undefined;
  const chunk = Math.min(INDEX_CHUNK_ENTRIES, Math.max(whole, 1)) * INDEX_RECORD_SIZE;
  const chunks = indexChunks(chunk, o.doCRC ? o.crc : undefined);
  const { views } = chunks;
  // Two buffers: the next chunk is read while this one is checked.
  let readAt = pos;
  const readNext = (v: IndexChunkView) => {
    const at = readAt;
    readAt = Math.min(wholeEnd, readAt + chunk);
    return readFully(idx, v.buf, at, readAt - at);
  };
  let reading = pos < wholeEnd ? readNext(views[0]) : undefined;
  try {
    for (let turn = 0; reading; turn++) {
      const n = await reading;
      reading = undefined;
      if (n === 0) break;
      const i = (turn & 1) as 0 | 1;
      const v = views[i];
      if (readAt < wholeEnd) reading = readNext(views[i ^ 1]!);
      const scan = accountEntries(s, v, n, chunks.firstBadEntry(i, Math.floor(n / INDEX_RECORD_SIZE)));
      pos += scan.bytes;
      if (scan.bytes > 0) last = decodeIndex(v.buf, scan.bytes - INDEX_RECORD_SIZE, undefined) as IndexEntry;
      if (scan.stop === 'crc') throw new CorruptFileError(s.idxPath, pos, 'corrupted index entry (crc mismatch)');
      if (scan.stop === 'zero') {
        // A read past the zero-filled tail may fail; those bytes are cut anyway.
        await reading?.catch(() => undefined);
        reading = undefined;
        o.log.warn({ file: s.idxPath, offset: pos }, 'file store: zero-filled tail removed');
        await idx.truncate(pos);
        break;
      }
    }
  } finally {
    await reading?.catch(() => undefined);
  }
  if (pos === wholeEnd && size > wholeEnd) {
    // An index write cut short by a crash; its records are still in the data file and get their entries again below.
    o.log.warn({ file: s.idxPath, offset: wholeEnd, bytes: size - wholeEnd }, 'file store: removed a partial index entry');
    await idx.truncate(wholeEnd);
  }
  if (!last) {
    // No entry yet: the slice's first records may be there without theirs (a crash before the first index write).
    await indexDataTail(s, dat, idx, o, (await dat.stat()).size);
    return true;
  }
  await checkLastMessage(s, dat, last, o);
  s.idxEnd = pos;
  s.written = s.msgsCount;
  s.datEnd = last.offset + RECORD_HEADER_SIZE + last.size;
  const datSize = (await dat.stat()).size;
  if (datSize > s.datEnd) await indexDataTail(s, dat, idx, o, datSize);
  return true;
}

/**
 * Records after the last indexed one: a flush acks once its records are written and writes their index entries
 * afterwards, so a crash can leave acked records without an index entry. Each whole, valid record gets its entry. A
 * write cut short at the end of the file (a partial or zero-filled record, or a damaged last one) is cut, since no ack
 * ever covered it; a damaged record with more after it stops recovery, as damage elsewhere does.
 */
async function indexDataTail(s: MsgSlice, dat: FileHandle, idx: FileHandle, o: SliceRecoveryOptions, datSize: number): Promise<void> {
  const before = s.msgsCount;
  const end = await indexRecords(s, dat, idx, o, s.datEnd, s.idxEnd, true);
  s.idxEnd = VERSION_SIZE + s.msgsCount * INDEX_RECORD_SIZE;
  s.written = s.msgsCount;
  s.datEnd = end.offset;
  if (s.msgsCount > before) o.log.info({ file: s.idxPath, msgs: s.msgsCount - before }, 'file store: indexed messages written after the last index entry');
  if (end.kind === 'eof') return;
  if (end.kind === 'corrupt' && !(await reachesEnd(end.offset, dat, datSize))) {
    // Damage with whole records after it is not an interrupted write: as anywhere else in the file, recovery stops.
    o.log.error({ file: s.datPath, offset: end.offset, reason: end.error.reason }, 'file store: cannot recover file; make a copy of the store directory before any repair');
    throw end.error;
  }
  o.log.warn({ file: s.datPath, offset: end.offset, bytes: datSize - end.offset }, 'file store: removed an incomplete write at the end of a data file');
  await dat.truncate(end.offset);
}

/** Whether the record at `offset` is the last thing in the file: cut short, or its bytes running to the end. */
async function reachesEnd(offset: number, dat: FileHandle, datSize: number): Promise<boolean> {
  const header = Buffer.alloc(RECORD_HEADER_SIZE);
  if ((await readFully(dat, header, offset)) < RECORD_HEADER_SIZE) return true;
  return offset + RECORD_HEADER_SIZE + decodeRecordHeader(header, 0, false).size >= datSize;
}

function isZeroEntry(b: Buffer, at: number): boolean {
  for (let i = at; i < at + INDEX_RECORD_SIZE; i++) if (b[i] !== 0) return false;
  return true;
}

/** The Go store's consistency check between the two files: the last indexed message must be where the index says. */
async function checkLastMessage(s: MsgSlice, dat: FileHandle, e: IndexEntry, o: SliceRecoveryOptions): Promise<void> {
  const buf = Buffer.allocUnsafe(RECORD_HEADER_SIZE + e.size);
  const n = await readFully(dat, buf, e.offset);
  const fail = (why: string) => new CorruptFileError(s.datPath, e.offset, `last indexed message (seq ${e.seq}) does not match: ${why}`);
  if (n < buf.length) throw fail('data file too short');
  const h = decodeRecordHeader(buf, 0, false);
  if (h.size !== e.size) throw fail(`record size ${h.size}, index says ${e.size}`);
  const payload = buf.subarray(RECORD_HEADER_SIZE);
  if (o.crc(payload) !== h.crc) throw fail('crc mismatch');
  let seq: number;
  try {
    seq = pb.MsgProto.decode(payload).sequence;
  } catch (err) {
    throw fail(`cannot decode message: ${(err as Error).message}`);
  }
  if (seq !== e.seq) throw fail(`data file has seq ${seq}`);
}

/**
 * Rebuilds the index into a new file that replaces the old one once complete. A rebuild that fails (a damaged data
 * file) leaves the slice's files as they were (but for a torn tail already cut from the index), for the copy the
 * operator is asked to make before any repair; a half-built index is never left where the next start would trust it.
 */
function rebuildIndexAside(s: MsgSlice, dat: FileHandle, o: SliceRecoveryOptions): Promise<void> {
  return replaceFile(s.idxPath, '.rebuild', 'w+', (idx) => rebuildFromData(s, dat, idx, o));
}

async function rebuildFromData(s: MsgSlice, dat: FileHandle, idx: FileHandle, o: SliceRecoveryOptions): Promise<void> {
  resetCounters(s);
  await idx.truncate(0);
  await writeFully(idx, versionHeader(), 0);
  const end = await indexRecords(s, dat, idx, o, VERSION_SIZE, VERSION_SIZE);
  const datEnd = await settleScanEnd(end, dat, s.datPath, o.truncateUnexpectedEOF, o.log);
  await idx.sync();
  s.datEnd = datEnd;
  s.idxEnd = VERSION_SIZE + s.msgsCount * INDEX_RECORD_SIZE;
  s.written = s.msgsCount;
  if (s.msgsCount > 0) o.log.info({ file: s.idxPath, msgs: s.msgsCount }, 'file store: index rebuilt from the data file');
}

/**
 * Scans the data file's records from `datPos`, accounts each message in the slice and writes its index entry from
 * `idxPos` on. With `inOrder`, a record whose message does not come after the last one stops the scan like a damaged
 * one. Returns where the scan stopped; the index holds an entry for every record before that.
 */
async function indexRecords(s: MsgSlice, dat: FileHandle, idx: FileHandle, o: SliceRecoveryOptions, datPos: number, idxPos: number, inOrder = false): Promise<ScanEnd> {
  let pending = Buffer.allocUnsafe(INDEX_CHUNK_ENTRIES * INDEX_RECORD_SIZE);
  let used = 0;
  const flushIndex = async () => {
    if (used === 0) return;
    await writeFully(idx, pending.subarray(0, used), idxPos);
    idxPos += used;
    used = 0;
  };
  const end = await scanRecords(
    dat,
    s.datPath,
    false,
    o.doCRC ? o.crc : undefined,
    async (_type, payload, offset) => {
      let msg;
      try {
        msg = pb.MsgProto.decode(payload);
      } catch (err) {
        throw new CorruptFileError(s.datPath, offset, `cannot decode message: ${(err as Error).message}`);
      }
      if (inOrder && msg.sequence <= s.lastSeq) throw new CorruptFileError(s.datPath, offset, `message ${msg.sequence} after message ${s.lastSeq}`);
      const e: IndexEntry = { seq: msg.sequence, offset, timestamp: msg.timestamp, size: payload.length };
      account(s, e);
      encodeIndex(e.seq, e.offset, e.timestamp, e.size, o.crc, pending, used);
      used += INDEX_RECORD_SIZE;
      if (used === pending.length) {
        await flushIndex();
        pending = Buffer.allocUnsafe(pending.length);
      }
    },
    datPos,
  );
  await flushIndex();
  return end;
}
