import assert from 'node:assert/strict';
import { constants, existsSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open as openFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type FileStoreOptions, defaultFileStoreOptions } from '../../src/config/options.js';
import { type ClientInfo, type MsgProto, type ServerInfo, type SubState, pb } from '../../src/proto/codec.js';
import { IEEE_POLYNOMIAL, makeCrc32 } from '../../src/stores/file/crc.js';
import { CorruptFileError } from '../../src/stores/file/format.js';
import { FileStore } from '../../src/stores/file/filestore.js';
import { sliceLimitsFor } from '../../src/stores/file/msgstore.js';
import { type StoreLimits, channelLimitsFor, defaultStoreLimits } from '../../src/stores/limits.js';
import { MemoryMsgStore } from '../../src/stores/memory/memstore.js';
import { protoFields, rawIndex, rawRecords } from '../helpers/go-file-format.js';
import { prng } from '../helpers/raw.js';

const info: ServerInfo = {
  ClusterID: 'unit',
  Discovery: '_STAN.discover.unit',
  Publish: '_STAN.pub.unit',
  Subscribe: '_STAN.sub.unit',
  Unsubscribe: '_STAN.unsub.unit',
  Close: '_STAN.close.unit',
  SubClose: '_STAN.subclose.unit',
  AcksSubs: '_STAN.ack.unit',
  NodeID: '',
};

const client = (id: string): ClientInfo => ({ ID: id, HbInbox: `_INBOX.${id}`, ConnID: Buffer.from(id), Protocol: 1, PingInterval: 5, PingMaxOut: 3 });

function msg(seq: number, data: string | Buffer = `m${seq}`, timestamp = 1_700_000_000_000_000_000n + BigInt(seq)): MsgProto {
  return { sequence: seq, subject: 'foo', reply: '', data: typeof data === 'string' ? Buffer.from(data) : data, timestamp };
}

function subState(overrides: Partial<SubState> = {}): SubState {
  return { ID: 0, clientID: 'c', qGroup: '', inbox: 'in', ackInbox: 'ack', maxInFlight: 10, ackWaitInSecs: 30, durableName: '', lastSent: 0, isDurable: false, isClosed: false, ...overrides };
}

const text = (m: MsgProto | undefined) => Buffer.from(m!.data).toString();

/** The open flags of this process's descriptor for `path`, from /proc (Linux). */
function openFlags(path: string): number {
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target === path) return Number.parseInt(/^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
  }
  return assert.fail(`${path} is not open`);
}

interface FileCalls {
  write: number;
  datasync: number;
  sync: number;
  /** Writes by file name. */
  writesTo: Map<string, number>;
}

/** Counts the FileHandle writes and syncs made while `run` runs. */
async function countFileCalls(probe: string, run: () => Promise<void>): Promise<FileCalls> {
  const handle = await openFile(probe, 'r');
  const proto = Object.getPrototypeOf(handle) as { write: (...a: unknown[]) => unknown; datasync: () => unknown; sync: () => unknown };
  await handle.close();
  const calls: FileCalls = { write: 0, datasync: 0, sync: 0, writesTo: new Map() };
  const saved = { write: proto.write, datasync: proto.datasync, sync: proto.sync };
  proto.write = function (this: { fd: number }, ...a: unknown[]) {
    calls.write++;
    const name = readlinkSync(`/proc/self/fd/${this.fd}`).split('/').pop()!;
    calls.writesTo.set(name, (calls.writesTo.get(name) ?? 0) + 1);
    return saved.write.apply(this, a);
  };
  proto.datasync = function (this: unknown) {
    calls.datasync++;
    return saved.datasync.apply(this);
  };
  proto.sync = function (this: unknown) {
    calls.sync++;
    return saved.sync.apply(this);
  };
  try {
    await run();
  } finally {
    Object.assign(proto, saved);
  }
  return calls;
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('file store: behaviour on disk', () => {
  let dir: string;
  const stores: FileStore[] = [];
  const make = (opts: Partial<FileStoreOptions> = {}, limits: StoreLimits = defaultStoreLimits()): FileStore => {
    const s = new FileStore(dir, opts);
    s.setLimits(limits);
    stores.push(s);
    return s;
  };

  /** The message store of channel foo, holding message 1 with its index entry written. */
  const fooWithOneMessage = async (opts: Partial<FileStoreOptions> = {}) => {
    const store = make(opts);
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    msgs.store(msg(1));
    await msgs.flush();
    await waitFor('the first index entry', () => rawIndex(join(dir, 'foo', 'msgs.1.idx')).length === 1);
    return msgs;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nss-file-unit-'));
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('writes records that an independent reader of the Go format decodes', async () => {
    const store = make();
    await store.init(info);
    await store.addClient(client('a'));
    await store.addClient(client('b'));
    await store.deleteClient('a');
    const { msgs, subs } = await store.createChannel('foo');
    const payloads = [Buffer.alloc(0), Buffer.from('x'), Buffer.alloc(300, 7)];
    payloads.forEach((p, i) => msgs.store(msg(i + 1, p)));
    await msgs.flush();
    const sub = subState({ durableName: 'd', isDurable: true });
    await subs.createSub(sub);
    subs.addSeqPending(sub.ID, 1);
    subs.addSeqPending(sub.ID, 2);
    subs.ackSeqPending(sub.ID, 1);
    await subs.updateSub({ ...sub, isClosed: true });
    await subs.deleteSub(sub.ID);
    await subs.flush();
    await store.close();

    const server = rawRecords(join(dir, 'server.dat'), false);
    assert.equal(server.length, 1);
    assert.equal(protoFields(server[0]!.payload).get(1)![0]!.toString(), 'unit');

    const clients = rawRecords(join(dir, 'clients.dat'), true);
    assert.deepEqual(clients.map((r) => [r.type, protoFields(r.payload).get(1)![0]!.toString()]), [[1, 'a'], [1, 'b'], [2, 'a']]);

    const records = rawRecords(join(dir, 'foo', 'msgs.1.dat'), false);
    const index = rawIndex(join(dir, 'foo', 'msgs.1.idx'));
    assert.equal(records.length, 3);
    assert.deepEqual(index.map((e) => e.seq), [1, 2, 3]);
    records.forEach((r, i) => {
      const f = protoFields(r.payload);
      assert.equal(f.get(1)![0], BigInt(i + 1));
      assert.equal(f.get(2)![0]!.toString(), 'foo');
      assert.deepEqual(Buffer.from((f.get(4)?.[0] as Buffer | undefined) ?? []), payloads[i]);
      assert.equal(index[i]!.offset, r.offset);
      assert.equal(index[i]!.size, r.payload.length);
      assert.equal(index[i]!.timestamp, f.get(5)![0]);
    });

    const subRecs = rawRecords(join(dir, 'foo', 'subs.dat'), true);
    assert.deepEqual(subRecs.map((r) => r.type), [1, 5, 5, 4, 2, 3]);
    assert.equal(protoFields(subRecs[0]!.payload).get(8)![0]!.toString(), 'd');
    assert.deepEqual([...protoFields(subRecs[2]!.payload).values()].flat(), [BigInt(sub.ID), 2n]);
  });

  it('keeps each stored message\'s encoding intact across many flushes, and writes records that match it', async () => {
    const store = make();
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    const stored: MsgProto[] = [];
    const r = prng(11);
    let seq = 0;
    // Enough bytes to go through several record buffers, with flushes of every size, some with records of their own
    // larger than a buffer, and some messages arriving with their encoding already made.
    for (let round = 0; round < 60; round++) {
      const n = 1 + Math.floor(r() * 200);
      for (let i = 0; i < n; i++) {
        const size = round % 20 === 7 && i === 0 ? 300 * 1024 : Math.floor(r() * 2000);
        const m = msg(++seq, Buffer.alloc(size, seq % 251));
        if (i % 10 === 3) m.wire = pb.MsgProto.encode(m);
        msgs.store(m);
        stored.push(m);
      }
      await msgs.flush();
    }
    for (const m of stored) assert.deepEqual(Buffer.from(m.wire!), Buffer.from(pb.MsgProto.encode({ ...m, wire: undefined })), `wire of seq ${m.sequence}`);
    await store.close();
    const records = readdirSync(join(dir, 'foo'))
      .filter((f) => f.endsWith('.dat'))
      .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))
      .flatMap((f) => rawRecords(join(dir, 'foo', f), false));
    assert.equal(records.length, stored.length);
    records.forEach((rec, i) => assert.ok(Buffer.from(stored[i]!.wire!).equals(rec.payload), `record ${i + 1}`));
  });

  it("keeps a stored message's data in its record, not in the buffer the message arrived in", async () => {
    const store = make();
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    // As from a socket read that also carried other channels' messages.
    const socketRead = Buffer.alloc(64 * 1024, 7);
    const m = msg(1, socketRead.subarray(1000, 1128));
    msgs.store(m);
    assert.notEqual(m.data.buffer, socketRead.buffer);
    assert.equal(m.data.buffer, m.wire!.buffer);
    assert.deepEqual(Buffer.from(m.data), Buffer.alloc(128, 7));
    await msgs.flush();
    assert.deepEqual(Buffer.from((await msgs.lookup(1))!.data), Buffer.alloc(128, 7));
  });

  it('writes each flush as one write to a data file opened with O_DSYNC, and its index entries in one write after', async () => {
    const msgs = await fooWithOneMessage();
    // With --file_sync, each write returns once it is on disk: the files are opened with O_DSYNC instead of synced.
    for (const name of ['msgs.1.dat', 'msgs.1.idx']) assert.ok(openFlags(join(dir, 'foo', name)) & constants.O_DSYNC, `${name} opened with O_DSYNC`);
    const calls = await countFileCalls(join(dir, 'foo', 'msgs.1.dat'), async () => {
      for (let seq = 2; seq <= 200; seq++) msgs.store(msg(seq));
      // Several publishers' flushes in the same turn share one batch.
      await Promise.all([msgs.flush(), msgs.flush(), msgs.flush()]);
      assert.equal(rawRecords(join(dir, 'foo', 'msgs.1.dat'), false).length, 200, 'a flush resolves once the records are written');
      await waitFor('the index entries', () => rawIndex(join(dir, 'foo', 'msgs.1.idx')).length === 200);
    });
    assert.deepEqual([calls.write, calls.datasync, calls.sync], [2, 0, 0]);
  });

  it('writes the index entries of many flushes together, and the messages meanwhile are read from memory', async () => {
    const msgs = await fooWithOneMessage();
    const flushes = 30;
    const calls = await countFileCalls(join(dir, 'server.dat'), async () => {
      for (let seq = 2; seq <= flushes + 1; seq++) {
        msgs.store(msg(seq));
        await msgs.flush();
        assert.equal(text(await msgs.lookup(seq)), `m${seq}`);
      }
      await waitFor('the index entries', () => rawIndex(join(dir, 'foo', 'msgs.1.idx')).length === flushes + 1);
    });
    assert.equal(calls.writesTo.get('msgs.1.dat'), flushes, 'one record write per flush');
    // Entries are written once a batch is full or a moment after the flush that left them; only a machine taking the
    // whole delay for each flush would write them one flush at a time.
    assert.ok(calls.writesTo.get('msgs.1.idx')! < flushes / 2, `${calls.writesTo.get('msgs.1.idx')} index writes`);
    assert.deepEqual(
      rawIndex(join(dir, 'foo', 'msgs.1.idx')).map((e) => e.seq),
      Array.from({ length: flushes + 1 }, (_, i) => i + 1),
    );
  });

  it('does not sync when doSync is off', async () => {
    const msgs = await fooWithOneMessage({ doSync: false, autoSync: 0 });
    const calls = await countFileCalls(join(dir, 'foo', 'msgs.1.dat'), async () => {
      msgs.store(msg(2));
      await msgs.flush();
      await waitFor('the index entries', () => rawIndex(join(dir, 'foo', 'msgs.1.idx')).length === 2);
    });
    assert.equal(calls.datasync + calls.sync, 0);
    assert.equal(openFlags(join(dir, 'foo', 'msgs.1.dat')) & constants.O_DSYNC, 0);
  });

  it('reads flushed messages from disk, not from memory', async () => {
    const store = make({ readBufferSize: 0 });
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    for (let seq = 1; seq <= 10; seq++) msgs.store(msg(seq, `payload-${seq}`));
    assert.equal(text(await msgs.lookup(5)), 'payload-5', 'not yet flushed: served from the pending batch');
    await msgs.flush();
    // A message is read from disk once its index entry is written too.
    await waitFor('the index entries', () => rawIndex(join(dir, 'foo', 'msgs.1.idx')).length === 10);
    // The store learns that the write is done at its next pass through the event loop's I/O phase.
    await new Promise((r) => setTimeout(r, 20));
    const dat = join(dir, 'foo', 'msgs.1.dat');
    const rec = rawRecords(dat, false)[4]!;
    const b = readFileSync(dat);
    b[rec.offset + 8 + rec.payload.length - 12] ^= 0xff;
    writeFileSync(dat, b);
    await assert.rejects(msgs.lookup(5), (err: unknown) => err instanceof CorruptFileError && err.offset === rec.offset && /crc/.test(err.message));
    assert.equal(text(await msgs.lookup(6)), 'payload-6');
  });

  it('looks messages up correctly in any order and concurrently, with a small read-ahead buffer', async () => {
    const store = make({ readBufferSize: 200 });
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    const body = (seq: number) => 'y'.repeat((seq * 37) % 90);
    for (let seq = 1; seq <= 300; seq++) msgs.store(msg(seq, body(seq)));
    await msgs.flush();
    const order = Array.from({ length: 300 }, (_, i) => ((i * 113) % 300) + 1);
    for (const seq of order.slice(0, 50)) assert.equal(text(await msgs.lookup(seq)), body(seq));
    const all = await Promise.all(Array.from({ length: 300 }, (_, i) => msgs.lookup(i + 1)));
    all.forEach((m, i) => {
      assert.equal(m!.sequence, i + 1);
      assert.equal(text(m), body(i + 1));
    });
  });

  it('splits the log into slices and removes the files of slices whose messages are all dropped', async () => {
    const limits = defaultStoreLimits();
    limits.maxMsgs = 25;
    const store = make({ sliceMaxMsgs: 10, sliceMaxBytes: 0 }, limits);
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    for (let seq = 1; seq <= 50; seq++) msgs.store(msg(seq));
    await msgs.flush();
    assert.deepEqual(msgs.firstAndLastSequence(), [26, 50]);
    const files = () => readdirSync(join(dir, 'foo')).filter((f) => f.startsWith('msgs.')).sort();
    assert.deepEqual(files(), ['msgs.3.dat', 'msgs.3.idx', 'msgs.4.dat', 'msgs.4.idx', 'msgs.5.dat', 'msgs.5.idx']);
    const kept = [3, 4, 5].flatMap((n) => rawRecords(join(dir, 'foo', `msgs.${n}.dat`), false)).slice(5);
    assert.equal(kept.length, 25);
    assert.equal(msgs.state().bytes, kept.reduce((sum, r) => sum + r.payload.length + 40, 0));
    const bytes = msgs.state().bytes;
    assert.equal(await msgs.lookup(25), undefined);
    assert.equal(text(await msgs.lookup(26)), 'm26');
    await store.close();
    const again = make({ sliceMaxMsgs: 10, sliceMaxBytes: 0 }, limits);
    const state = await again.recover();
    const foo = state!.channels.get('foo')!.channel.msgs;
    assert.deepEqual(foo.firstAndLastSequence(), [26, 50]);
    assert.deepEqual(foo.state(), { msgs: 25, bytes });
    foo.store(msg(51));
    await foo.flush();
    assert.deepEqual(foo.firstAndLastSequence(), [27, 51]);
    assert.deepEqual(files(), ['msgs.3.dat', 'msgs.3.idx', 'msgs.4.dat', 'msgs.4.idx', 'msgs.5.dat', 'msgs.5.idx', 'msgs.6.dat', 'msgs.6.idx']);
  });

  it('counts bytes as the Go file store does: encoded size plus 40 per message', async () => {
    const store = make();
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    msgs.store(msg(1, 'abc'));
    msgs.store(msg(2, ''));
    await msgs.flush();
    const sizes = rawRecords(join(dir, 'foo', 'msgs.1.dat'), false).map((r) => r.payload.length);
    assert.equal(msgs.state().bytes, sizes[0]! + sizes[1]! + 80);
  });

  it('computes CRC-32 with the configured polynomial, as Go crc32.MakeTable does', () => {
    const check = Buffer.from('123456789');
    assert.equal(makeCrc32(IEEE_POLYNOMIAL)(check), 0xcbf43926);
    assert.equal(makeCrc32(0x82f63b78)(check), 0xe3069283, 'Castagnoli');
    assert.equal(makeCrc32(0xeb31d82e)(check), 0x2d3dd0ae, 'Koopman');
  });

  it('derives slice limits from channel limits when none is configured, as the Go store does', () => {
    const base = { ...defaultFileStoreOptions(), sliceMaxBytes: 0 };
    const limits = { maxMsgs: 100, maxBytes: 1000, maxAge: 2000, maxSubscriptions: 0, maxInactivity: 0 };
    assert.deepEqual(sliceLimitsFor(base, limits), { msgs: 25, bytes: 250, ageMs: 1000 });
    assert.deepEqual(sliceLimitsFor(base, { ...limits, maxMsgs: 3, maxBytes: 0, maxAge: 0 }), { msgs: 1, bytes: 0, ageMs: 0 });
    assert.deepEqual(sliceLimitsFor({ ...base, sliceMaxMsgs: 7 }, limits), { msgs: 7, bytes: 0, ageMs: 0 });
    assert.deepEqual(sliceLimitsFor(defaultFileStoreOptions(), limits), { msgs: 0, bytes: 64 * 1024 * 1024, ageMs: 0 });
  });

  it('starts a new slice when the slice age limit is reached', async () => {
    const store = make({ sliceMaxAge: 60_000, sliceMaxBytes: 0 });
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    const old = BigInt(Date.now() - 3_600_000) * 1_000_000n;
    for (let seq = 1; seq <= 3; seq++) msgs.store(msg(seq, 'x', old));
    msgs.store(msg(4, 'x', BigInt(Date.now()) * 1_000_000n));
    msgs.store(msg(5, 'x', BigInt(Date.now()) * 1_000_000n));
    await msgs.flush();
    assert.deepEqual(readdirSync(join(dir, 'foo')).filter((f) => f.endsWith('.idx')).sort(), ['msgs.1.idx', 'msgs.2.idx', 'msgs.3.idx', 'msgs.4.idx']);
    await waitFor('the index entries', () => rawIndex(join(dir, 'foo', 'msgs.4.idx')).length === 2);
    assert.deepEqual(rawIndex(join(dir, 'foo', 'msgs.4.idx')).map((e) => e.seq), [4, 5]);
  });

  it('expires messages that aged out while the server was stopped', async () => {
    const store = make();
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    const now = BigInt(Date.now()) * 1_000_000n;
    msgs.store(msg(1, 'old', now - 7_200_000_000_000n));
    msgs.store(msg(2, 'old', now - 7_100_000_000_000n));
    msgs.store(msg(3, 'new', now));
    await msgs.flush();
    await store.close();
    const limits = defaultStoreLimits();
    limits.maxAge = 3_600_000;
    const again = make({}, limits);
    const foo = (await again.recover())!.channels.get('foo')!.channel.msgs;
    assert.deepEqual(foo.firstAndLastSequence(), [3, 3]);
    assert.equal(text(await foo.firstMsg()), 'new');
  });

  it('fills a gap in sequences with empty messages, as the Go store does', async () => {
    const store = make();
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    msgs.store(msg(1));
    msgs.store(msg(4));
    await msgs.flush();
    assert.equal(msgs.state().msgs, 4);
    const filler = await msgs.lookup(2);
    assert.equal(filler!.data.length, 0);
    assert.equal(filler!.subject, 'foo');
    await waitFor('the index entries', () => rawIndex(join(dir, 'foo', 'msgs.1.idx')).length === 4);
    assert.deepEqual(rawIndex(join(dir, 'foo', 'msgs.1.idx')).map((e) => e.seq), [1, 2, 3, 4]);
  });

  it('empties a channel on disk and keeps storing after it', async () => {
    const store = make({ sliceMaxMsgs: 2, sliceMaxBytes: 0 });
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    for (let seq = 1; seq <= 5; seq++) msgs.store(msg(seq));
    await msgs.flush();
    await msgs.empty();
    msgs.store(msg(6));
    await msgs.flush();
    assert.deepEqual(msgs.firstAndLastSequence(), [6, 6]);
    assert.deepEqual(readdirSync(join(dir, 'foo')).filter((f) => f.startsWith('msgs.')).sort(), ['msgs.4.dat', 'msgs.4.idx']);
    await store.close();
    const foo = (await make().recover())!.channels.get('foo')!.channel.msgs;
    assert.deepEqual(foo.firstAndLastSequence(), [6, 6]);
  });

  it('hands removed slices to the archive script', async () => {
    const script = join(dir, 'archive.sh');
    const out = join(dir, 'archived.txt');
    // Renamed into place so that the test never sees a half-written file.
    await writeFile(script, `#!/bin/sh\necho "$1 $2 $3" > "${out}.tmp" && mv "${out}.tmp" "${out}"\n`);
    await chmod(script, 0o755);
    const limits = defaultStoreLimits();
    limits.maxMsgs = 2;
    const store = make({ sliceMaxMsgs: 2, sliceMaxBytes: 0, sliceArchiveScript: script }, limits);
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    for (let seq = 1; seq <= 4; seq++) msgs.store(msg(seq));
    await msgs.flush();
    await waitFor('the archive script', () => existsSync(out));
    const dat = join(dir, 'foo', 'msgs.1.dat');
    assert.equal(readFileSync(out, 'utf8').trim(), `foo ${dat}.bak ${join(dir, 'foo', 'msgs.1.idx')}.bak`);
    assert.ok(!existsSync(dat) && existsSync(`${dat}.bak`));
  });

  it('allocates subscription IDs per channel', async () => {
    const store = make();
    await store.init(info);
    const a = await store.createChannel('a');
    const b = await store.createChannel('b');
    const s1 = subState();
    const s2 = subState();
    const s3 = subState();
    await a.subs.createSub(s1);
    await a.subs.createSub(s2);
    await b.subs.createSub(s3);
    assert.deepEqual([s1.ID, s2.ID, s3.ID], [1, 2, 1]);
  });

  it('keeps every sent and acked sequence across flushes that overlap appends and outgrow the record buffer', async () => {
    const store = make({ compactMinFileSize: Number.MAX_SAFE_INTEGER });
    await store.init(info);
    const { subs } = await store.createChannel('foo');
    const sub = subState({ durableName: 'd', isDurable: true });
    await subs.createSub(sub);
    const pending = new Set<number>();
    const flushes: Promise<void>[] = [];
    const r = prng(12);
    let seq = 0;
    // 30,000 sends and most of their acks, about 900 KB of records, with flushes started while more is appended.
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 1000; i++) {
        subs.addSeqPending(sub.ID, ++seq);
        pending.add(seq);
      }
      for (const p of [...pending]) {
        if (r() < 0.9) {
          subs.ackSeqPending(sub.ID, p);
          pending.delete(p);
        }
      }
      flushes.push(subs.flush());
    }
    await Promise.all(flushes);
    await store.close();
    const state = await make().recover();
    const [recovered] = state!.channels.get('foo')!.subscriptions;
    assert.equal(recovered!.sub.lastSent, seq);
    assert.deepEqual([...recovered!.pending].sort((x, y) => x - y), [...pending].sort((x, y) => x - y));
  });

  /** A subs.dat that deleting `gone` makes due for compaction: `keep` has sent 1-10, acked 1-8. */
  const subsBeforeCompaction = async () => {
    const store = make({ compactMinFileSize: 0 });
    await store.init(info);
    const { subs } = await store.createChannel('foo');
    const keep = subState({ durableName: 'keep', isDurable: true });
    const gone = subState();
    await subs.createSub(keep);
    await subs.createSub(gone);
    for (let seq = 1; seq <= 10; seq++) subs.addSeqPending(keep.ID, seq);
    for (let seq = 1; seq <= 8; seq++) subs.ackSeqPending(keep.ID, seq);
    return { store, subs, keep, gone };
  };

  it('compacts subs.dat once most of it is dead records, keeping the state', async () => {
    const { store, subs, gone } = await subsBeforeCompaction();
    await subs.deleteSub(gone.ID);
    const recs = rawRecords(join(dir, 'foo', 'subs.dat'), true);
    assert.deepEqual(recs.map((r) => r.type), [1, 5, 5]);
    await store.close();
    const state = await make().recover();
    const [sub] = state!.channels.get('foo')!.subscriptions;
    assert.equal(state!.channels.get('foo')!.subscriptions.length, 1);
    assert.equal(sub!.sub.durableName, 'keep');
    assert.equal(sub!.sub.lastSent, 10);
    assert.deepEqual([...sub!.pending].sort((x, y) => x - y), [9, 10]);
  });

  it('keeps the records appended while subs.dat is being compacted', async () => {
    const { store, subs, keep, gone } = await subsBeforeCompaction();
    let compacted = false;
    const deleting = subs.deleteSub(gone.ID).then(() => {
      compacted = true;
    });
    let seq = 10;
    while (!compacted) {
      subs.addSeqPending(keep.ID, ++seq);
      await new Promise((r) => setImmediate(r));
    }
    await deleting;
    await subs.flush();
    await store.close();
    const state = await make().recover();
    const [sub] = state!.channels.get('foo')!.subscriptions;
    assert.ok(seq > 11, 'records were appended while the compaction ran');
    assert.equal(sub!.sub.lastSent, seq);
    assert.deepEqual([...sub!.pending].sort((x, y) => x - y), Array.from({ length: seq - 8 }, (_, i) => i + 9));
  });

  it('compacts clients.dat once most of it is deletes', async () => {
    const store = make({ compactMinFileSize: 0 });
    await store.init(info);
    for (const id of ['a', 'b', 'c']) await store.addClient(client(id));
    await store.deleteClient('a');
    assert.equal(rawRecords(join(dir, 'clients.dat'), true).length, 4, 'one delete in four is under 50%');
    await store.deleteClient('b');
    assert.deepEqual(rawRecords(join(dir, 'clients.dat'), true).map((r) => r.type), [1]);
    await store.addClient(client('d'));
    await store.close();
    assert.deepEqual((await make().recover())!.clients.map((c) => c.ID), ['c', 'd']);
  });

  it('deletes a channel directory, and a new channel does not inherit stale files', async () => {
    const store = make();
    await store.init(info);
    const { msgs } = await store.createChannel('foo');
    msgs.store(msg(1));
    await msgs.flush();
    await store.deleteChannel('foo');
    assert.ok(!existsSync(join(dir, 'foo')));
    await mkdir(join(dir, 'bar'));
    await writeFile(join(dir, 'bar', 'msgs.1.dat'), 'junk');
    const bar = await store.createChannel('bar');
    bar.msgs.store(msg(1, 'fresh'));
    await bar.msgs.flush();
    await store.close();
    const state = await make().recover();
    assert.deepEqual([...state!.channels.keys()], ['bar']);
    assert.equal(text(await state!.channels.get('bar')!.channel.msgs.lookup(1)), 'fresh');
  });

  it('keeps the same messages as the memory store under random batches, limits and restarts', async () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const limits = defaultStoreLimits();
    limits.maxMsgs = 37;
    const opts = { sliceMaxMsgs: 5, sliceMaxBytes: 0, readBufferSize: 150 };
    const model = new MemoryMsgStore(channelLimitsFor(limits, 'foo'));
    let store = make(opts, limits);
    await store.init(info);
    let msgs = (await store.createChannel('foo')).msgs;
    let seq = 0;
    for (let round = 0; round < 40; round++) {
      const batch = 1 + rand(12);
      for (let i = 0; i < batch; i++) {
        const m = msg(++seq, 'z'.repeat(rand(60)), 1_000_000_000n * BigInt(seq));
        msgs.store(m);
        model.store(m);
      }
      await msgs.flush();
      if (rand(5) === 0) {
        await store.close();
        store = make(opts, limits);
        msgs = (await store.recover())!.channels.get('foo')!.channel.msgs;
      }
      assert.deepEqual(msgs.firstAndLastSequence(), model.firstAndLastSequence(), `round ${round}`);
      assert.equal(msgs.state().msgs, model.state().msgs);
      for (let k = 0; k < 5; k++) {
        const q = Math.max(0, seq - rand(50));
        const norm = (m: MsgProto | undefined) => m && { seq: m.sequence, subject: m.subject, data: Buffer.from(m.data).toString(), ts: m.timestamp };
        assert.deepEqual(norm(await msgs.lookup(q)), norm(await model.lookup(q)), `lookup ${q} in round ${round}`);
        const ts = 1_000_000_000n * BigInt(q) - BigInt(rand(2)) * 500_000_000n;
        assert.equal(await msgs.getSequenceFromTimestamp(ts), await model.getSequenceFromTimestamp(ts), `ts of ${q}`);
      }
    }
    const live = readdirSync(join(dir, 'foo')).filter((f) => f.endsWith('.dat') && f.startsWith('msgs.')).length;
    assert.ok(live <= Math.ceil(37 / 5) + 1, `old slices are removed (${live} left)`);
  });

  it('refuses channel names that would not map to one directory', async () => {
    const store = make();
    await store.init(info);
    for (const name of ['a/b', '..', '.hidden']) await assert.rejects(store.createChannel(name), /cannot be stored as a directory/, name);
    assert.deepEqual(readdirSync(dir).filter((f) => f !== 'server.dat'), []);
  });

  it('gives the exclusive lock to one store at a time', async () => {
    const first = make();
    const second = make();
    assert.equal(await first.getExclusiveLock(), true);
    assert.equal(await first.getExclusiveLock(), true);
    assert.equal(first.lockState().held, true);
    assert.equal(await second.getExclusiveLock(), false);
    assert.equal(second.lockState().held, false);
    await first.close();
    assert.equal(await second.getExclusiveLock(), true);
  });

  it('reports a lost lock through onFatal', async () => {
    const store = make();
    let fatal: Error | undefined;
    store.onFatal = (err) => (fatal = err);
    assert.equal(await store.getExclusiveLock(), true);
    rmSync(join(dir, '.nss-ts.lock'), { recursive: true, force: true });
    await waitFor('onFatal', () => fatal !== undefined);
    assert.equal(store.lockState().held, false);
  });
});
