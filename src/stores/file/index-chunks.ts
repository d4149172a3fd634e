import { TABLES_BYTES, checksumsInstance } from './checksums-instance.js';
import { type Crc32, crcRange, crcTables } from './crc.js';
import { INDEX_RECORD_SIZE } from './format.js';

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

/**
 * Chunks of `chunkBytes` whose entries are checked with `crc` (none when undefined). Checksums from makeCrc32 are
 * checked in WebAssembly (checksums.wat), over chunks that live in its memory, where WebAssembly can run; any other
 * checksum, in JavaScript.
 */
export function indexChunks(chunkBytes: number, crc: Crc32 | undefined): IndexChunks {
  const tables = crc && crcTables(crc);
  const wasm = tables && checksumsInstance(tables, 2 * chunkBytes);
  if (wasm) {
    const starts = [TABLES_BYTES, TABLES_BYTES + chunkBytes] as const;
    const views = [chunkView(Buffer.from(wasm.memory.buffer, starts[0], chunkBytes)), chunkView(Buffer.from(wasm.memory.buffer, starts[1], chunkBytes))] as const;
    return { views, firstBadEntry: (i, entries) => wasm.exports.firstBadEntry(starts[i], entries) };
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

function chunkView(buf: Buffer): IndexChunkView {
  return { buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength) };
}
