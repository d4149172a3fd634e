import { crc32 as zlibCrc32 } from 'node:zlib';

/** Computes a CRC-32 checksum of a byte range. */
export type Crc32 = (bytes: Uint8Array) => number;

/** The polynomial Go's crc32.IEEE stands for, in the reversed form Go's crc32.MakeTable takes. */
export const IEEE_POLYNOMIAL = 0xedb88320;

function tableCrc(polynomial: number): Crc32 {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
    table[i] = c >>> 0;
  }
  return (bytes) => {
    let crc = 0xffffffff;
    for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
  };
}

/**
 * The checksum the Go file store computes with the given (reversed) polynomial. The IEEE one, which every store uses
 * unless configured otherwise, goes through zlib's native code.
 */
export function makeCrc32(polynomial: number = IEEE_POLYNOMIAL): Crc32 {
  const poly = polynomial >>> 0;
  if (poly === IEEE_POLYNOMIAL && typeof zlibCrc32 === 'function') return (bytes) => zlibCrc32(bytes) >>> 0;
  return tableCrc(poly);
}
