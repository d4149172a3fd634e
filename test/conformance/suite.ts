import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { MsgProto, ServerInfo, SubState } from '../../src/proto/codec.js';
import { ErrAlreadyExists, ErrTooManyChannels, ErrTooManySubs } from '../../src/stores/errors.js';
import { defaultStoreLimits } from '../../src/stores/limits.js';
import type { Store } from '../../src/stores/store.js';

export interface StoreUnderTest {
  /** A new, empty store. */
  create(): Promise<Store>;
  /** A second store on the same data, for the restart tests; absent for stores that keep nothing. */
  reopen?(): Promise<Store>;
  cleanup?(): Promise<void>;
}

const info: ServerInfo = {
  ClusterID: 'conformance',
  Discovery: '_STAN.discover.conformance',
  Publish: '_STAN.pub.conformance',
  Subscribe: '_STAN.sub.conformance',
  Unsubscribe: '_STAN.unsub.conformance',
  Close: '_STAN.close.conformance',
  SubClose: '_STAN.subclose.conformance',
  AcksSubs: '_STAN.ack.conformance',
  NodeID: '',
};

function msg(seq: number, data = `msg-${seq}`, timestamp = BigInt(seq) * 1_000_000_000n): MsgProto {
  return { sequence: seq, subject: 'foo', reply: '', data: Buffer.from(data), timestamp };
}

/** A subscription record with test defaults, for store-level tests. */
export function subState(overrides: Partial<SubState> = {}): SubState {
  return {
    ID: 0,
    clientID: 'client',
    qGroup: '',
    inbox: '_INBOX.sub',
    ackInbox: '_INBOX.ack',
    maxInFlight: 10,
    ackWaitInSecs: 30,
    durableName: '',
    lastSent: 0,
    isDurable: false,
    isClosed: false,
    ...overrides,
  };
}

/** The behaviour every Store must have; each store's test file runs it. */
export function storeConformance(name: string, sut: StoreUnderTest): void {
  describe(`${name} store conformance`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await sut.create();
    });
    afterEach(async () => {
      await store.close();
      await sut.cleanup?.();
    });

    it('creates a channel once and refuses a second creation with ErrAlreadyExists', async () => {
      await store.init(info);
      const ch = await store.createChannel('foo');
      assert.equal(ch.name, 'foo');
      await assert.rejects(store.createChannel('foo'), ErrAlreadyExists);
    });

    it('refuses channels over max_channels with ErrTooManyChannels', async () => {
      await store.init(info);
      const limits = defaultStoreLimits();
      limits.maxChannels = 2;
      store.setLimits(limits);
      await store.createChannel('a');
      await store.createChannel('b');
      await assert.rejects(store.createChannel('c'), ErrTooManyChannels);
    });

    it('stores messages with server-assigned sequences and looks them up', async () => {
      await store.init(info);
      const { msgs } = await store.createChannel('foo');
      assert.deepEqual(msgs.firstAndLastSequence(), [0, 0]);
      for (let i = 1; i <= 5; i++) msgs.store(msg(i));
      await msgs.flush();
      assert.deepEqual(msgs.firstAndLastSequence(), [1, 5]);
      assert.equal(msgs.firstSequence(), 1);
      assert.equal(msgs.lastSequence(), 5);
      assert.equal(msgs.state().msgs, 5);
      const third = await msgs.lookup(3);
      assert.equal(Buffer.from(third!.data).toString(), 'msg-3');
      assert.equal(third!.timestamp, 3_000_000_000n);
      assert.equal((await msgs.firstMsg())!.sequence, 1);
      assert.equal((await msgs.lastMsg())!.sequence, 5);
      assert.equal(await msgs.lookup(6), undefined);
      assert.equal(await msgs.lookup(0), undefined);
    });

    it('keeps no view of the buffer a message arrived in', async () => {
      await store.init(info);
      const { msgs } = await store.createChannel('foo');
      // As a socket read, which also carries other channels' messages: a message kept as a view of it keeps it alive.
      const read = Buffer.alloc(64 * 1024, 5);
      const m = { ...msg(1), data: read.subarray(100, 200) };
      msgs.store(m);
      await msgs.flush();
      for (const kept of [m, await msgs.lookup(1)]) {
        assert.notEqual(kept!.data.buffer, read.buffer);
        assert.deepEqual(Buffer.from(kept!.data), Buffer.alloc(100, 5));
      }
    });

    it('ignores a message whose sequence is not after the last one', async () => {
      await store.init(info);
      const { msgs } = await store.createChannel('foo');
      msgs.store(msg(1));
      msgs.store(msg(2));
      msgs.store(msg(2, 'again'));
      msgs.store(msg(1, 'again'));
      await msgs.flush();
      assert.equal(msgs.state().msgs, 2);
      assert.equal(Buffer.from((await msgs.lookup(2))!.data).toString(), 'msg-2');
    });

    it('counts bytes of the stored messages', async () => {
      await store.init(info);
      const { msgs } = await store.createChannel('foo');
      msgs.store(msg(1, 'x'));
      await msgs.flush();
      assert.ok(msgs.state().bytes > 1);
    });

    it('drops the oldest messages over max_msgs', async () => {
      await store.init(info);
      const limits = defaultStoreLimits();
      limits.maxMsgs = 3;
      store.setLimits(limits);
      const { msgs } = await store.createChannel('foo');
      for (let i = 1; i <= 10; i++) msgs.store(msg(i));
      await msgs.flush();
      assert.deepEqual(msgs.firstAndLastSequence(), [8, 10]);
      assert.equal(msgs.state().msgs, 3);
      assert.equal(await msgs.lookup(7), undefined);
      assert.equal((await msgs.lookup(8))!.sequence, 8);
    });

    it('drops the oldest messages over max_bytes but keeps the newest', async () => {
      await store.init(info);
      const { msgs: probe } = await store.createChannel('probe');
      probe.store(msg(1, 'x'.repeat(100)));
      await probe.flush();
      const one = probe.state().bytes;
      const limits = defaultStoreLimits();
      limits.maxBytes = one * 2;
      store.setLimits(limits);
      const { msgs } = await store.createChannel('foo');
      for (let i = 1; i <= 5; i++) msgs.store(msg(i, 'x'.repeat(100)));
      await msgs.flush();
      assert.equal(msgs.state().msgs, 2);
      assert.deepEqual(msgs.firstAndLastSequence(), [4, 5]);
      const { msgs: big } = await store.createChannel('big');
      big.store(msg(1, 'y'.repeat(1000)));
      await big.flush();
      assert.equal(big.state().msgs, 1);
    });

    it('applies per-channel limits over the global ones', async () => {
      await store.init(info);
      const limits = defaultStoreLimits();
      limits.perChannel.set('small', { maxMsgs: 2 });
      store.setLimits(limits);
      assert.equal(store.getChannelLimits('small').maxMsgs, 2);
      assert.equal(store.getChannelLimits('small').maxSubscriptions, limits.maxSubscriptions);
      const { msgs } = await store.createChannel('small');
      for (let i = 1; i <= 4; i++) msgs.store(msg(i));
      await msgs.flush();
      assert.deepEqual(msgs.firstAndLastSequence(), [3, 4]);
    });

    it('expires messages older than max_age', async () => {
      await store.init(info);
      const limits = defaultStoreLimits();
      limits.maxAge = 100;
      store.setLimits(limits);
      const { msgs } = await store.createChannel('foo');
      const now = BigInt(Date.now()) * 1_000_000n;
      msgs.store(msg(1, 'old', now - 10_000_000_000n));
      msgs.store(msg(2, 'new', now));
      await msgs.flush();
      const end = Date.now() + 5000;
      while (msgs.state().msgs > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.equal(msgs.state().msgs, 0);
      assert.equal(msgs.lastSequence(), 2);
      assert.equal(msgs.firstSequence(), 3);
    });

    it('finds the first sequence at or after a timestamp', async () => {
      await store.init(info);
      const { msgs } = await store.createChannel('foo');
      for (let i = 1; i <= 5; i++) msgs.store(msg(i));
      await msgs.flush();
      assert.equal(await msgs.getSequenceFromTimestamp(0n), 1);
      assert.equal(await msgs.getSequenceFromTimestamp(2_500_000_000n), 3);
      assert.equal(await msgs.getSequenceFromTimestamp(3_000_000_000n), 3);
      assert.equal(await msgs.getSequenceFromTimestamp(9_000_000_000n), 6);
    });

    it('empties a channel but keeps its sequence', async () => {
      await store.init(info);
      const { msgs } = await store.createChannel('foo');
      for (let i = 1; i <= 3; i++) msgs.store(msg(i));
      await msgs.flush();
      await msgs.empty();
      assert.equal(msgs.state().msgs, 0);
      assert.equal(msgs.lastSequence(), 3);
    });

    it('assigns subscription IDs and refuses subscriptions over max_subscriptions', async () => {
      await store.init(info);
      const limits = defaultStoreLimits();
      limits.maxSubscriptions = 2;
      store.setLimits(limits);
      const { subs } = await store.createChannel('foo');
      const a = subState();
      const b = subState({ durableName: 'dur', isDurable: true });
      await subs.createSub(a);
      await subs.createSub(b);
      assert.ok(a.ID > 0);
      assert.ok(b.ID > 0);
      assert.notEqual(a.ID, b.ID);
      await assert.rejects(subs.createSub(subState()), ErrTooManySubs);
      await subs.deleteSub(a.ID);
      await subs.createSub(subState());
    });

    it('deletes a channel', async () => {
      await store.init(info);
      await store.createChannel('foo');
      await store.deleteChannel('foo');
      const again = await store.createChannel('foo');
      assert.equal(again.msgs.state().msgs, 0);
    });

    if (sut.reopen) {
      it('recovers server info, clients, channels, messages, subscriptions and pending acks after a restart', async () => {
        await store.init(info);
        await store.addClient({ ID: 'c1', HbInbox: '_INBOX.hb', ConnID: Buffer.from('conn'), Protocol: 1, PingInterval: 5, PingMaxOut: 3 });
        await store.addClient({ ID: 'gone', HbInbox: '_INBOX.hb2', ConnID: Buffer.from(''), Protocol: 1, PingInterval: 5, PingMaxOut: 3 });
        await store.deleteClient('gone');
        const { msgs, subs } = await store.createChannel('foo');
        for (let i = 1; i <= 4; i++) msgs.store(msg(i));
        await msgs.flush();
        const dur = subState({ durableName: 'dur', isDurable: true });
        await subs.createSub(dur);
        for (const seq of [1, 2, 3]) subs.addSeqPending(dur.ID, seq);
        subs.ackSeqPending(dur.ID, 2);
        await subs.flush();
        await store.close();
        store = await sut.reopen!();
        const state = await store.recover();
        assert.ok(state);
        assert.equal(state.info.ClusterID, 'conformance');
        assert.deepEqual(state.clients.map((c) => c.ID), ['c1']);
        const foo = state.channels.get('foo');
        assert.ok(foo);
        assert.deepEqual(foo.channel.msgs.firstAndLastSequence(), [1, 4]);
        assert.equal(Buffer.from((await foo.channel.msgs.lookup(4))!.data).toString(), 'msg-4');
        assert.equal(foo.subscriptions.length, 1);
        assert.equal(foo.subscriptions[0]!.sub.durableName, 'dur');
        assert.equal(foo.subscriptions[0]!.sub.lastSent, 3);
        assert.deepEqual([...foo.subscriptions[0]!.pending].sort(), [1, 3]);
      });
    } else {
      it('starts afresh: recover() returns nothing', async () => {
        assert.equal(await store.recover(), undefined);
      });
    }
  });
}
