import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { IdleMemoryReducer } from '../../src/idle-memory.js';
import { sleep, until } from '../helpers/stan-client.js';

const MB = 1024 * 1024;
const quiet = pino({ level: 'silent' });

/** Counts calls of a collection that does nothing, and the traffic the reducer watches. */
function harness(opts: { maxUsedHeapBytes?: number } = {}) {
  let collections = 0;
  let traffic = 0;
  const reducer = new IdleMemoryReducer(() => traffic, quiet, {
    idleMs: 250,
    checkMs: 20,
    minGrowthBytes: 8 * MB,
    ...opts,
    collect: async () => {
      collections++;
    },
  });
  return { reducer, collections: () => collections, serve: () => traffic++ };
}

describe('IdleMemoryReducer', () => {
  it('collects once traffic stops after the heap and buffers grew, and once only', async (t) => {
    const h = harness();
    t.after(() => h.reducer.stop());
    // Kept to the end (the collection here frees nothing), so that the growth stays.
    const burst = Buffer.alloc(16 * MB, 1);
    const serving = setInterval(h.serve, 5);
    await sleep(750);
    assert.equal(h.collections(), 0, 'not while clients are served');
    clearInterval(serving);
    await until(() => h.collections() === 1, 5000, 'a collection after the traffic stopped');
    await sleep(600);
    assert.equal(h.collections(), 1, 'not again without more growth');
    assert.equal(burst.length, 16 * MB);
  });

  it('leaves a process that did not grow alone', async (t) => {
    const h = harness();
    t.after(() => h.reducer.stop());
    h.serve();
    await sleep(700);
    assert.equal(h.collections(), 0);
  });

  it('leaves a large heap to V8', async (t) => {
    const h = harness({ maxUsedHeapBytes: 1 });
    t.after(() => h.reducer.stop());
    const burst = Buffer.alloc(16 * MB, 1);
    h.serve();
    await sleep(700);
    assert.equal(h.collections(), 0);
    assert.equal(burst.length, 16 * MB);
  });

  it('gives memory back through the inspector by default', async (t) => {
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    // Garbage once the reducer has taken its measure, so that no collection of V8's own frees it before.
    const garbage = Array.from({ length: 32 }, () => Buffer.alloc(MB, 1));
    const reducer = new IdleMemoryReducer(() => 0, log, { idleMs: 50, checkMs: 20, minGrowthBytes: 0 });
    t.after(() => reducer.stop());
    garbage.length = 0;
    await until(() => lines.some((l) => l.includes('memory given back')), 5000, 'a collection');
    const done = JSON.parse(lines.find((l) => l.includes('memory given back'))!) as { beforeMB: number; afterMB: number };
    assert.ok(done.afterMB <= done.beforeMB - 24, `before ${done.beforeMB} MB, after ${done.afterMB} MB`);
  });
});
