/**
 * The on-disk format of the Go file store (v0.25.6), byte for byte: every file starts with a little-endian uint32
 * version, followed by records framed as [uint32 size-or-type][uint32 CRC-32 of payload][payload]. Message index files
 * hold fixed 32-byte entries instead of framed records.
 */
import { loadUint64 } from '../../proto/codec.js';
import { type Crc32, crcRange } from './crc.js';

export const FILE_VERSION = 1;
export const VERSION_SIZE = 4;
export const RECORD_HEADER_SIZE = 8;
/** seq (8) + offset (8) + timestamp (8) + size (4) + CRC (4). */
export const INDEX_RECORD_SIZE = 32;
/** What the Go store adds to a message's encoded size when it counts bytes: its record header and its index entry. */
export const MSG_RECORD_OVERHEAD = RECORD_HEADER_SIZE + INDEX_RECORD_SIZE;
/** Typed records keep the type in the top byte of the first header word, which leaves 24 bits for the size. */
export const MAX_TYPED_RECORD_SIZE = 0xffffff;

export const SERVER_FILE = 'server.dat';
export const CLIENTS_FILE = 'clients.dat';
export const SUBS_FILE = 'subs.dat';
export const MSGS_PREFIX = 'msgs.';
export const DAT_SUFFIX = '.dat';
export const IDX_SUFFIX = '.idx';
export const BAK_SUFFIX = '.bak';
/** Present while a store opened with truncateUnexpectedEOF is in use, so that the option is not left on by mistake. */
export const TRUNCATE_WITNESS_FILE = '.truncate.lck';

/** Untyped records (server.dat, msgs.N.dat) use the whole first header word as the size. */
export const REC_NO_TYPE = 0;

export enum SubRecordType {
  New = 1,
  Update = 2,
  Delete = 3,
  Ack = 4,
  Msg = 5,
}

export enum ClientRecordType {
  Add = 1,
  Delete = 2,
}

export function datFileName(sliceId: number): string {
  return `${MSGS_PREFIX}${sliceId}${DAT_SUFFIX}`;
}

export function idxFileName(sliceId: number): string {
  return `${MSGS_PREFIX}${sliceId}${IDX_SUFFIX}`;
}

/** The slice number of a `msgs.N.dat` file name, or undefined for any other name. */
export function parseDatFileName(name: string): number | undefined {
  if (!name.startsWith(MSGS_PREFIX) || !name.endsWith(DAT_SUFFIX)) return undefined;
  const middle = name.slice(MSGS_PREFIX.length, name.length - DAT_SUFFIX.length);
  if (!/^\d+$/.test(middle)) return undefined;
  return Number(middle);
}

export function versionHeader(): Buffer {
  const b = Buffer.alloc(VERSION_SIZE);
  b.writeUInt32LE(FILE_VERSION, 0);
  return b;
}

/** Why a file cannot be used, with where it went wrong so that an operator can find it. */
export class CorruptFileError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    /** True when the file simply ends inside a record: the only damage truncateUnexpectedEOF repairs. */
    readonly unexpectedEOF = false,
  ) {
    super(`file "${file}" at offset ${offset}: ${reason}`);
    this.name = 'CorruptFileError';
  }
}

export function checkVersion(file: string, header: Uint8Array): void {
  if (header.length < VERSION_SIZE) throw new CorruptFileError(file, 0, 'unable to verify file version: unexpected end of file', true);
  const v = Buffer.from(header.buffer, header.byteOffset, VERSION_SIZE).readUInt32LE(0);
  if (v === 0 || v > FILE_VERSION) throw new CorruptFileError(file, 0, `unsupported file version: ${v} (supports [1..${FILE_VERSION}])`);
}

/**
 * Writes a record's header at `at` of `b`: its payload size (with the type in the top byte unless `type` is 0, an
 * untyped record) and the payload's checksum.
 */
export function writeRecordHeader(b: Buffer, at: number, type: number, size: number, checksum: number): void {
  if (type !== REC_NO_TYPE && size > MAX_TYPED_RECORD_SIZE) throw new Error(`record too big: ${size} bytes`);
  putUint32(b, at, type === REC_NO_TYPE ? size : ((type << 24) | size) >>> 0);
  putUint32(b, at + 4, checksum);
}

/**
 * A little-endian uint32 stored byte by byte: Buffer's writeUInt32LE range-checks its arguments on every call, and
 * every stored, sent and acked message writes several of these.
 */
export function putUint32(b: Buffer, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

/** Frames one record; `type` 0 writes an untyped record. */
export function encodeRecord(type: number, payload: Uint8Array, crc: Crc32): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_SIZE + payload.length);
  writeRecordHeader(out, 0, type, payload.length, crc(payload));
  out.set(payload, RECORD_HEADER_SIZE);
  return out;
}

export interface RecordHeader {
  type: number;
  size: number;
  crc: number;
  /** An all-zero header: the file was extended (pre-allocated or zero-filled after a crash) but never written here. */
  zero: boolean;
}

export function decodeRecordHeader(b: Uint8Array, at: number, typed: boolean): RecordHeader {
  const view = Buffer.from(b.buffer, b.byteOffset + at, RECORD_HEADER_SIZE);
  const first = view.readUInt32LE(0);
  const crc = view.readUInt32LE(4);
  const type = typed ? first >>> 24 : REC_NO_TYPE;
  const size = typed ? first & MAX_TYPED_RECORD_SIZE : first;
  return { type, size, crc, zero: first === 0 && crc === 0 };
}

export interface IndexEntry {
  seq: number;
  offset: number;
  timestamp: bigint;
  size: number;
}

function writeUint64(b: Buffer, n: number, at: number): void {
  putUint32(b, at, n % 0x1_0000_0000);
  putUint32(b, at + 4, Math.floor(n / 0x1_0000_0000));
}

/** Writes one index entry at `at` of `into` (a new buffer when none is given). */
export function encodeIndex(seq: number, offset: number, timestamp: bigint, size: number, crc: Crc32, into?: Buffer, at = 0): Buffer {
  const b = into ?? Buffer.allocUnsafe(INDEX_RECORD_SIZE);
  writeIndexFields(seq, offset, timestamp, size, b, at);
  putUint32(b, at + 28, crcRange(crc)(b, at, at + INDEX_RECORD_SIZE - 4));
  return b;
}

/** Writes an index entry's fields at `at` of `b`, all but its checksum. */
export function writeIndexFields(seq: number, offset: number, timestamp: bigint, size: number, b: Buffer, at: number): void {
  // Sequences and offsets stay below 2^53: two 32-bit halves each, without a BigInt per field per message.
  writeUint64(b, seq, at);
  writeUint64(b, offset, at + 8);
  const ts = loadUint64(timestamp);
  putUint32(b, at + 16, ts.getUint32(0, true));
  putUint32(b, at + 20, ts.getUint32(4, true));
  putUint32(b, at + 24, size);
}

export type IndexDecode = IndexEntry | 'zero' | 'crc';

/** One index entry, 'zero' for an all-zero (never written) entry, 'crc' when the checksum does not match. */
export function decodeIndex(b: Buffer, at: number, crc: Crc32 | undefined): IndexDecode {
  const seq = b.readBigUInt64LE(at);
  const offset = b.readBigUInt64LE(at + 8);
  const timestamp = b.readBigInt64LE(at + 16);
  const size = b.readUInt32LE(at + 24);
  const stored = b.readUInt32LE(at + 28);
  if (seq === 0n && offset === 0n && timestamp === 0n && size === 0 && stored === 0) return 'zero';
  if (crc && crc(b.subarray(at, at + INDEX_RECORD_SIZE - 4)) !== stored) return 'crc';
  return { seq: Number(seq), offset: Number(offset), timestamp, size };
}
