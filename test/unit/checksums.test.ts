import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import wabt from 'wabt';
import { batchChecksums } from '../../src/stores/file/batch-checksums.js';
import { CHECKSUMS_WASM } from '../../src/stores/file/checksums-wasm.js';
import { type Crc32, makeCrc32 } from '../../src/stores/file/crc.js';
import { INDEX_RECORD_SIZE, RECORD_HEADER_SIZE, REC_NO_TYPE, writeRecordHeader } from '../../src/stores/file/format.js';
import { indexChunks } from '../../src/stores/file/index-chunks.js';

/** Castagnoli, reversed, as Go's crc32.MakeTable takes it: a polynomial other than the default. */
const CASTAGNOLI = 0x82f63b78;

/** Fills `count` entries of random fields with their CRC, as the store writes them. */
function fillEntries(buf: Buffer, count: number, crc: (b: Uint8Array) => number, seed: number): void {
  let x = seed;
  for (let k = 0; k < count; k++) {
    const at = k * INDEX_RECORD_SIZE;
    for (let i = 0; i < INDEX_RECORD_SIZE - 4; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      buf[at + i] = x >>> 24;
    }
    buf.writeUInt32LE(crc(buf.subarray(at, at + INDEX_RECORD_SIZE - 4)), at + INDEX_RECORD_SIZE - 4);
  }
}

/** Frames records of the given payload sizes (pseudo-random bytes) with blank checksums, as the store does. */
function blankRecords(sizes: number[], seed: number): { buf: Buffer; payloads: Buffer[] } {
  const buf = Buffer.alloc(sizes.reduce((n, size) => n + RECORD_HEADER_SIZE + size, 0));
  const payloads: Buffer[] = [];
  let x = seed;
  let at = 0;
  for (const size of sizes) {
    writeRecordHeader(buf, at, REC_NO_TYPE, size, 0);
    const payload = buf.subarray(at + RECORD_HEADER_SIZE, at + RECORD_HEADER_SIZE + size);
    for (let i = 0; i < size; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      payload[i] = x >>> 24;
    }
    payloads.push(payload);
    at += RECORD_HEADER_SIZE + size;
  }
  return { buf, payloads };
}

/** Checks that every record of `buf` (framed by blankRecords) carries the checksum of its payload. */
function assertRecordChecksums(buf: Buffer, payloads: Buffer[], crc: Crc32): void {
  let at = 0;
  payloads.forEach((payload, i) => {
    assert.equal(buf.readUInt32LE(at), payload.length, `record ${i} size`);
    assert.equal(buf.readUInt32LE(at + 4), crc(payload), `record ${i} of ${payload.length} bytes`);
    assert.ok(buf.subarray(at + RECORD_HEADER_SIZE, at + RECORD_HEADER_SIZE + payload.length).equals(payload), `record ${i} payload untouched`);
    at += RECORD_HEADER_SIZE + payload.length;
  });
}

describe('the file store checksums in WebAssembly', () => {
  it('runs the module compiled from checksums.wat (run scripts/checksums-wasm.mjs after changing it)', async () => {
    const source = readFileSync(new URL('../../src/stores/file/checksums.wat', import.meta.url), 'utf8');
    const compiled = (await wabt()).parseWat('checksums.wat', source).toBinary({}).buffer;
    assert.equal(Buffer.from(compiled).toString('base64'), CHECKSUMS_WASM);
  });
});

describe('batch checksums of new records and index entries', () => {
  const sizes = [0, 1, 7, 8, 9, 15, 16, 17, 128, 160, 1000, 4093, 3, 64 * 1024 + 5];
  for (const [name, make] of [
    ['IEEE, in WebAssembly', () => makeCrc32()],
    ['Castagnoli, in WebAssembly', () => makeCrc32(CASTAGNOLI)],
    ['any other checksum function, one call per record', () => {
      const ieee = makeCrc32();
      return (b: Uint8Array) => ieee(b);
    }],
  ] as const) {
    it(`fills in each record's checksum in the range asked for, and nothing else (${name})`, () => {
      const crc = make();
      const { buf, payloads } = blankRecords(sizes, 11);
      const framed = Buffer.concat([Buffer.from('head'), buf, Buffer.from('tail')]);
      batchChecksums(crc).records(framed, 4, 4 + buf.length);
      assert.equal(framed.subarray(0, 4).toString(), 'head');
      assert.equal(framed.subarray(-4).toString(), 'tail');
      assertRecordChecksums(framed.subarray(4, -4), payloads, crc);
    });

    it(`fills in each index entry's checksum (${name})`, () => {
      const crc = make();
      const entries = 300;
      const expected = Buffer.alloc((entries + 2) * INDEX_RECORD_SIZE);
      fillEntries(expected, entries + 2, crc, 9);
      const blank = Buffer.from(expected);
      for (let k = 0; k < entries + 2; k++) blank.writeUInt32LE(0, k * INDEX_RECORD_SIZE + INDEX_RECORD_SIZE - 4);
      const untouched = Buffer.from(blank);
      batchChecksums(crc).entries(blank, INDEX_RECORD_SIZE, (entries + 1) * INDEX_RECORD_SIZE);
      assert.ok(blank.subarray(0, INDEX_RECORD_SIZE).equals(untouched.subarray(0, INDEX_RECORD_SIZE)), 'the entry before is left alone');
      assert.ok(blank.subarray(-INDEX_RECORD_SIZE).equals(untouched.subarray(-INDEX_RECORD_SIZE)), 'the entry after is left alone');
      assert.ok(blank.subarray(INDEX_RECORD_SIZE, -INDEX_RECORD_SIZE).equals(expected.subarray(INDEX_RECORD_SIZE, -INDEX_RECORD_SIZE)));
    });
  }

  it('takes batches larger than its WebAssembly memory, and very large records', () => {
    const crc = makeCrc32();
    for (const batch of [Array.from({ length: 900 }, (_, i) => 1000 + i), [5 * 1024 * 1024, 10]]) {
      const { buf, payloads } = blankRecords(batch, batch.length);
      batchChecksums(crc).records(buf, 0, buf.length);
      assertRecordChecksums(buf, payloads, crc);
    }
  });

  it('checksums in JavaScript where WebAssembly cannot run (node --jitless)', () => {
    const global = globalThis as { WebAssembly?: typeof WebAssembly };
    const saved = global.WebAssembly;
    delete global.WebAssembly;
    try {
      const crc = makeCrc32();
      const { buf, payloads } = blankRecords(sizes, 3);
      batchChecksums(crc).records(buf, 0, buf.length);
      assertRecordChecksums(buf, payloads, crc);
    } finally {
      global.WebAssembly = saved;
    }
  });
});

describe('index entry CRC check', () => {

  for (const [name, polynomial] of [['IEEE', undefined], ['Castagnoli', CASTAGNOLI]] as const) {
    it(`finds the first entry whose CRC does not match, in both chunks (${name})`, () => {
      const crc = makeCrc32(polynomial);
      const entries = 1000;
      const chunks = indexChunks(entries * INDEX_RECORD_SIZE, crc);
      for (const i of [0, 1] as const) {
        const { buf } = chunks.views[i];
        fillEntries(buf, entries, crc, 7 + i);
        assert.equal(chunks.firstBadEntry(i, entries), entries);
        for (const [entry, byte] of [[0, 0], [417, 13], [417, 27], [999, 31]] as const) {
          const at = entry * INDEX_RECORD_SIZE + byte;
          buf[at] ^= 0x10;
          assert.equal(chunks.firstBadEntry(i, entries), entry, `bit flipped in byte ${byte} of entry ${entry}`);
          assert.equal(chunks.firstBadEntry(i, entry), entry, 'only the entries asked for are checked');
          buf[at] ^= 0x10;
        }
      }
    });
  }

  it('checks in JavaScript where WebAssembly cannot run (node --jitless)', () => {
    const crc = makeCrc32();
    const global = globalThis as { WebAssembly?: typeof WebAssembly };
    const saved = global.WebAssembly;
    delete global.WebAssembly;
    try {
      const chunks = indexChunks(10 * INDEX_RECORD_SIZE, crc);
      fillEntries(chunks.views[1].buf, 10, crc, 5);
      assert.equal(chunks.firstBadEntry(1, 10), 10);
      chunks.views[1].buf[7 * INDEX_RECORD_SIZE] ^= 1;
      assert.equal(chunks.firstBadEntry(1, 10), 7);
    } finally {
      global.WebAssembly = saved;
    }
  });

  it('checks any other checksum function in JavaScript, and nothing without one', () => {
    const ieee = makeCrc32();
    const wrapped = (b: Uint8Array) => ieee(b);
    const chunks = indexChunks(10 * INDEX_RECORD_SIZE, wrapped);
    fillEntries(chunks.views[0].buf, 10, ieee, 3);
    assert.equal(chunks.firstBadEntry(0, 10), 10);
    chunks.views[0].buf[5 * INDEX_RECORD_SIZE + 2] ^= 1;
    assert.equal(chunks.firstBadEntry(0, 10), 5);
    assert.equal(indexChunks(10 * INDEX_RECORD_SIZE, undefined).firstBadEntry(0, 10), 10);
  });
});
