import { type ChecksumsExports, TABLES_BYTES, WASM_PAGE, checksumsInstance } from './checksums-instance.js';
import { type Crc32, crcRange, crcTables } from './crc.js';
import { INDEX_RECORD_SIZE, RECORD_HEADER_SIZE, putUint32 } from './format.js';

/**
 * Fills in the checksums of records and index entries framed without them: the file store frames each message as it is
 * stored and checksums a whole batch just before writing it.
 */
export interface BatchChecksums {
  /** The untyped records in buf[start, end). */
  records(buf: Buffer, start: number, end: number): void;
  /** The index entries in buf[start, end). */
  entries(buf: Buffer, start: number, end: number): void;
}

/** Batches are copied into WebAssembly memory up to this size; larger ones (big messages) are checksummed in place. */
const MAX_WASM_BATCH = 4 * 1024 * 1024;
const INITIAL_WASM_BATCH = 256 * 1024;

const made = new WeakMap<Crc32, BatchChecksums>();

/**
 * The batch checksums for `crc`: in WebAssembly (checksums.wat) for those from makeCrc32 where it can run, which costs
 * two copies of the batch and one call; otherwise one call of `crc` per record.
 */
export function batchChecksums(crc: Crc32): BatchChecksums {
  let sums = made.get(crc);
  if (!sums) {
    const inPlace = inPlaceChecksums(crc);
    const tables = crcTables(crc);
    const wasm = tables && checksumsInstance(tables, INITIAL_WASM_BATCH);
    sums = wasm ? wasmChecksums(wasm.memory, wasm.exports, inPlace) : inPlace;
    made.set(crc, sums);
  }
  return sums;
}

function inPlaceChecksums(crc: Crc32): BatchChecksums {
  const range = crcRange(crc);
  return {
    records(buf, start, end) {
      for (let at = start; at < end; ) {
        const size = buf.readUInt32LE(at);
        const body = at + RECORD_HEADER_SIZE;
        putUint32(buf, at + 4, crc(buf.subarray(body, body + size)));
        at = body + size;
      }
    },
    entries(buf, start, end) {
      for (let at = start; at < end; at += INDEX_RECORD_SIZE) putUint32(buf, at + INDEX_RECORD_SIZE - 4, range(buf, at, at + INDEX_RECORD_SIZE - 4));
    },
  };
}

function wasmChecksums(memory: WebAssembly.Memory, wasm: ChecksumsExports, inPlace: BatchChecksums): BatchChecksums {
  let bytes = new Uint8Array(memory.buffer);
  /** Copies buf[start, end) after the tables, growing the memory if needed; false when the batch is too big for it. */
  const copyIn = (buf: Buffer, start: number, end: number): boolean => {
    const need = TABLES_BYTES + end - start;
    if (end - start > MAX_WASM_BATCH) return false;
    if (need > bytes.length) {
      memory.grow(Math.ceil((need - bytes.length) / WASM_PAGE));
      bytes = new Uint8Array(memory.buffer);
    }
    bytes.set(buf.subarray(start, end), TABLES_BYTES);
    return true;
  };
  const copyOut = (buf: Buffer, start: number, end: number): void => {
    buf.set(bytes.subarray(TABLES_BYTES, TABLES_BYTES + end - start), start);
  };
  return {
    records(buf, start, end) {
      if (start === end) return;
      if (!copyIn(buf, start, end)) return inPlace.records(buf, start, end);
      wasm.fillRecordCrcs(TABLES_BYTES, TABLES_BYTES + end - start);
      copyOut(buf, start, end);
    },
    entries(buf, start, end) {
      if (start === end) return;
      if (!copyIn(buf, start, end)) return inPlace.entries(buf, start, end);
      wasm.fillEntryCrcs(TABLES_BYTES, (end - start) / INDEX_RECORD_SIZE);
      copyOut(buf, start, end);
    },
  };
}
