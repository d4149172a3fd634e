import { crc32 as zlibCrc32 } from 'node:zlib';

/** Computes a CRC-32 checksum of a byte range. */
export type Crc32 = (bytes: Uint8Array) => number;

/** The polynomial Go's crc32.IEEE stands for, in the reversed form Go's crc32.MakeTable takes. */
export const IEEE_POLYNOMIAL = 0xedb88320;

/** The checksum of bytes [start, end) of a buffer, without a subarray: cheaper for the many tiny ranges of an index. */
export type Crc32Range = (bytes: Uint8Array, start: number, end: number) => number;

function makeTable(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
}

function tableCrcRange(table: Uint32Array): Crc32Range {
  return (bytes, start, end) => {
    let crc = 0xffffffff;
    for (let i = start; i < end; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
  };
}

function tableCrc(polynomial: number): Crc32 {
  const range = tableCrcRange(makeTable(polynomial));
  return (bytes) => range(bytes, 0, bytes.length);
}

/** Range versions of the checksums makeCrc32 returns. */
const ranges = new WeakMap<Crc32, Crc32Range>();

/**
 * The range form of a checksum: a table-driven loop for those from makeCrc32 (for ranges of a few dozen bytes it beats
 * a call into zlib, which also needs a subarray), otherwise the checksum of a subarray.
 */
export function crcRange(crc: Crc32): Crc32Range {
  return ranges.get(crc) ?? ((bytes, start, end) => crc(bytes.subarray(start, end)));
}

/**
 * The checksum the Go file store computes with the given (reversed) polynomial. The IEEE one, which every store uses
 * unless configured otherwise, goes through zlib's native code.
 */
export function makeCrc32(polynomial: number = IEEE_POLYNOMIAL): Crc32 {
  const poly = polynomial >>> 0;
  const crc: Crc32 = poly === IEEE_POLYNOMIAL && typeof zlibCrc32 === 'function' ? (bytes) => zlibCrc32(bytes) >>> 0 : tableCrc(poly);
  ranges.set(crc, tableCrcRange(makeTable(poly)));
  return crc;
}
