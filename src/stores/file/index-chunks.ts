import { type Crc32, crcRange, crcTables } from './crc.js';
import { INDEX_RECORD_SIZE } from './format.js';
import { INDEX_CRC_WASM } from './index-crc-wasm.js';

export interface IndexChunkView {
  buf: Buffer;
  /** A DataView's reads compile to plain loads; Buffer.readUInt32LE took twenty times longer over a million entries. */
  view: DataView;
}

/**
 * Two buffers for reading an index file chunk by chunk (one is read into while the other is checked), with the check
 * of their entries' CRCs.
 */
export interface IndexChunks {
  readonly views: readonly [IndexChunkView, IndexChunkView];
  /** The position of the first of the first `entries` entries of chunk `i` whose CRC does not match, else `entries`. */
  firstBadEntry(i: 0 | 1, entries: number): number;
}

/** Where index-crc.wat expects its tables (8 tables of 256 words) and where the chunks start. */
const TABLES_BYTES = 8 * 256 * 4;
const WASM_PAGE = 64 * 1024;

/** WebAssembly memory is little-endian; the tables are copied into it as words of this machine. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

let wasmModule: WebAssembly.Module | undefined;

/**
 * Chunks of `chunkBytes` whose entries are checked with `crc` (none when undefined). Checksums from makeCrc32 are
 * checked in WebAssembly (index-crc.wat), over chunks that live in its memory, where WebAssembly can run; any other
 * checksum, in JavaScript.
 */
export function indexChunks(chunkBytes: number, crc: Crc32 | undefined): IndexChunks {
  const tables = crc && crcTables(crc);
  if (tables && LITTLE_ENDIAN) {
    try {
      return wasmChunks(chunkBytes, tables);
    } catch {
      // No WebAssembly here (node --jitless), or no address space for its memory (a low ulimit -v): check in JavaScript.
    }
  }
  const views = [chunkView(Buffer.allocUnsafe(chunkBytes)), chunkView(Buffer.allocUnsafe(chunkBytes))] as const;
  if (!crc) return { views, firstBadEntry: (_i, entries) => entries };
  const range = crcRange(crc);
  return {
    views,
    firstBadEntry(i, entries) {
      const { buf, view } = views[i];
      for (let k = 0, at = 0; k < entries; k++, at += INDEX_RECORD_SIZE) {
        if (range(buf, at, at + INDEX_RECORD_SIZE - 4) !== view.getUint32(at + INDEX_RECORD_SIZE - 4, true)) return k;
      }
      return entries;
    },
  };
}

function wasmChunks(chunkBytes: number, tables: Uint32Array): IndexChunks {
  wasmModule ??= new WebAssembly.Module(Buffer.from(INDEX_CRC_WASM, 'base64'));
  const memory = new WebAssembly.Memory({ initial: Math.ceil((TABLES_BYTES + 2 * chunkBytes) / WASM_PAGE) });
  const { firstBadEntry } = new WebAssembly.Instance(wasmModule, { env: { memory } }).exports as { firstBadEntry: (at: number, count: number) => number };
  new Uint32Array(memory.buffer, 0, tables.length).set(tables);
  const starts = [TABLES_BYTES, TABLES_BYTES + chunkBytes] as const;
  const views = [chunkView(Buffer.from(memory.buffer, starts[0], chunkBytes)), chunkView(Buffer.from(memory.buffer, starts[1], chunkBytes))] as const;
  return { views, firstBadEntry: (i, entries) => firstBadEntry(starts[i], entries) };
}

function chunkView(buf: Buffer): IndexChunkView {
  return { buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength) };
}
