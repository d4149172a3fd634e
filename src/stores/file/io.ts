import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import type { Logger } from '../../log.js';
import type { Crc32 } from './crc.js';
import { CorruptFileError, RECORD_HEADER_SIZE, VERSION_SIZE, checkVersion, decodeRecordHeader, versionHeader } from './format.js';

/** Reads until `length` bytes are in or the file ends; returns how many were read. */
export async function readFully(fh: FileHandle, buf: Buffer, position: number, length = buf.length): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Positional writes can be short (a full disk, a signal); loop so that a record is never left half written by us. */
export async function writeFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten === 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

/**
 * Replaces `path` with a file written aside (`path` + `suffix`, opened with `flags`) by `write`, renamed over it once
 * complete: a failed write removes the aside file and leaves `path` as it was.
 */
export async function replaceFile(path: string, suffix: string, flags: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const aside = `${path}${suffix}`;
  const fh = await open(aside, flags);
  try {
    await write(fh);
  } catch (err) {
    await fh.close();
    await rm(aside, { force: true });
    throw err;
  }
  await fh.close();
  await rename(aside, path);
}

export async function exists(path: string): Promise<boolean> {
  try {
    const fh = await open(path, 'r');
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Opens a store file for reading and writing, creating it with the version header when missing (or when it is empty,
 * which only a crash right after creation leaves). An existing file's version must be one we understand.
 */
export async function openStoreFile(path: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fh = await open(path, 'w+');
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) {
      await writeFully(fh, versionHeader(), 0);
      return { fh, size: VERSION_SIZE };
    }
    const header = Buffer.alloc(VERSION_SIZE);
    const n = await readFully(fh, header, 0);
    checkVersion(path, header.subarray(0, n));
    return { fh, size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Creates (or empties) a store file so that it holds only the version header. */
export async function createStoreFile(path: string): Promise<FileHandle> {
  const fh = await open(path, 'w+');
  try {
    await writeFully(fh, versionHeader(), 0);
  } catch (err) {
    await fh.close();
    throw err;
  }
  return fh;
}

export type ScanEnd =
  | { kind: 'eof'; offset: number }
  /** All-zero bytes where a record header should be: the tail was never written. */
  | { kind: 'zero'; offset: number }
  | { kind: 'corrupt'; offset: number; error: CorruptFileError };

export type RecordVisitor = (type: number, payload: Buffer, offset: number) => void | Promise<void>;

const SCAN_CHUNK = 1024 * 1024;

/**
 * Reads the framed records of a file in order, from `start` to its end, in large sequential reads. The payload handed
 * to the visitor is only valid during the call. Stops at the first record that cannot be used; a visitor that throws a
 * CorruptFileError stops the scan the same way.
 */
export async function scanRecords(fh: FileHandle, file: string, typed: boolean, crc: Crc32 | undefined, visit: RecordVisitor, start = VERSION_SIZE): Promise<ScanEnd> {
  const { size } = await fh.stat();
  let chunk = Buffer.alloc(0);
  let chunkStart = start;
  let pos = start;
  const ensure = async (n: number): Promise<number> => {
    const available = Math.min(n, size - pos);
    if (pos >= chunkStart && pos + available <= chunkStart + chunk.length) return available;
    const want = Math.min(Math.max(n, SCAN_CHUNK), size - pos);
    chunk = Buffer.allocUnsafe(want);
    chunkStart = pos;
    chunk = chunk.subarray(0, await readFully(fh, chunk, pos));
    return Math.min(n, chunk.length);
  };
  for (;;) {
    if (pos >= size) return { kind: 'eof', offset: pos };
    const gotHeader = await ensure(RECORD_HEADER_SIZE);
    if (gotHeader < RECORD_HEADER_SIZE) {
      const error = new CorruptFileError(file, pos, `unexpected end of file: record header expected to be ${RECORD_HEADER_SIZE} bytes, only read ${gotHeader}`, true);
      return { kind: 'corrupt', offset: pos, error };
    }
    const header = decodeRecordHeader(chunk, pos - chunkStart, typed);
    if (header.zero) return { kind: 'zero', offset: pos };
    const total = RECORD_HEADER_SIZE + header.size;
    const got = await ensure(total);
    if (got < total) {
      const error = new CorruptFileError(file, pos, `unexpected end of file: record payload expected to be ${header.size} bytes, only read ${got - RECORD_HEADER_SIZE}`, true);
      return { kind: 'corrupt', offset: pos, error };
    }
    const from = pos - chunkStart + RECORD_HEADER_SIZE;
    const payload = chunk.subarray(from, from + header.size);
    if (crc) {
      const actual = crc(payload);
      if (actual !== header.crc) {
        const error = new CorruptFileError(file, pos, `corrupted data, expected crc to be 0x${hex(header.crc)}, got 0x${hex(actual)}`);
        return { kind: 'corrupt', offset: pos, error };
      }
    }
    try {
      await visit(header.type, payload, pos);
    } catch (err) {
      if (err instanceof CorruptFileError) return { kind: 'corrupt', offset: pos, error: err };
      throw err;
    }
    pos += total;
  }
}

export function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * What recovery does where a scan stopped early. A zero-filled tail is cut off silently, as the Go store does. A file
 * that ends inside a record is cut at that record only with `truncateUnexpectedEOF`; anything else stops recovery.
 * Returns the offset at which the file now ends.
 */
export async function settleScanEnd(end: ScanEnd, fh: FileHandle, file: string, truncateUnexpectedEOF: boolean, log: Logger): Promise<number> {
  if (end.kind === 'eof') return end.offset;
  const { size } = await fh.stat();
  if (end.kind === 'zero') {
    log.warn({ file, offset: end.offset, bytes: size - end.offset }, 'file store: zero-filled tail removed');
    await fh.truncate(end.offset);
    return end.offset;
  }
  if (end.error.unexpectedEOF && truncateUnexpectedEOF) {
    await fh.truncate(end.offset);
    log.error(
      { file, offset: end.offset, lostBytes: size - end.offset, reason: end.error.reason },
      'file store: truncated a file that ended inside a record (truncateUnexpectedEOF); the partial record is lost',
    );
    return end.offset;
  }
  log.error({ file, offset: end.offset, reason: end.error.reason }, 'file store: cannot recover file; make a copy of the store directory before any repair');
  throw end.error;
}
