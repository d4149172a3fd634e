import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NatsConnection, createInbox } from 'nats';
import { StartPosition, pb } from '../../src/proto/codec.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { StanConns, channelz, liveRawClient, rawNats, rawSubscribe, request, stanSubjects, subReq, unique, utf8 } from '../helpers/raw.js';
import { type StanConn, publish, seqs, sleep, stan, subscribe, until } from '../helpers/stan-client.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';

describe('subscriptions', () => {
  let nats: NatsServer;
  const conns = new StanConns();
  let server: StanProcess;
  let nc: NatsConnection;
  let sc: StanConn;
  let rawId: string;
  let stopHb: () => void;
  const cid = 'subs-cluster';

  const pubN = async (ch: string, from: number, to: number) => {
    for (let i = from; i <= to; i++) await publish(sc, ch, `m${i}`);
  };

  before(async () => {
    nats = await startNatsServer();
    server = await startStanServer(nats.url, [], cid);
    nc = await rawNats(nats.url);
    sc = await conns.connect(cid, unique('subs'), nats.url);
    rawId = unique('rawsubs');
    const live = await liveRawClient(nc, cid, rawId);
    stopHb = live.stop;
  });
  after(async () => {
    await conns.closeAll();
    stopHb?.();
    await nc?.close();
    await server?.stop();
    await nats?.stop();
  });

  describe('start positions', () => {
    it('NewOnly (the default) gets only messages published after the subscription', async () => {
      const ch = unique('newonly');
      await pubN(ch, 1, 3);
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions());
      await pubN(ch, 4, 5);
      await until(() => got.length >= 2);
      await sleep(100);
      assert.deepEqual(seqs(got), [4, 5]);
      assert.deepEqual(got.map((m) => m.data), ['m4', 'm5']);
    });

    it('NewOnly set explicitly behaves the same', async () => {
      const ch = unique('newonly2');
      await pubN(ch, 1, 2);
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartAt(stan.StartPosition.NEW_ONLY));
      await pubN(ch, 3, 3);
      await until(() => got.length >= 1);
      await sleep(100);
      assert.deepEqual(seqs(got), [3]);
    });

    it('LastReceived starts with the current last message', async () => {
      const ch = unique('lastrcv');
      await pubN(ch, 1, 3);
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartWithLastReceived());
      await until(() => got.length >= 1);
      await pubN(ch, 4, 4);
      await until(() => got.length >= 2);
      await sleep(100);
      assert.deepEqual(seqs(got), [3, 4]);
      assert.equal(got[0]!.data, 'm3');
      assert.equal(got[0]!.redelivered, false);
    });

    it('LastReceived on an empty channel gets the first message published', async () => {
      const ch = unique('lastrcv-empty');
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartWithLastReceived());
      await pubN(ch, 1, 2);
      await until(() => got.length >= 2);
      assert.deepEqual(seqs(got), [1, 2]);
    });

    it('First (deliver all available) gets everything from sequence 1', async () => {
      const ch = unique('first');
      await pubN(ch, 1, 4);
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
      await until(() => got.length >= 4);
      await pubN(ch, 5, 5);
      await until(() => got.length >= 5);
      assert.deepEqual(seqs(got), [1, 2, 3, 4, 5]);
      assert.deepEqual(got.map((m) => m.data), ['m1', 'm2', 'm3', 'm4', 'm5']);
    });

    it('SequenceStart starts at the given sequence', async () => {
      const ch = unique('seqstart');
      await pubN(ch, 1, 5);
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartAtSequence(3));
      await until(() => got.length >= 3);
      await sleep(100);
      assert.deepEqual(seqs(got), [3, 4, 5]);
    });

    it('SequenceStart 0 starts at the first message', async () => {
      const ch = unique('seqstart0');
      await pubN(ch, 1, 3);
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartAtSequence(0));
      await until(() => got.length >= 3);
      assert.deepEqual(seqs(got), [1, 2, 3]);
    });

    it('SequenceStart past the last sequence is not an error: it gets only new messages', async () => {
      const ch = unique('seqstart-high');
      await pubN(ch, 1, 3);
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartAtSequence(100));
      await pubN(ch, 4, 5);
      await until(() => got.length >= 2);
      await sleep(100);
      assert.deepEqual(seqs(got), [4, 5]);
    });

    it('SequenceStart on an empty channel gets the first message published', async () => {
      const ch = unique('seqstart-empty');
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartAtSequence(10));
      await pubN(ch, 1, 1);
      await until(() => got.length >= 1);
      assert.deepEqual(seqs(got), [1]);
    });

    it('SequenceStart is accepted from a raw request with an out-of-range sequence', async () => {
      const ch = unique('seqstart-raw');
      await pubN(ch, 1, 2);
      const resp = await rawSubscribe(nc, cid, subReq({ clientID: rawId, subject: ch, startPosition: StartPosition.SequenceStart, startSequence: 1000 }));
      assert.equal(resp.error, '');
      assert.match(resp.ackInbox!, /^_INBOX\.[A-Za-z0-9]{22}$/);
      const c = await channelz(server, ch);
      assert.equal(c.subscriptions[0].last_sent, 2);
    });

    it('TimeDeltaStart starts at the first message not older than the delta', async () => {
      const ch = unique('timedelta');
      await pubN(ch, 1, 2);
      await sleep(1500);
      await pubN(ch, 3, 4);
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartAtTimeDelta(700));
      await until(() => got.length >= 2);
      await sleep(100);
      assert.deepEqual(seqs(got), [3, 4]);

      const all = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartAtTimeDelta(3_600_000));
      await until(() => all.got.length >= 4);
      assert.deepEqual(seqs(all.got), [1, 2, 3, 4]);

      const byDate = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartTime(new Date(Date.now() - 700)));
      await until(() => byDate.got.length >= 2);
      await sleep(100);
      assert.deepEqual(seqs(byDate.got), [3, 4]);
    });

    it('TimeDeltaStart newer than every message gets only new messages', async () => {
      const ch = unique('timedelta-new');
      await pubN(ch, 1, 2);
      await sleep(600);
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartAtTimeDelta(200));
      await pubN(ch, 3, 3);
      await until(() => got.length >= 1);
      await sleep(100);
      assert.deepEqual(seqs(got), [3]);
    });
  });

  it('sends the SubscriptionResponse before the first message, and an ack inbox of the form _INBOX.<nuid>', async () => {
    const ch = unique('resp-first');
    await pubN(ch, 1, 3);
    const events: string[] = [];
    const req = subReq({ clientID: rawId, subject: ch, startPosition: StartPosition.First });
    const inboxSub = nc.subscribe(req.inbox, { callback: (_e, m) => events.push(`msg ${pb.MsgProto.decode(m.data).sequence}`) });
    const replyInbox = createInbox();
    const replySub = nc.subscribe(replyInbox, {
      callback: (_e, m) => {
        const r = pb.SubscriptionResponse.decode(m.data);
        events.push(r.error ? `error ${r.error}` : 'response');
        assert.match(r.ackInbox!, /^_INBOX\.[A-Za-z0-9]{22}$/);
      },
    });
    await nc.flush();
    nc.publish(stanSubjects(cid).sub, pb.SubscriptionRequest.encode(req), { reply: replyInbox });
    await until(() => events.length >= 4);
    assert.deepEqual(events, ['response', 'msg 1', 'msg 2', 'msg 3']);
    inboxSub.unsubscribe();
    replySub.unsubscribe();
  });

  describe('max in flight', () => {
    it('never has more than maxInFlight unacked messages out, and an ack lets exactly one more through', async () => {
      const ch = unique('mif');
      await pubN(ch, 1, 10);
      const opts = sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(3).setAckWait(60_000);
      const { got } = await subscribe(sc, ch, undefined, opts);
      await until(() => got.length >= 3);
      await sleep(300);
      assert.deepEqual(seqs(got), [1, 2, 3]);
      const c = await channelz(server, ch);
      assert.equal(c.subscriptions[0].pending_count, 3);
      assert.equal(c.subscriptions[0].last_sent, 3);
      assert.equal(c.subscriptions[0].max_inflight, 3);
      assert.equal(c.subscriptions[0].is_stalled, true);

      got[0]!.msg.ack();
      await until(() => got.length >= 4);
      await sleep(300);
      assert.deepEqual(seqs(got), [1, 2, 3, 4]);

      for (const m of got.slice(1)) m.msg.ack();
      await until(() => got.length >= 7);
      await sleep(300);
      assert.deepEqual(seqs(got), [1, 2, 3, 4, 5, 6, 7]);
    });

    it('keeps the bound while messages are acked one by one as they arrive', async () => {
      const ch = unique('mif-flow');
      const opts = sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(2).setAckWait(60_000);
      const outstanding = new Set<number>();
      let maxOutstanding = 0;
      const { got } = await subscribe(sc, ch, undefined, opts, (r) => {
        outstanding.add(r.seq);
        maxOutstanding = Math.max(maxOutstanding, outstanding.size);
        setTimeout(() => {
          outstanding.delete(r.seq);
          r.msg.ack();
        }, 15);
      });
      await Promise.all(Array.from({ length: 20 }, (_, i) => publish(sc, ch, `m${i + 1}`)));
      await until(() => got.length >= 20, 15000, '20 messages');
      await sleep(200);
      assert.deepEqual(seqs(got), Array.from({ length: 20 }, (_, i) => i + 1));
      assert.ok(maxOutstanding <= 2, `had ${maxOutstanding} unacked messages out with maxInFlight 2`);
      assert.ok(got.every((m) => !m.redelivered));
    });

    it('reports stalled and pending in channelsz and stays within the limit with auto-ack off for maxInFlight 1', async () => {
      const ch = unique('mif1');
      await pubN(ch, 1, 3);
      const opts = sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(1).setAckWait(60_000);
      const { got } = await subscribe(sc, ch, undefined, opts);
      await until(() => got.length >= 1);
      await sleep(200);
      assert.deepEqual(seqs(got), [1]);
      got[0]!.msg.ack();
      await until(() => got.length >= 2);
      await sleep(200);
      assert.deepEqual(seqs(got), [1, 2]);
    });
  });

  describe('ack wait and redelivery', { concurrency: true }, () => {
    it('redelivers an unacked message after ackWait with redelivered=true and a growing redeliveryCount', async () => {
      const ch = unique('redeliver');
      const opts = sc.subscriptionOptions().setManualAckMode(true).setAckWait(1000);
      const { got } = await subscribe(sc, ch, undefined, opts);
      await publish(sc, ch, 'again');
      await until(() => got.length >= 3, 10000, 'two redeliveries');
      const three = got.slice(0, 3);
      assert.deepEqual(seqs(three), [1, 1, 1]);
      assert.deepEqual(three.map((m) => m.redelivered), [false, true, true]);
      assert.deepEqual(three.map((m) => m.redeliveryCount), [0, 1, 2]);
      assert.ok(three.every((m) => m.data === 'again'));
      // Acking the redelivered message stops redelivery.
      const n = got.length;
      got[n - 1]!.msg.ack();
      await sleep(2200);
      assert.equal(got.length, n);
      assert.equal((await channelz(server, ch)).subscriptions[0].pending_count, 0);
    });

    it('does not redeliver an acked message', async () => {
      const ch = unique('acked');
      const opts = sc.subscriptionOptions().setManualAckMode(true).setAckWait(1000);
      const { got } = await subscribe(sc, ch, undefined, opts, (r) => r.msg.ack());
      await pubN(ch, 1, 3);
      await until(() => got.length >= 3);
      await sleep(2200);
      assert.deepEqual(seqs(got), [1, 2, 3]);
      assert.ok(got.every((m) => !m.redelivered));
    });

    it('auto-ack (the default) is not redelivered either', async () => {
      const ch = unique('autoack');
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setAckWait(1000));
      await pubN(ch, 1, 2);
      await until(() => got.length >= 2);
      await sleep(2200);
      assert.deepEqual(seqs(got), [1, 2]);
    });

    it('accepts an ack wait of 30 days: no early redelivery, and no timer overflow in the server', async () => {
      const ch = unique('longwait');
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setManualAckMode(true).setAckWait(30 * 86400 * 1000));
      await publish(sc, ch, 'x');
      await until(() => got.length === 1);
      await sleep(1500);
      assert.equal(got.length, 1);
      const c = await channelz(server, ch);
      assert.equal(c.subscriptions[0].ack_wait, 30 * 86400);
      assert.equal(c.subscriptions[0].pending_count, 1);
      assert.doesNotMatch(server.proc.output(), /TimeoutOverflowWarning/);
    });

    it('redelivers past maxInFlight: only unacked ones come again, in sequence order', async () => {
      const ch = unique('redeliver-mif');
      const opts = sc.subscriptionOptions().setManualAckMode(true).setAckWait(1000).setMaxInFlight(2).setDeliverAllAvailable();
      await pubN(ch, 1, 3);
      const { got } = await subscribe(sc, ch, undefined, opts, (r) => {
        if (r.seq === 1 && !r.redelivered) r.msg.ack();
      });
      await until(() => got.some((m) => m.redelivered), 10000, 'a redelivery');
      const firstRound = got.filter((m) => !m.redelivered).map((m) => m.seq);
      const redelivered = got.filter((m) => m.redelivered).map((m) => m.seq);
      assert.deepEqual(firstRound, [1, 2, 3]);
      assert.equal(redelivered[0], 2);
      assert.ok(!redelivered.includes(1));
    });
  });

  describe('refused subscription requests', () => {
    const refuse = async (o: Parameters<typeof subReq>[0], error: string) => {
      const resp = await rawSubscribe(nc, cid, subReq({ clientID: rawId, subject: unique('refused'), ...o }));
      assert.equal(resp.error, error);
      assert.equal(resp.ackInbox, '');
    };

    it('maxInFlight < 1', async () => {
      await refuse({ maxInFlight: 0 }, 'stan: invalid MaxInflight, should be >= 1');
      await refuse({ maxInFlight: -1 }, 'stan: invalid MaxInflight, should be >= 1');
    });

    it('maxInFlight 0 from node-nats-streaming', async () => {
      await assert.rejects(subscribe(sc, unique('mif0'), undefined, sc.subscriptionOptions().setMaxInFlight(0)), {
        message: 'stan: invalid MaxInflight, should be >= 1',
      });
    });

    it('ackWait < 1s', async () => {
      await refuse({ ackWaitInSecs: 0 }, 'stan: invalid ack wait time, should be >= 1s');
      await refuse({ ackWaitInSecs: -1 }, 'stan: invalid ack wait time, should be >= 1s');
    });

    it('start position out of range', async () => {
      await refuse({ startPosition: 5 as StartPosition }, 'stan: invalid start position');
      await refuse({ startPosition: -1 as StartPosition }, 'stan: invalid start position');
    });

    for (const subject of ['foo.*', 'foo.>', 'foo*.bar', 'a..b', '.a', 'a.', '', 'a/b']) {
      it(`bad subject ${JSON.stringify(subject)}`, async () => {
        await refuse({ subject }, 'stan: invalid subject');
      });
    }

    it('bad subject from node-nats-streaming', async () => {
      await assert.rejects(subscribe(sc, 'foo.*', undefined, sc.subscriptionOptions()), { message: 'stan: invalid subject' });
    });

    it('missing client ID', async () => {
      await refuse({ clientID: '' }, 'stan: clientID missing');
    });

    it('unknown client ID, without creating the channel', async () => {
      const ch = unique('unknown-client');
      await refuse({ clientID: unique('ghost'), subject: ch }, 'stan: unknown clientID');
      assert.equal(await channelz(server, ch), undefined);
    });

    it('checks in the Go order: client ID, ack wait, max in flight, start position, subject, client', async () => {
      await refuse({ clientID: '', ackWaitInSecs: 0, maxInFlight: 0, subject: 'a.*' }, 'stan: clientID missing');
      await refuse({ ackWaitInSecs: 0, maxInFlight: 0, startPosition: 9 as StartPosition, subject: 'a.*' }, 'stan: invalid ack wait time, should be >= 1s');
      await refuse({ maxInFlight: 0, startPosition: 9 as StartPosition, subject: 'a.*' }, 'stan: invalid MaxInflight, should be >= 1');
      await refuse({ startPosition: 9 as StartPosition, subject: 'a.*' }, 'stan: invalid start position');
      await refuse({ clientID: unique('ghost'), subject: 'a.*' }, 'stan: invalid subject');
    });

    it("durable queue subscription whose durable name contains ':'", async () => {
      const ch = unique('durq-colon');
      await refuse({ subject: ch, qGroup: 'grp', durableName: 'dur:name' }, "stan: durable name of a durable queue subscriber can't contain the character ':'");
      // The channel was created before the durable name was checked, as in the Go server.
      assert.notEqual(await channelz(server, ch), undefined);
      assert.equal((await channelz(server, ch)).subscriptions, undefined);
      await assert.rejects(subscribe(sc, unique('durq-colon2'), 'grp', sc.subscriptionOptions().setDurableName('a:b')), {
        message: "stan: durable name of a durable queue subscriber can't contain the character ':'",
      });
    });

    it("allows ':' in a plain durable name and in a queue group name", async () => {
      const ch = unique('colon-ok');
      assert.equal((await rawSubscribe(nc, cid, subReq({ clientID: rawId, subject: ch, durableName: 'a:b' }))).error, '');
      assert.equal((await rawSubscribe(nc, cid, subReq({ clientID: rawId, subject: ch, qGroup: 'q:g' }))).error, '');
      assert.equal((await rawSubscribe(nc, cid, subReq({ clientID: rawId, subject: ch, qGroup: 'q:g2', durableName: 'dur' }))).error, '');
      const c = await channelz(server, ch);
      assert.deepEqual(
        c.subscriptions.map((s: any) => `${s.durable_name ?? ''}|${s.queue_name ?? ''}|${s.is_durable}`).sort(),
        ['a:b||true', '|dur:q:g2|true', '|q:g|false'],
      );
    });

    it('an undecodable request', async () => {
      const resp = pb.SubscriptionResponse.decode(await request(nc, stanSubjects(cid).sub, utf8('dummy')));
      assert.equal(resp.error, 'stan: invalid subscription request');
    });
  });

  describe('unsubscribe', () => {
    it('stops delivery and removes the subscription', async () => {
      const ch = unique('unsub');
      const { sub, got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions());
      await pubN(ch, 1, 1);
      await until(() => got.length === 1);
      await new Promise<void>((resolve, reject) => {
        sub.once('unsubscribed', () => resolve());
        sub.once('error', reject);
        sub.unsubscribe();
      });
      assert.equal((await channelz(server, ch)).subscriptions, undefined);
      await pubN(ch, 2, 2);
      await sleep(200);
      assert.deepEqual(seqs(got), [1]);
    });
  });
});
