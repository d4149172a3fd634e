import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { CorruptFileError } from '../../src/stores/file/format.js';
import { FileStore } from '../../src/stores/file/filestore.js';
import { rawIndex, rawRecords } from '../helpers/go-file-format.js';
import { copyGoStore, fixtureFileOptions, fixtureLimits } from '../helpers/go-fixture.js';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

function open(dir: string, truncateUnexpectedEOF = false, log = capturingLogger().log): FileStore {
  const store = new FileStore(dir, fixtureFileOptions({ truncateUnexpectedEOF }), log);
  store.setLimits(fixtureLimits());
  return store;
}

function flipByte(path: string, at: number): void {
  const b = readFileSync(path);
  b[at] = b[at]! ^ 0x5a;
  writeFileSync(path, b);
}

async function recoverError(store: FileStore): Promise<CorruptFileError> {
  try {
    await store.recover();
  } catch (err) {
    assert.ok(err instanceof CorruptFileError, `expected a CorruptFileError, got ${String(err)}`);
    return err;
  } finally {
    await store.close();
  }
  assert.fail('recovery should have failed');
}

describe('file store: damaged files on recovery', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ dir, cleanup } = await copyGoStore());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('stops at a truncated last message record, naming the file and the offset of the record', async () => {
    const dat = join(dir, 'orders', 'msgs.1.dat');
    const idx = join(dir, 'orders', 'msgs.1.idx');
    const lastOffset = rawIndex(idx).at(-1)!.offset;
    truncateSync(dat, statSync(dat).size - 3);
    const idxBefore = readFileSync(idx);
    const err = await recoverError(open(dir));
    assert.equal(err.file, dat);
    assert.equal(err.offset, lastOffset);
    assert.ok(err.unexpectedEOF);
    assert.match(err.message, new RegExp(`orders/msgs\\.1\\.dat.*offset ${lastOffset}`));
    // The failed start tried to rebuild the index (its last entry no longer matches) and left the files as they were.
    assert.ok(readFileSync(idx).equals(idxBefore), 'the index file is unchanged');
    assert.ok(!existsSync(`${idx}.rebuild`));
  });

  it('with truncateUnexpectedEOF, cuts the partial record, logs the loss and recovers the rest', async () => {
    const dat = join(dir, 'orders', 'msgs.1.dat');
    const lastOffset = rawIndex(join(dir, 'orders', 'msgs.1.idx')).at(-1)!.offset;
    const cutSize = statSync(dat).size - 3;
    truncateSync(dat, cutSize);
    const { log, lines } = capturingLogger();
    const store = open(dir, true, log);
    try {
      const state = await store.recover();
      const orders = state!.channels.get('orders')!.channel.msgs;
      assert.deepEqual(orders.firstAndLastSequence(), [1, 999]);
      assert.equal(Buffer.from((await orders.lookup(999))!.data).toString(), 'order-999');
      assert.equal(await orders.lookup(1000), undefined);
      assert.equal(state!.channels.get('limited')!.channel.msgs.state().msgs, 100);
    } finally {
      await store.close();
    }
    assert.equal(statSync(dat).size, lastOffset);
    assert.deepEqual(rawIndex(join(dir, 'orders', 'msgs.1.idx')).map((e) => e.seq), Array.from({ length: 999 }, (_, i) => i + 1));
    const report = lines.find((l) => l.file === dat && l.offset === lastOffset && l.lostBytes === cutSize - lastOffset);
    assert.ok(report, `a log line reports the truncation: ${JSON.stringify(lines)}`);
    assert.ok(existsSync(join(dir, '.truncate.lck')));
    // The option must not stay on: the next start with it fails, one without it is fine.
    await assert.rejects(open(dir, true).recover(), /consecutively/);
    const plain = open(dir);
    try {
      assert.equal((await plain.recover())!.channels.get('orders')!.channel.msgs.lastSequence(), 999);
    } finally {
      await plain.close();
    }
    assert.ok(!existsSync(join(dir, '.truncate.lck')));
  });

  it('indexes whole records written after the last index entry, and cuts an incomplete write after them', async () => {
    // What a crash leaves when it comes after a flush wrote its records (and acked them) and before their index entries
    // were written, with the next flush's record write cut short.
    const dat = join(dir, 'orders', 'msgs.1.dat');
    const idx = join(dir, 'orders', 'msgs.1.idx');
    const datSize = statSync(dat).size;
    const entries = rawIndex(idx);
    truncateSync(idx, 4 + (entries.length - 5) * 32);
    appendFileSync(dat, readFileSync(dat).subarray(entries[0]!.offset, entries[0]!.offset + 20));
    const { log, lines } = capturingLogger();
    const store = open(dir, false, log);
    try {
      const state = await store.recover();
      const orders = state!.channels.get('orders')!.channel.msgs;
      assert.deepEqual(orders.firstAndLastSequence(), [1, 1000]);
      for (const seq of [995, 996, 1000]) assert.equal(Buffer.from((await orders.lookup(seq))!.data).toString(), `order-${seq}`);
    } finally {
      await store.close();
    }
    assert.equal(statSync(dat).size, datSize);
    assert.deepEqual(rawIndex(idx), entries);
    assert.ok(lines.some((l) => l.msg === 'file store: indexed messages written after the last index entry' && l.msgs === 5));
    assert.ok(lines.some((l) => l.msg === 'file store: removed an incomplete write at the end of a data file' && l.offset === datSize && l.bytes === 20));
  });

  it('stops at a damaged record after the last index entry when whole records follow it', async () => {
    const dat = join(dir, 'orders', 'msgs.1.dat');
    const idx = join(dir, 'orders', 'msgs.1.idx');
    const entries = rawIndex(idx);
    truncateSync(idx, 4 + (entries.length - 5) * 32);
    const damaged = entries.at(-4)!;
    flipByte(dat, damaged.offset + 8 + 2);
    const err = await recoverError(open(dir));
    assert.equal(err.file, dat);
    assert.equal(err.offset, damaged.offset);
    assert.match(err.message, /crc/);
  });

  it('indexes the records of a slice whose index has no entry yet, and cuts an incomplete write after them', async () => {
    // A new slice's first flush was acked, its index write had not happened, and the next record write was cut short.
    const dat = join(dir, 'orders', 'msgs.1.dat');
    const idx = join(dir, 'orders', 'msgs.1.idx');
    const entries = rawIndex(idx);
    const datSize = statSync(dat).size;
    truncateSync(idx, 4);
    appendFileSync(dat, readFileSync(dat).subarray(entries[0]!.offset, entries[0]!.offset + 12));
    const store = open(dir);
    try {
      const state = await store.recover();
      const orders = state!.channels.get('orders')!.channel.msgs;
      assert.deepEqual(orders.firstAndLastSequence(), [1, 1000]);
      assert.equal(Buffer.from((await orders.lookup(1000))!.data).toString(), 'order-1000');
    } finally {
      await store.close();
    }
    assert.equal(statSync(dat).size, datSize);
    assert.deepEqual(rawIndex(idx), entries);
  });

  it('reports a flipped byte in a message as a CRC error at its record, which truncateUnexpectedEOF does not hide', async () => {
    const dat = join(dir, 'events.eu', 'msgs.1.dat');
    const last = rawIndex(join(dir, 'events.eu', 'msgs.1.idx')).at(-1)!;
    const size = statSync(dat).size;
    flipByte(dat, last.offset + 8 + 100);
    for (const truncate of [false, true]) {
      const err = await recoverError(open(dir, truncate));
      assert.equal(err.file, dat);
      assert.equal(err.offset, last.offset);
      assert.ok(!err.unexpectedEOF);
      assert.match(err.message, /crc/);
      rmSync(join(dir, '.truncate.lck'), { force: true });
    }
    assert.equal(statSync(dat).size, size, 'nothing was truncated');
  });

  it('reports a flipped byte in subs.dat at the offset of the damaged record', async () => {
    const subs = join(dir, 'orders', 'subs.dat');
    const victim = rawRecords(subs, true)[200]!;
    flipByte(subs, victim.offset + 9);
    for (const truncate of [false, true]) {
      const err = await recoverError(open(dir, truncate));
      assert.equal(err.file, subs);
      assert.equal(err.offset, victim.offset);
      assert.match(err.message, new RegExp(`subs\\.dat.*offset ${victim.offset}.*crc`));
      rmSync(join(dir, '.truncate.lck'), { force: true });
    }
  });

  it('truncates a partial clients.dat record only with the option (here losing the delete of client-closed)', async () => {
    const clients = join(dir, 'clients.dat');
    const last = rawRecords(clients, true).at(-1)!;
    truncateSync(clients, statSync(clients).size - 5);
    const err = await recoverError(open(dir));
    assert.equal(err.file, clients);
    assert.equal(err.offset, last.offset);
    const store = open(dir, true);
    try {
      const state = await store.recover();
      assert.deepEqual(state!.clients.map((c) => c.ID).sort(), ['client-closed', 'client-durable']);
    } finally {
      await store.close();
    }
    assert.equal(statSync(clients).size, last.offset);
  });

  it('cuts a zero-filled tail silently, as the Go store does after a crash', async () => {
    const subs = join(dir, 'orders', 'subs.dat');
    const size = statSync(subs).size;
    appendFileSync(subs, Buffer.alloc(100));
    const store = open(dir);
    try {
      const state = await store.recover();
      assert.equal(state!.channels.get('orders')!.subscriptions.length, 3);
    } finally {
      await store.close();
    }
    assert.equal(statSync(subs).size, size);
  });

  it('rebuilds a damaged or missing index file from the data file', async () => {
    const idx = join(dir, 'orders', 'msgs.1.idx');
    const original = readFileSync(idx);
    flipByte(idx, 4 + 32 * 500 + 3);
    rmSync(join(dir, 'limited', 'msgs.4.idx'));
    const limitedIdx = readFileSync(join(dir, 'limited', 'msgs.5.idx'));
    truncateSync(join(dir, 'limited', 'msgs.5.idx'), limitedIdx.length - 10);
    const store = open(dir);
    try {
      const state = await store.recover();
      const orders = state!.channels.get('orders')!.channel.msgs;
      assert.deepEqual(orders.state(), { msgs: 1000, bytes: 71766 });
      assert.equal(Buffer.from((await orders.lookup(501))!.data).toString(), 'order-501');
      const limited = state!.channels.get('limited')!.channel.msgs;
      assert.deepEqual(limited.firstAndLastSequence(), [31, 130]);
      assert.equal(Buffer.from((await limited.lookup(80))!.data).toString(), 'limited-80');
    } finally {
      await store.close();
    }
    assert.ok(readFileSync(idx).equals(original), 'the rebuilt index is the one the Go server wrote');
    assert.ok(readFileSync(join(dir, 'limited', 'msgs.5.idx')).equals(limitedIdx));
    assert.equal(rawIndex(join(dir, 'limited', 'msgs.4.idx')).length, 25);
  });

  it('refuses a file of an unknown version', async () => {
    const subs = join(dir, 'events.eu', 'subs.dat');
    const b = readFileSync(subs);
    b.writeUInt32LE(7, 0);
    writeFileSync(subs, b);
    const err = await recoverError(open(dir));
    assert.equal(err.file, subs);
    assert.match(err.message, /unsupported file version: 7/);
  });

  it('refuses channels without server information, as the Go store does', async () => {
    writeFileSync(join(dir, 'server.dat'), Buffer.from([1, 0, 0, 0]));
    const store = open(dir);
    try {
      await assert.rejects(store.recover(), /no server state recovered but channels present/);
    } finally {
      await store.close();
    }
  });
});
