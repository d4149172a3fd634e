import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, it } from 'node:test';
import { crcRange, makeCrc32 } from '../../src/stores/file/crc.js';

describe('file store CRC-32', () => {
  it('gives the standard check values of the IEEE and Castagnoli polynomials, whole and by range', () => {
    const check = Buffer.from('xx123456789yy');
    for (const [poly, expected] of [
      [0xedb88320, 0xcbf43926],
      [0x82f63b78, 0xe3069283],
    ] as const) {
      const crc = makeCrc32(poly);
      assert.equal(crc(check.subarray(2, 11)), expected);
      assert.equal(crcRange(crc)(check, 2, 11), expected);
    }
  });

  it('agrees with zlib on every length and offset around the 8-byte steps', () => {
    const bytes = Buffer.from(Array.from({ length: 80 }, (_, i) => (i * 151 + 17) & 0xff));
    const range = crcRange(makeCrc32());
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= bytes.length; end++) assert.equal(range(bytes, start, end), zlibCrc32(bytes.subarray(start, end)) >>> 0, `[${start}, ${end})`);
    }
  });
});
