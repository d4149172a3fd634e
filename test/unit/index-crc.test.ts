import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import wabt from 'wabt';
import { makeCrc32 } from '../../src/stores/file/crc.js';
import { INDEX_RECORD_SIZE } from '../../src/stores/file/format.js';
import { INDEX_CRC_WASM } from '../../src/stores/file/index-crc-wasm.js';
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

describe('index entry CRC check', () => {
  it('runs the module compiled from index-crc.wat (run scripts/index-crc-wasm.mjs after changing it)', async () => {
    const source = readFileSync(new URL('../../src/stores/file/index-crc.wat', import.meta.url), 'utf8');
    const compiled = (await wabt()).parseWat('index-crc.wat', source).toBinary({}).buffer;
    assert.equal(Buffer.from(compiled).toString('base64'), INDEX_CRC_WASM);
  });

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
