import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { StanConns, channelz, clientIds, unique, untilAsync } from '../helpers/raw.js';
import { type StanConn, closeStan, closeSub, flags, publish, seqs, sleep, subscribe, unsubscribeSub, until } from '../helpers/stan-client.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';

async function pubN(sc: StanConn, ch: string, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await publish(sc, ch, `m${i}`);
}

describe('durable subscriptions', () => {
  let nats: NatsServer;
  const conns = new StanConns();
  let server: StanProcess;
  let replacing: StanProcess;
  let pub: StanConn;
  let pubR: StanConn;
  const cid = 'durables-cluster';
  const cidR = 'durables-replace-cluster';

  before(async () => {
    nats = await startNatsServer();
    [server, replacing] = await Promise.all([
      startStanServer(nats.url, [], cid),
      startStanServer(nats.url, ['--replace_durable'], cidR),
    ]);
    pub = await conns.connect(cid, unique('dpub'), nats.url);
    pubR = await conns.connect(cidR, unique('dpubr'), nats.url);
  });
  after(async () => {
    await conns.closeAll();
    await server?.stop();
    await replacing?.stop();
    await nats?.stop();
  });

  it('a closed durable is kept offline and resumes after its last acked message, unacked ones redelivered first', async () => {
    const id = unique('dclose');
    const ch = unique('dclose.ch');
    const sc = await conns.connect(cid, id, nats.url);
    const opts = () => sc.subscriptionOptions().setDurableName('d').setDeliverAllAvailable().setManualAckMode(true).setAckWait(60_000);
    const first = await subscribe(sc, ch, undefined, opts());
    await pubN(pub, ch, 1, 5);
    await until(() => first.got.length === 5);
    first.got[0]!.msg.ack();
    first.got[1]!.msg.ack();
    await untilAsync(async () => (await channelz(server, ch)).subscriptions[0].pending_count === 3, 5000, 'two acks');
    await closeSub(first.sub);

    const offline = await channelz(server, ch);
    assert.equal(offline.subscriptions.length, 1);
    const s = offline.subscriptions[0];
    assert.equal(s.durable_name, 'd');
    assert.equal(s.is_durable, true);
    assert.equal(s.is_offline, true);
    assert.equal(s.client_id, id);
    assert.equal(s.last_sent, 5);
    assert.equal(s.pending_count, 3);

    await pubN(pub, ch, 6, 7);
    await sleep(100);
    assert.equal(first.got.length, 5, 'a closed durable gets nothing');

    const resumed = await subscribe(sc, ch, undefined, opts().setMaxInFlight(50).setStartAtSequence(1));
    await until(() => resumed.got.length >= 5);
    await sleep(200);
    assert.deepEqual(seqs(resumed.got), [3, 4, 5, 6, 7]);
    assert.deepEqual(flags(resumed.got), [true, true, true, false, false]);
    assert.deepEqual(resumed.got.slice(0, 3).map((m) => m.redeliveryCount), [1, 1, 1]);
    const online = (await channelz(server, ch)).subscriptions;
    assert.equal(online.length, 1);
    assert.equal(online[0].is_offline, false);
    assert.equal(online[0].max_inflight, 50);
    assert.equal(online[0].client_id, id);
    for (const m of resumed.got) m.msg.ack();
    await closeStan(sc);
  });

  it('a client close makes durables offline and removes non-durables; reconnecting with the ID resumes the durable', async () => {
    const id = unique('dcli');
    const ch = unique('dcli.ch');
    const sc = await conns.connect(cid, id, nats.url);
    const durable = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('dur').setDeliverAllAvailable().setManualAckMode(true).setAckWait(60_000));
    const plain = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
    await pubN(pub, ch, 1, 3);
    await until(() => durable.got.length === 3 && plain.got.length === 3);
    durable.got[0]!.msg.ack();
    await untilAsync(async () => (await channelz(server, ch)).subscriptions.find((x: any) => x.durable_name === 'dur').pending_count === 2, 5000, 'the ack');
    assert.equal((await channelz(server, ch)).subscriptions.length, 2);

    await closeStan(sc);
    assert.ok(!(await clientIds(server)).includes(id));
    const c = await channelz(server, ch);
    assert.equal(c.subscriptions.length, 1);
    assert.equal(c.subscriptions[0].durable_name, 'dur');
    assert.equal(c.subscriptions[0].is_offline, true);
    assert.equal(c.subscriptions[0].client_id, id);

    await pubN(pub, ch, 4, 5);
    const sc2 = await conns.connect(cid, id, nats.url);
    const back = await subscribe(sc2, ch, undefined, sc2.subscriptionOptions().setDurableName('dur').setManualAckMode(true).setAckWait(60_000));
    await until(() => back.got.length >= 4);
    await sleep(200);
    assert.deepEqual(seqs(back.got), [2, 3, 4, 5]);
    assert.deepEqual(flags(back.got), [true, true, false, false]);
    const c2 = await channelz(server, ch);
    assert.equal(c2.subscriptions.length, 1);
    assert.equal(c2.subscriptions[0].is_offline, false);
    await closeStan(sc2);
  });

  it('a durable belongs to its client ID: another client with the same durable name gets its own', async () => {
    const ch = unique('dother.ch');
    const a = await conns.connect(cid, unique('downer'), nats.url);
    const b = await conns.connect(cid, unique('dother'), nats.url);
    await pubN(pub, ch, 1, 2);
    const da = await subscribe(a, ch, undefined, a.subscriptionOptions().setDurableName('same').setDeliverAllAvailable());
    const db = await subscribe(b, ch, undefined, b.subscriptionOptions().setDurableName('same').setStartAtSequence(2));
    await until(() => da.got.length === 2 && db.got.length === 1);
    assert.deepEqual(seqs(da.got), [1, 2]);
    assert.deepEqual(seqs(db.got), [2]);
    assert.equal((await channelz(server, ch)).subscriptions.length, 2);
    await closeStan(a);
    await closeStan(b);
  });

  it('unsubscribe removes the durable: subscribing again starts from the requested start position', async () => {
    const id = unique('dunsub');
    const ch = unique('dunsub.ch');
    const sc = await conns.connect(cid, id, nats.url);
    const d1 = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('d').setDeliverAllAvailable());
    await pubN(pub, ch, 1, 3);
    await until(() => d1.got.length === 3);
    await unsubscribeSub(d1.sub);
    assert.equal((await channelz(server, ch)).subscriptions, undefined);
    await pubN(pub, ch, 4, 4);

    const d2 = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('d').setDeliverAllAvailable());
    await until(() => d2.got.length >= 4);
    await sleep(100);
    assert.deepEqual(seqs(d2.got), [1, 2, 3, 4]);
    assert.ok(d2.got.every((m) => !m.redelivered));
    await unsubscribeSub(d2.sub);

    const d3 = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('d'));
    await pubN(pub, ch, 5, 5);
    await until(() => d3.got.length >= 1);
    await sleep(100);
    assert.deepEqual(seqs(d3.got), [5]);
    await closeStan(sc);
  });

  it('a durable resumed after a client close can be unsubscribed, which deletes it for good', async () => {
    const id = unique('dunsub2');
    const ch = unique('dunsub2.ch');
    const sc = await conns.connect(cid, id, nats.url);
    await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('d'));
    await closeStan(sc);
    assert.equal((await channelz(server, ch)).subscriptions.length, 1);
    const sc2 = await conns.connect(cid, id, nats.url);
    const again = await subscribe(sc2, ch, undefined, sc2.subscriptionOptions().setDurableName('d'));
    await unsubscribeSub(again.sub);
    assert.equal((await channelz(server, ch)).subscriptions, undefined);
    await closeStan(sc2);
    assert.equal((await channelz(server, ch)).subscriptions, undefined);
  });

  it('refuses a second online durable with the same name on the same client and channel', async () => {
    const id = unique('ddup');
    const ch = unique('ddup.ch');
    const sc = await conns.connect(cid, id, nats.url);
    const d1 = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('d'));
    await assert.rejects(subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('d')), {
      message: 'stan: duplicate durable registration',
    });
    // The same name on another channel is another durable.
    await subscribe(sc, unique('ddup.other'), undefined, sc.subscriptionOptions().setDurableName('d'));
    await pubN(pub, ch, 1, 1);
    await until(() => d1.got.length === 1);
    const c = await channelz(server, ch);
    assert.equal(c.subscriptions.length, 1);
    assert.equal(c.subscriptions[0].is_offline, false);
    await closeStan(sc);
  });

  it('with --replace_durable a second durable with the same name replaces the first, which stops receiving', async () => {
    const id = unique('drepl');
    const ch = unique('drepl.ch');
    const sc = await conns.connect(cidR, id, nats.url);
    const opts = () => sc.subscriptionOptions().setDurableName('d').setDeliverAllAvailable().setManualAckMode(true).setAckWait(60_000);
    const old = await subscribe(sc, ch, undefined, opts());
    await pubN(pubR, ch, 1, 2);
    await until(() => old.got.length === 2);
    old.got[0]!.msg.ack();
    await untilAsync(async () => (await channelz(replacing, ch)).subscriptions[0].pending_count === 1, 5000, 'the ack');

    const fresh = await subscribe(sc, ch, undefined, opts());
    await until(() => fresh.got.length >= 1);
    await pubN(pubR, ch, 3, 3);
    await until(() => fresh.got.length >= 2);
    await sleep(200);
    assert.deepEqual(seqs(fresh.got), [2, 3]);
    assert.deepEqual(flags(fresh.got), [true, false]);
    assert.deepEqual(seqs(old.got), [1, 2]);
    const c = await channelz(replacing, ch);
    assert.equal(c.subscriptions.length, 1);
    assert.equal(c.subscriptions[0].is_offline, false);
    assert.equal(c.subscriptions[0].inbox, fresh.sub.inbox);
    await closeStan(sc);
  });

  it('without --replace_durable the same request is refused (the flag is what makes the difference)', async () => {
    const id = unique('dnorepl');
    const ch = unique('dnorepl.ch');
    const sc = await conns.connect(cid, id, nats.url);
    await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('d'));
    await assert.rejects(subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('d')), {
      message: 'stan: duplicate durable registration',
    });
    await closeStan(sc);
  });
});
