import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { pb } from '../../src/proto/codec.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { StanConns, channelz, rawNats, unique, untilAsync } from '../helpers/raw.js';
import { type Received, type StanConn, closeStan, closeSub, flags, publish, seqs, sleep, subscribe, unsubscribeSub, until } from '../helpers/stan-client.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';

describe('queue groups', () => {
  let nats: NatsServer;
  let server: StanProcess;
  let pub: StanConn;
  let nc: NatsConnection;
  const cid = 'queues-cluster';
  const conns = new StanConns();

  const pubN = async (ch: string, from: number, to: number) => {
    for (let i = from; i <= to; i++) await publish(pub, ch, `m${i}`);
  };
  const client = async (prefix: string) => {
    return conns.connect(cid, unique(prefix), nats.url);
  };
  const manual = (sc: StanConn) => sc.subscriptionOptions().setManualAckMode(true).setAckWait(60_000);

  before(async () => {
    nats = await startNatsServer();
    server = await startStanServer(nats.url, [], cid);
    pub = await conns.connect(cid, unique('qpub'), nats.url);
    nc = await rawNats(nats.url);
  });
  after(async () => {
    await conns.closeAll();
    await nc?.close();
    await server?.stop();
    await nats?.stop();
  });

  it('spreads messages over the members, each message to exactly one member', async () => {
    const ch = unique('spread');
    const members: { sub: any; got: Received[] }[] = [];
    for (let i = 0; i < 3; i++) {
      const sc = await client('spread');
      members.push(await subscribe(sc, ch, 'workers', sc.subscriptionOptions()));
    }
    await pubN(ch, 1, 30);
    await until(() => members.reduce((n, m) => n + m.got.length, 0) >= 30, 10000, '30 messages');
    await sleep(200);
    const all = members.flatMap((m) => seqs(m.got)).sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 30 }, (_, i) => i + 1));
    for (const m of members) assert.ok(m.got.length > 0, 'every member gets some messages');
    assert.ok(members.every((m) => m.got.every((r) => !r.redelivered)));
    const c = await channelz(server, ch);
    assert.equal(c.subscriptions.length, 3);
    assert.ok(c.subscriptions.every((s: any) => s.queue_name === 'workers' && s.is_durable === false));
  });

  it('gives each message to the member with the fewest unacked, and holds messages when no member has room', async () => {
    const ch = unique('fewest');
    const members: { sub: any; got: Received[] }[] = [];
    for (let i = 0; i < 3; i++) {
      const sc = await client('fewest');
      members.push(await subscribe(sc, ch, 'g', manual(sc).setMaxInFlight(1)));
    }
    await pubN(ch, 1, 4);
    await until(() => members.reduce((n, m) => n + m.got.length, 0) >= 3);
    await sleep(300);
    assert.deepEqual(members.map((m) => m.got.length), [1, 1, 1]);
    assert.deepEqual(members.flatMap((m) => seqs(m.got)).sort(), [1, 2, 3]);
    // Message 4 waits for room; the member that acks gets it.
    const acker = members.find((m) => m.got[0]!.seq === 2)!;
    acker.got[0]!.msg.ack();
    await until(() => acker.got.length === 2);
    await sleep(200);
    assert.equal(acker.got[1]!.seq, 4);
    assert.deepEqual(members.map((m) => m.got.length).sort(), [1, 1, 2]);
  });

  it('a member joining an existing group gets only what comes after the group position, whatever its start position', async () => {
    const ch = unique('join');
    const a = await client('join');
    const ma = await subscribe(a, ch, 'g', a.subscriptionOptions().setDeliverAllAvailable());
    await pubN(ch, 1, 3);
    await until(() => ma.got.length === 3);
    const b = await client('join');
    const mb = await subscribe(b, ch, 'g', b.subscriptionOptions().setDeliverAllAvailable());
    await sleep(200);
    assert.equal(mb.got.length, 0);
    await pubN(ch, 4, 7);
    await until(() => ma.got.length + mb.got.length === 7);
    assert.deepEqual([...seqs(ma.got), ...seqs(mb.got)].sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7]);
  });

  for (const how of ['unsubscribe', 'sub close', 'client close'] as const) {
    it(`redelivers the unacked messages of a member that leaves (${how}) to another member`, async () => {
      const ch = unique('leave');
      const a = await client('leaver');
      const ma = await subscribe(a, ch, 'g', manual(a));
      await pubN(ch, 1, 3);
      await until(() => ma.got.length === 3);
      const b = await client('stayer');
      const mb = await subscribe(b, ch, 'g', b.subscriptionOptions());
      if (how === 'unsubscribe') await unsubscribeSub(ma.sub);
      else if (how === 'sub close') await closeSub(ma.sub);
      else await closeStan(a);
      await until(() => mb.got.length >= 3, 10000, 'the transferred messages');
      await pubN(ch, 4, 4);
      await until(() => mb.got.length >= 4);
      await sleep(200);
      assert.deepEqual(seqs(mb.got), [1, 2, 3, 4]);
      assert.deepEqual(flags(mb.got), [true, true, true, false]);
      assert.deepEqual(mb.got.slice(0, 3).map((m) => m.redeliveryCount), [1, 1, 1]);
      assert.deepEqual(seqs(ma.got), [1, 2, 3]);
      const c = await channelz(server, ch);
      assert.equal(c.subscriptions.length, 1);
      assert.equal(c.subscriptions[0].pending_count, 0);
    });
  }

  it('redelivers an expired message to the member with the fewest unacked messages', async () => {
    const ch = unique('expire-move');
    const a = await client('slow');
    const ma = await subscribe(a, ch, 'g', a.subscriptionOptions().setManualAckMode(true).setAckWait(1000));
    await pubN(ch, 1, 1);
    await until(() => ma.got.length === 1);
    const b = await client('fast');
    const mb = await subscribe(b, ch, 'g', b.subscriptionOptions().setAckWait(1000));
    await until(() => mb.got.length >= 1, 10000, 'the redelivery');
    await sleep(1500);
    assert.deepEqual(seqs(mb.got), [1]);
    assert.equal(mb.got[0]!.redelivered, true);
    assert.equal(mb.got[0]!.redeliveryCount, 1);
    assert.deepEqual(seqs(ma.got), [1]);
    const c = await channelz(server, ch);
    assert.ok(c.subscriptions.every((s: any) => s.pending_count === 0));
  });

  it('lets any member ack a message of the group', async () => {
    const ch = unique('anyack');
    const a = await client('anyack');
    const ma = await subscribe(a, ch, 'g', manual(a));
    await pubN(ch, 1, 1);
    await until(() => ma.got.length === 1);
    const b = await client('anyack');
    const mb = await subscribe(b, ch, 'g', manual(b));
    const pendingOf = async (inbox: string) => (await channelz(server, ch)).subscriptions.find((s: any) => s.inbox === inbox).pending_count;
    assert.equal(await pendingOf(ma.sub.inbox), 1);
    nc.publish(mb.sub.ackInbox, pb.Ack.encode({ subject: ch, sequence: 1 }));
    await untilAsync(async () => (await pendingOf(ma.sub.inbox)) === 0, 5000, 'the ack from the other member');
    assert.equal(await pendingOf(mb.sub.inbox), 0);
  });

  it('a non-durable group disappears with its last member; a new group starts at its own start position', async () => {
    const ch = unique('nondur');
    const a = await client('nondur');
    const ma = await subscribe(a, ch, 'g', a.subscriptionOptions());
    await pubN(ch, 1, 2);
    await until(() => ma.got.length === 2);
    await closeSub(ma.sub);
    assert.equal((await channelz(server, ch)).subscriptions, undefined);
    const b = await client('nondur');
    const mb = await subscribe(b, ch, 'g', b.subscriptionOptions().setDeliverAllAvailable());
    await until(() => mb.got.length === 2);
    assert.deepEqual(seqs(mb.got), [1, 2]);
  });

  describe('durable queue groups', () => {
    it('survive all members closing and resume where the group was', async () => {
      const ch = unique('dq');
      const a = await client('dqa');
      const b = await client('dqb');
      const ma = await subscribe(a, ch, 'g', a.subscriptionOptions().setDurableName('dq').setDeliverAllAvailable());
      const mb = await subscribe(b, ch, 'g', b.subscriptionOptions().setDurableName('dq').setDeliverAllAvailable());
      await pubN(ch, 1, 4);
      await until(() => ma.got.length + mb.got.length === 4);
      await closeSub(ma.sub);
      await closeSub(mb.sub);

      const c = await channelz(server, ch);
      assert.equal(c.subscriptions.length, 1);
      const shadow = c.subscriptions[0];
      assert.equal(shadow.queue_name, 'dq:g');
      assert.equal(shadow.is_durable, true);
      assert.equal(shadow.is_offline, true);
      assert.equal(shadow.last_sent, 4);

      await pubN(ch, 5, 6);
      await sleep(100);
      assert.equal(ma.got.length + mb.got.length, 4);

      const d = await client('dqd');
      const md = await subscribe(d, ch, 'g', d.subscriptionOptions().setDurableName('dq').setDeliverAllAvailable());
      await until(() => md.got.length >= 2);
      await sleep(200);
      assert.deepEqual(seqs(md.got), [5, 6]);
      const c2 = await channelz(server, ch);
      assert.equal(c2.subscriptions.length, 1);
      assert.equal(c2.subscriptions[0].is_offline, false);
      assert.equal(c2.subscriptions[0].queue_name, 'dq:g');
    });

    it('keep the unacked messages of the last member (client close) and redeliver them first to the next member', async () => {
      const ch = unique('dqpend');
      const a = await client('dqpa');
      const ma = await subscribe(a, ch, 'g', manual(a).setDurableName('dq').setDeliverAllAvailable());
      await pubN(ch, 1, 2);
      await until(() => ma.got.length === 2);
      ma.got[0]!.msg.ack();
      await untilAsync(async () => (await channelz(server, ch)).subscriptions[0].pending_count === 1, 5000, 'the ack');
      await closeStan(a);
      const c = await channelz(server, ch);
      assert.equal(c.subscriptions.length, 1);
      assert.equal(c.subscriptions[0].is_offline, true);
      await pubN(ch, 3, 3);
      const b = await client('dqpb');
      const mb = await subscribe(b, ch, 'g', manual(b).setDurableName('dq'));
      await until(() => mb.got.length >= 2);
      await sleep(200);
      assert.deepEqual(seqs(mb.got), [2, 3]);
      assert.deepEqual(flags(mb.got), [true, false]);
    });

    it('are deleted when the last member unsubscribes', async () => {
      const ch = unique('dqunsub');
      const a = await client('dqu');
      const ma = await subscribe(a, ch, 'g', a.subscriptionOptions().setDurableName('dq').setDeliverAllAvailable());
      await pubN(ch, 1, 2);
      await until(() => ma.got.length === 2);
      await unsubscribeSub(ma.sub);
      assert.equal((await channelz(server, ch)).subscriptions, undefined);
      const b = await client('dqu');
      const mb = await subscribe(b, ch, 'g', b.subscriptionOptions().setDurableName('dq').setDeliverAllAvailable());
      await until(() => mb.got.length === 2);
      assert.deepEqual(seqs(mb.got), [1, 2]);
    });

    it('are separate from a non-durable group with the same queue name', async () => {
      const ch = unique('dqsep');
      const a = await client('dqsep');
      const b = await client('dqsep');
      const md = await subscribe(a, ch, 'g', a.subscriptionOptions().setDurableName('dq'));
      const mn = await subscribe(b, ch, 'g', b.subscriptionOptions());
      await pubN(ch, 1, 3);
      await until(() => md.got.length === 3 && mn.got.length === 3);
      assert.deepEqual(seqs(md.got), [1, 2, 3]);
      assert.deepEqual(seqs(mn.got), [1, 2, 3]);
    });

    it("channelsz shows the last member's client ID for an offline durable group", async () => {
      const ch = unique('dqmon');
      const id = unique('dqmon');
      const sc = await conns.connect(cid, id, nats.url);
      const m = await subscribe(sc, ch, 'g', sc.subscriptionOptions().setDurableName('dq'));
      await closeSub(m.sub);
      const c = await channelz(server, ch);
      assert.equal(c.subscriptions[0].is_offline, true);
      assert.equal(c.subscriptions[0].client_id, id);
      await closeStan(sc);
    });
  });
});
