import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MsgProto } from '../../src/proto/codec.js';
import { MemoryStore } from '../../src/stores/memory/memstore.js';

const msg = (sequence: number, data: Uint8Array): MsgProto => ({ sequence, subject: 'c', reply: '', data, timestamp: BigInt(sequence) });

describe('memory store payloads', () => {
  it('keeps copies of its own, packed together, not views of the socket reads they arrived in', async () => {
    const store = new MemoryStore();
    const { msgs } = await store.createChannel('c');
    // As from socket reads that also carried other channels' messages: one small message of ours in each.
    const reads = Array.from({ length: 100 }, (_, i) => Buffer.alloc(64 * 1024, i));
    reads.forEach((read, i) => msgs.store(msg(i + 1, read.subarray(500, 600))));
    const kept = await Promise.all(reads.map((_, i) => msgs.lookup(i + 1)));
    kept.forEach((m, i) => {
      assert.notEqual(m!.data.buffer, reads[i]!.buffer);
      assert.deepEqual(Buffer.from(m!.data), Buffer.alloc(100, i));
    });
    // 10 KB of payloads in slabs of 1, 2, 4 and 8 KB.
    assert.ok(new Set(kept.map((m) => m!.data.buffer)).size <= 4);
  });

  it('copies a large payload on its own', async () => {
    const store = new MemoryStore();
    const { msgs } = await store.createChannel('c');
    const read = Buffer.alloc(64 * 1024, 9);
    msgs.store(msg(1, read.subarray(0, 20 * 1024)));
    const m = await msgs.lookup(1);
    assert.notEqual(m!.data.buffer, read.buffer);
    assert.equal(m!.data.byteLength, m!.data.buffer.byteLength);
    assert.deepEqual(Buffer.from(m!.data), Buffer.alloc(20 * 1024, 9));
  });
});
