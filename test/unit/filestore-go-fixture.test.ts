import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type MsgProto, type SubState, spb } from '../../src/proto/codec.js';
import { defaultStoreLimits } from '../../src/stores/limits.js';
import { FileStore } from '../../src/stores/file/filestore.js';
import type { RecoveredState } from '../../src/stores/store.js';
import { rawIndex, rawRecords } from '../helpers/go-file-format.js';
import { copyGoStore, expectedPayload, fixtureFileOptions, fixtureLimits, fixtureTimestamps, manifest } from '../helpers/go-fixture.js';

const m = manifest();
const timestamps = fixtureTimestamps();
const CHANNELS = ['orders', 'events.eu', 'limited'];

async function recoverFixture(dir: string, limits = fixtureLimits(), parallelRecovery = 1): Promise<{ store: FileStore; state: RecoveredState }> {
  const store = new FileStore(dir, fixtureFileOptions({ parallelRecovery }));
  // The server's order: limits first, so that recovery applies them.
  store.setLimits(limits);
  const state = await store.recover();
  assert.ok(state, 'the fixture must recover a state');
  return { store, state };
}

function channelOf(state: RecoveredState, name: string) {
  const rc = state.channels.get(name);
  assert.ok(rc, `channel ${name} recovered`);
  return rc;
}

describe('file store: recovering the Go v0.25.6 fixture', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: FileStore | undefined;

  beforeEach(async () => {
    ({ dir, cleanup } = await copyGoStore());
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await cleanup();
  });

  it('recovers the server info, the one remaining client and the channels with Go file-store counts', async () => {
    const r = await recoverFixture(dir);
    store = r.store;
    assert.equal(r.state.info.ClusterID, m.cluster_id);
    assert.equal(r.state.info.Discovery, `_STAN.discover.${m.cluster_id}`);
    assert.deepEqual(
      r.state.clients.map((c) => c.ID),
      m.clients.map((c) => c.client_id),
    );
    for (const closed of m.closed_clients) assert.ok(!r.state.clients.some((c) => c.ID === closed.client_id));
    assert.equal(r.state.clients[0]!.HbInbox, m.per_store.file.clients[0]!.hb_inbox);
    assert.deepEqual([...r.state.channels.keys()].sort(), Object.keys(m.channels).sort());
    let totalMsgs = 0;
    let totalBytes = 0;
    for (const [name, expected] of Object.entries(m.channels)) {
      const { msgs } = channelOf(r.state, name).channel;
      assert.deepEqual(msgs.state(), { msgs: expected.msgs, bytes: expected.bytes.file }, name);
      assert.deepEqual(msgs.firstAndLastSequence(), [expected.first_seq, expected.last_seq], name);
      totalMsgs += expected.msgs;
      totalBytes += msgs.state().bytes;
    }
    assert.equal(totalMsgs, m.server_totals.total_msgs);
    assert.equal(totalBytes, m.server_totals.total_bytes.file);
  });

  it('recovers channels in parallel (file.parallel_recovery) to the same state', async () => {
    const r = await recoverFixture(dir, fixtureLimits(), 3);
    store = r.store;
    assert.deepEqual([...r.state.channels.keys()], [...r.state.channels.keys()].sort());
    for (const [name, expected] of Object.entries(m.channels)) {
      const { msgs } = channelOf(r.state, name).channel;
      assert.deepEqual([msgs.state().msgs, ...msgs.firstAndLastSequence()], [expected.msgs, expected.first_seq, expected.last_seq]);
    }
  });

  it('reads back every message with its payload, subject and exact timestamp', async () => {
    const r = await recoverFixture(dir);
    store = r.store;
    for (const name of CHANNELS) {
      const { msgs } = channelOf(r.state, name).channel;
      const ts = timestamps[name]!;
      const [first, last] = msgs.firstAndLastSequence();
      assert.deepEqual([first, last], [ts.first_seq, ts.last_seq]);
      const digest = createHash('sha256');
      for (let seq = first; seq <= last; seq++) {
        const msg = await msgs.lookup(seq);
        assert.ok(msg, `${name} #${seq}`);
        assert.equal(msg.sequence, seq);
        assert.equal(msg.subject, name);
        assert.deepEqual(Buffer.from(msg.data), expectedPayload(name, seq), `${name} #${seq} payload`);
        assert.equal(msg.timestamp, BigInt(ts.timestamps_ns[seq - first]!), `${name} #${seq} timestamp`);
        const head = Buffer.alloc(12);
        head.writeBigUInt64BE(BigInt(seq), 0);
        head.writeUInt32BE(msg.data.length, 8);
        digest.update(head).update(msg.data);
      }
      assert.equal(digest.digest('hex'), m.per_store.file.payload_digest[name], `${name} payload digest`);
      assert.equal(await msgs.lookup(first - 1), undefined);
      assert.equal(await msgs.lookup(last + 1), undefined);
      assert.equal((await msgs.firstMsg())!.sequence, first);
      assert.equal((await msgs.lastMsg())!.sequence, last);
    }
  });

  it('finds sequences from the sample timestamps through the recovered index', async () => {
    const r = await recoverFixture(dir);
    store = r.store;
    for (const [name, samples] of Object.entries(m.per_store.file.sample_timestamps_ns)) {
      const { msgs } = channelOf(r.state, name).channel;
      for (const [seq, ns] of Object.entries(samples)) {
        const found = await msgs.getSequenceFromTimestamp(BigInt(ns));
        // Several messages can share a timestamp; the first of them is the answer.
        const all = timestamps[name]!;
        const firstWithTs = all.first_seq + all.timestamps_ns.findIndex((t) => BigInt(t) >= BigInt(ns));
        assert.equal(found, firstWithTs, `${name} @${ns} (sample seq ${seq})`);
      }
      assert.equal(await msgs.getSequenceFromTimestamp(0n), msgs.firstSequence());
      assert.equal(await msgs.getSequenceFromTimestamp(2n ** 62n), msgs.lastSequence() + 1);
    }
  });

  it('recovers each subscription with its ID, last_sent and unacknowledged sequences; the deleted one is gone', async () => {
    const r = await recoverFixture(dir);
    store = r.store;
    const all = [...r.state.channels.entries()].flatMap(([name, rc]) => rc.subscriptions.map((s) => ({ channel: name, ...s })));
    assert.equal(all.length, m.server_totals.subscriptions);
    for (const [name, expected] of Object.entries(m.channels)) {
      assert.equal(channelOf(r.state, name).subscriptions.length, expected.subs_count, `${name} subs`);
    }
    for (const exp of m.subscriptions) {
      const sameName = (s: SubState) =>
        exp.queue_name ? s.qGroup === exp.queue_name : s.qGroup === '' && s.durableName === (exp.durable_name ?? '');
      const found = all.filter((s) => s.channel === exp.channel && s.sub.clientID === exp.client_id && sameName(s.sub));
      assert.equal(found.length, 1, `${exp.channel} ${exp.durable_name ?? exp.queue_name ?? 'plain'}`);
      const { sub, pending } = found[0]!;
      const ids = m.per_store.file.subscriptions.find(
        (p) => p.channel === exp.channel && p.client_id === exp.client_id && p.durable_name === exp.durable_name && p.queue_name === exp.queue_name,
      )!;
      assert.equal(sub.ID, ids.subid);
      assert.equal(sub.inbox, ids.inbox);
      assert.equal(sub.ackInbox, ids.ack_inbox);
      assert.equal(sub.maxInFlight, exp.max_inflight);
      assert.equal(sub.ackWaitInSecs, exp.ack_wait_seconds);
      assert.equal(sub.isDurable, exp.is_durable);
      assert.equal(sub.isClosed, exp.is_offline, 'an offline durable is stored closed');
      assert.equal(sub.lastSent, exp.last_sent);
      assert.deepEqual([...pending].sort((a, b) => a - b), exp.pending_sequences);
      assert.equal(pending.size, exp.pending_count);
    }
    const orders = channelOf(r.state, 'orders').subscriptions.map((s) => s.sub.ID);
    assert.ok(!orders.includes(m.per_store.file.deleted_subscription_subid));
  });

  it('continues the per-channel sub IDs after the highest one ever used, deleted ones included', async () => {
    const r = await recoverFixture(dir);
    store = r.store;
    const next: SubState = { ...channelOf(r.state, 'orders').subscriptions[0]!.sub, ID: 0, durableName: 'new' };
    await channelOf(r.state, 'orders').channel.subs.createSub(next);
    assert.equal(next.ID, m.per_store.file.deleted_subscription_subid + 1);
    const onEvents: SubState = { ...next, ID: 0 };
    await channelOf(r.state, 'events.eu').channel.subs.createSub(onEvents);
    assert.equal(onEvents.ID, 2);
  });

  it('re-applies max_msgs on recovery, then drops whole slices as new messages push old ones out', async () => {
    const r = await recoverFixture(dir);
    store = r.store;
    const chDir = join(dir, 'limited');
    assert.ok(existsSync(join(chDir, 'msgs.2.dat')), 'slice 2 still holds 31..50');
    const { msgs } = channelOf(r.state, 'limited').channel;
    const ts = BigInt(Date.now()) * 1_000_000n;
    for (let seq = 131; seq <= 150; seq++) msgs.store({ sequence: seq, subject: 'limited', reply: '', data: expectedPayload('limited', seq), timestamp: ts });
    await msgs.flush();
    assert.deepEqual(msgs.firstAndLastSequence(), [51, 150]);
    assert.equal(msgs.state().msgs, 100);
    assert.ok(!existsSync(join(chDir, 'msgs.2.dat')) && !existsSync(join(chDir, 'msgs.2.idx')), 'slice 2 removed once empty');
    assert.equal(Buffer.from((await msgs.lookup(150))!.data).toString(), 'limited-150');
    // Closing writes the index entries still waiting. Slice 6 had 5 messages; with 25 per slice, the 20 new ones fill it up.
    await store.close();
    assert.deepEqual(
      rawIndex(join(chDir, 'msgs.6.idx')).map((e) => e.seq),
      Array.from({ length: 25 }, (_, i) => 126 + i),
    );
    const again = await recoverFixture(dir);
    store = again.store;
    const limited = channelOf(again.state, 'limited').channel.msgs;
    assert.deepEqual(limited.firstAndLastSequence(), [51, 150]);
    assert.equal(limited.state().msgs, 100);
    assert.equal(Buffer.from((await limited.lookup(51))!.data).toString(), 'limited-51');
  });

  it('without the channel limit, recovers `limited` as the Go server does: 105 msgs, 26..130', async () => {
    const r = await recoverFixture(dir, defaultStoreLimits());
    store = r.store;
    const { msgs } = channelOf(r.state, 'limited').channel;
    assert.deepEqual(msgs.firstAndLastSequence(), [26, 130]);
    assert.deepEqual(msgs.state(), { msgs: 105, bytes: 7699 });
  });
});

describe('file store: writing what the Go server wrote', () => {
  let dir: string;
  let goDir: string;
  let cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    const go = await copyGoStore();
    goDir = go.dir;
    dir = await mkdtemp(join(tmpdir(), 'nss-file-same-'));
    cleanups = [go.cleanup, () => rm(dir, { recursive: true, force: true })];
  });
  afterEach(async () => {
    for (const c of cleanups) await c();
  });

  it('produces byte-identical server.dat, clients.dat, subs.dat and message slices from the same operations', async () => {
    // Read the Go store for its inputs: server info, client records, sub records and messages.
    const goState = await recoverFixture(goDir, defaultStoreLimits());
    const messages = new Map<string, MsgProto[]>();
    for (const name of CHANNELS) {
      const { msgs } = channelOf(goState.state, name).channel;
      const list: MsgProto[] = [];
      for (let seq = msgs.firstSequence(); seq <= msgs.lastSequence(); seq++) list.push((await msgs.lookup(seq))!);
      messages.set(name, list);
    }
    await goState.store.close();

    const ours = new FileStore(dir, fixtureFileOptions());
    ours.setLimits(fixtureLimits());
    assert.equal(await ours.recover(), undefined);
    await ours.init(goState.state.info);
    for (const rec of rawRecords(join(goDir, 'clients.dat'), true)) {
      if (rec.type === 1) await ours.addClient(spb.ClientInfo.decode(rec.payload));
      else await ours.deleteClient(spb.ClientDelete.decode(rec.payload).ID);
    }
    for (const name of CHANNELS) {
      const { msgs, subs } = await ours.createChannel(name);
      const list = messages.get(name)!;
      // `limited` lost 1..25 with its first slice: store stand-ins, which are dropped again the same way.
      for (let seq = 1; seq < list[0]!.sequence; seq++) msgs.store({ sequence: seq, subject: name, reply: '', data: expectedPayload(name, seq), timestamp: list[0]!.timestamp });
      for (const msg of list) msgs.store(msg);
      await msgs.flush();
      for (const rec of rawRecords(join(goDir, name, 'subs.dat'), true)) {
        switch (rec.type) {
          case 1: {
            const sub = spb.SubState.decode(rec.payload);
            const wanted = sub.ID;
            await subs.createSub(sub);
            assert.equal(sub.ID, wanted);
            break;
          }
          case 2:
            await subs.updateSub(spb.SubState.decode(rec.payload));
            break;
          case 3:
            await subs.deleteSub(spb.SubStateDelete.decode(rec.payload).ID);
            break;
          case 4: {
            const u = spb.SubStateUpdate.decode(rec.payload);
            subs.ackSeqPending(u.ID, u.seqno);
            break;
          }
          case 5: {
            const u = spb.SubStateUpdate.decode(rec.payload);
            subs.addSeqPending(u.ID, u.seqno);
            break;
          }
          default:
            assert.fail(`record type ${rec.type}`);
        }
      }
      await subs.flush();
    }
    await ours.close();

    const files = (d: string) =>
      readdirSync(d, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(d.length + 1))
        .sort();
    assert.deepEqual(files(dir), files(goDir));
    for (const f of files(goDir)) assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(goDir, f))), `${f} differs`);
  });
});
