import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { StanConns, channelz, unique, untilAsync } from '../helpers/raw.js';
import { type StanConn, closeStan, publish, seqs, sleep, subscribe, unsubscribeSub, until } from '../helpers/stan-client.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';

/** The size the Go memory store counts for a message: its MsgProto encoding (sequence < 128, no reply). */
function msgSize(subject: string, dataLen: number): number {
  const varint = (n: number) => (n < 128 ? 1 : n < 16384 ? 2 : 3);
  return 2 + (1 + varint(subject.length) + subject.length) + (1 + varint(dataLen) + dataLen) + 10;
}

describe('store limits', () => {
  let nats: NatsServer;
  let channels: StanProcess;
  let subsLimit: StanProcess;
  let sizes: StanProcess;
  let ages: StanProcess;
  let inactive: StanProcess;
  const conns = new StanConns();

  before(async () => {
    nats = await startNatsServer();
    [channels, subsLimit, sizes, ages, inactive] = await Promise.all([
      startStanServer(nats.url, ['-mc', '3'], 'limits-mc'),
      startStanServer(nats.url, ['-msu', '2'], 'limits-msu'),
      startStanServer(nats.url, ['-mm', '3', '-mb', '300'], 'limits-size'),
      startStanServer(nats.url, ['-ma', '1s'], 'limits-age'),
      startStanServer(nats.url, ['-mi', '500ms'], 'limits-mi'),
    ]);
  });
  after(async () => {
    await conns.closeAll();
    await Promise.all([channels?.stop(), subsLimit?.stop(), sizes?.stop(), ages?.stop(), inactive?.stop()]);
    await nats?.stop();
  });

  describe('-mc (max channels)', () => {
    it('refuses a publish or a subscription that would create one channel too many with "too many channels"', async () => {
      const sc = await conns.connect('limits-mc', unique('mc'), nats.url);
      for (const ch of ['mc.1', 'mc.2', 'mc.3']) await publish(sc, ch, 'x');
      await assert.rejects(publish(sc, 'mc.4', 'x'), { message: 'too many channels' });
      await assert.rejects(subscribe(sc, 'mc.5', undefined, sc.subscriptionOptions()), { message: 'too many channels' });
      const { body } = await channels.monitor('/streaming/channelsz');
      assert.equal(body.total, 3);
      assert.deepEqual(body.names, ['mc.1', 'mc.2', 'mc.3']);
      // Existing channels keep working.
      await publish(sc, 'mc.2', 'y');
      const { got } = await subscribe(sc, 'mc.2', undefined, sc.subscriptionOptions().setDeliverAllAvailable());
      await until(() => got.length === 2);
      assert.deepEqual(seqs(got), [1, 2]);
      await closeStan(sc);
    });
  });

  describe('-msu (max subscriptions per channel)', () => {
    const cid = 'limits-msu';
    const tooMany = { message: 'too many subscriptions per channel' };

    it('refuses the subscription after the limit, per channel', async () => {
      const sc = await conns.connect(cid, unique('msu'), nats.url);
      const ch = unique('msu.ch');
      await subscribe(sc, ch, undefined, sc.subscriptionOptions());
      await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('d'));
      await assert.rejects(subscribe(sc, ch, undefined, sc.subscriptionOptions()), tooMany);
      await assert.rejects(subscribe(sc, ch, 'q', sc.subscriptionOptions()), tooMany);
      assert.equal((await channelz(subsLimit, ch)).subscriptions.length, 2);
      // Another channel has its own count.
      await subscribe(sc, unique('msu.other'), undefined, sc.subscriptionOptions());
      await closeStan(sc);
    });

    it('counts queue members, frees a slot on unsubscribe, and counts offline durables (which may still resume)', async () => {
      const ch = unique('msu.q');
      const a = await conns.connect(cid, unique('msua'), nats.url);
      const q1 = await subscribe(a, ch, 'q', a.subscriptionOptions());
      await subscribe(a, ch, 'q', a.subscriptionOptions());
      await assert.rejects(subscribe(a, ch, 'q', a.subscriptionOptions()), tooMany);
      await unsubscribeSub(q1.sub);
      const durId = unique('msudur');
      const d = await conns.connect(cid, durId, nats.url);
      await subscribe(d, ch, undefined, d.subscriptionOptions().setDurableName('dur'));
      await closeStan(d);
      const c = await channelz(subsLimit, ch);
      assert.equal(c.subscriptions.length, 2);
      assert.equal(c.subscriptions.filter((s: any) => s.is_offline).length, 1);
      // The offline durable still takes its slot...
      await assert.rejects(subscribe(a, ch, undefined, a.subscriptionOptions()), tooMany);
      // ...and resuming it is not a new subscription.
      const d2 = await conns.connect(cid, durId, nats.url);
      await subscribe(d2, ch, undefined, d2.subscriptionOptions().setDurableName('dur'));
      const c2 = await channelz(subsLimit, ch);
      assert.equal(c2.subscriptions.length, 2);
      assert.equal(c2.subscriptions.filter((s: any) => s.is_offline).length, 0);
    });
  });

  describe('-mm and -mb (oldest messages dropped)', () => {
    const cid = 'limits-size';
    let sc: StanConn;
    before(async () => {
      sc = await conns.connect(cid, unique('size'), nats.url);
    });

    it('-mm keeps the newest N messages: channelsz first_seq/msgs, and delivery starts at the first kept', async () => {
      const ch = unique('mm');
      for (let i = 1; i <= 5; i++) await publish(sc, ch, `m${i}`);
      const c = await channelz(sizes, ch);
      assert.equal(c.msgs, 3);
      assert.equal(c.first_seq, 3);
      assert.equal(c.last_seq, 5);
      assert.equal(c.bytes, [3, 4, 5].reduce((n) => n + msgSize(ch, 2), 0));
      const all = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
      await until(() => all.got.length >= 3);
      assert.deepEqual(seqs(all.got), [3, 4, 5]);
      assert.deepEqual(all.got.map((m) => m.data), ['m3', 'm4', 'm5']);
    });

    it('a start sequence below the first kept message starts at the first kept one', async () => {
      const ch = unique('mm-seq');
      for (let i = 1; i <= 6; i++) await publish(sc, ch, `m${i}`);
      const low = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartAtSequence(1));
      const mid = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setStartAtSequence(5));
      await until(() => low.got.length >= 3 && mid.got.length >= 2);
      await sleep(100);
      assert.deepEqual(seqs(low.got), [4, 5, 6]);
      assert.deepEqual(seqs(mid.got), [5, 6]);
    });

    it('a stalled subscriber skips what was dropped meanwhile', async () => {
      const ch = unique('mm-skip');
      const opts = sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(1).setAckWait(60_000);
      const { got } = await subscribe(sc, ch, undefined, opts, (r) => {
        if (r.seq > 1) r.msg.ack();
      });
      await publish(sc, ch, 'm1');
      await until(() => got.length === 1);
      for (let i = 2; i <= 6; i++) await publish(sc, ch, `m${i}`);
      assert.equal((await channelz(sizes, ch)).first_seq, 4);
      got[0]!.msg.ack();
      await until(() => got.length >= 4);
      await sleep(100);
      assert.deepEqual(seqs(got), [1, 4, 5, 6]);
    });

    it('does not redeliver unacked messages that were dropped', async () => {
      const ch = unique('mm-rdlv');
      const opts = sc.subscriptionOptions().setManualAckMode(true).setAckWait(1000);
      const { got } = await subscribe(sc, ch, undefined, opts);
      for (let i = 1; i <= 5; i++) await publish(sc, ch, `m${i}`);
      await until(() => got.some((m) => m.redelivered && m.seq === 5), 10000, 'the redeliveries');
      await sleep(100);
      const redelivered = got.filter((m) => m.redelivered).map((m) => m.seq);
      assert.deepEqual([...new Set(redelivered)].sort(), [3, 4, 5]);
      for (const m of got) m.msg.ack();
    });

    it('-mb drops the oldest messages while the channel holds more bytes than the limit', async () => {
      const ch = unique('mb');
      const payload = 'x'.repeat(100);
      const size = msgSize(ch, 100);
      assert.ok(2 * size <= 300 && 3 * size > 300, `test assumes 2 messages fit in 300 bytes (size ${size})`);
      for (let i = 1; i <= 4; i++) await publish(sc, ch, payload);
      const c = await channelz(sizes, ch);
      assert.equal(c.msgs, 2);
      assert.equal(c.bytes, 2 * size);
      assert.equal(c.first_seq, 3);
      assert.equal(c.last_seq, 4);
    });

    it('-mb always keeps the newest message, even alone above the limit', async () => {
      const ch = unique('mb-big');
      await publish(sc, ch, 'small');
      await publish(sc, ch, 'y'.repeat(1000));
      const c = await channelz(sizes, ch);
      assert.equal(c.msgs, 1);
      assert.equal(c.first_seq, 2);
      assert.equal(c.last_seq, 2);
      assert.equal(c.bytes, msgSize(ch, 1000));
      const all = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
      await until(() => all.got.length === 1);
      assert.equal(all.got[0]!.data.length, 1000);
    });
  });

  describe('-ma (max age)', () => {
    it('expires messages; sequences continue after them', async () => {
      const sc = await conns.connect('limits-age', unique('ma'), nats.url);
      const ch = unique('ma');
      await publish(sc, ch, 'old1');
      await publish(sc, ch, 'old2');
      assert.equal((await channelz(ages, ch)).msgs, 2);
      await untilAsync(async () => (await channelz(ages, ch)).msgs === 0, 10000, 'the messages to expire');
      const c = await channelz(ages, ch);
      assert.equal(c.bytes, 0);
      assert.equal(c.last_seq, 2);
      assert.equal(c.first_seq, 3);
      const all = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
      await sleep(200);
      assert.equal(all.got.length, 0);
      await publish(sc, ch, 'new');
      await until(() => all.got.length === 1);
      assert.equal(all.got[0]!.seq, 3);
      assert.equal(all.got[0]!.data, 'new');
      await closeStan(sc);
    });
  });

  describe('-ma with a long age (720h)', () => {
    it('keeps the messages, and the server does not overflow its expiry timer', async () => {
      const longAge = await startStanServer(nats.url, ['-ma', '720h'], 'limits-age-long');
      try {
        const sc = await conns.connect('limits-age-long', unique('ma-long'), nats.url);
        const ch = unique('ma-long');
        await publish(sc, ch, 'keep me');
        await sleep(1000);
        const c = await channelz(longAge, ch);
        assert.equal(c.msgs, 1);
        assert.equal(c.first_seq, 1);
        const { body } = await longAge.monitor('/streaming/storez');
        assert.equal(body.limits.max_age, 720 * 3600 * 1e9);
        assert.doesNotMatch(longAge.proc.output(), /TimeoutOverflowWarning/);
        await closeStan(sc);
      } finally {
        await longAge.stop();
      }
    });
  });

  describe('-mi (max inactivity)', () => {
    const cid = 'limits-mi';

    it('deletes a channel without subscriptions or new messages; offline durables do not keep it; online subs do', async () => {
      const sc = await conns.connect(cid, unique('mi'), nats.url);
      const idle = unique('mi.idle');
      const watched = unique('mi.watched');
      const durableOnly = unique('mi.durable');
      await publish(sc, idle, 'x');
      await publish(sc, watched, 'x');
      await subscribe(sc, watched, undefined, sc.subscriptionOptions());
      const dOwner = await conns.connect(cid, unique('mi-dur'), nats.url);
      await subscribe(dOwner, durableOnly, undefined, dOwner.subscriptionOptions().setDurableName('d'));
      await closeStan(dOwner);
      assert.equal((await channelz(inactive, durableOnly)).subscriptions[0].is_offline, true);

      await untilAsync(async () => (await channelz(inactive, idle)) === undefined, 10000, 'the idle channel to be deleted');
      await untilAsync(async () => (await channelz(inactive, durableOnly)) === undefined, 10000, 'the durable-only channel to be deleted');
      assert.notEqual(await channelz(inactive, watched), undefined);
      // A deleted channel starts again from sequence 1.
      const { got } = await subscribe(sc, idle, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
      await publish(sc, idle, 'again');
      await until(() => got.length === 1);
      assert.equal(got[0]!.seq, 1);
      await closeStan(sc);
    });
  });
});
