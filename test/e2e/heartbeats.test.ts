import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { pb } from '../../src/proto/codec.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import {
  StanConns,
  channelz,
  clientIds,
  connectReq,
  rawConnect,
  rawNats,
  rawSubscribe,
  request,
  stanSubjects,
  subReq,
  unique,
  untilAsync,
} from '../helpers/raw.js';
import { killUnderlyingNats, publish, seqs, sleep, subscribe, until } from '../helpers/stan-client.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';

describe('server to client heartbeats (-hbi 250ms -hbt 750ms -hbf 2)', () => {
  let nats: NatsServer;
  let server: StanProcess;
  let nc: NatsConnection;
  const conns = new StanConns();
  const cid = 'hb-cluster';

  before(async () => {
    nats = await startNatsServer();
    server = await startStanServer(nats.url, ['-hbi', '250ms', '-hbt', '750ms', '-hbf', '2'], cid);
    nc = await rawNats(nats.url);
  });
  after(async () => {
    await conns.closeAll();
    await nc?.close();
    await server?.stop();
    await nats?.stop();
  });

  it('removes a node-nats-streaming client whose connection died without a close: plain subs gone, durables offline', async () => {
    const id = unique('dying');
    const ch = unique('dying.ch');
    const sc = await conns.connect(cid, id, nats.url);
    const live = await conns.connect(cid, unique('living'), nats.url);
    await subscribe(sc, ch, undefined, sc.subscriptionOptions());
    await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDurableName('dur'));
    await subscribe(sc, ch, 'q', sc.subscriptionOptions());
    const kept = await subscribe(live, ch, undefined, live.subscriptionOptions());
    assert.equal((await channelz(server, ch)).subscriptions.length, 4);

    killUnderlyingNats(sc);
    await untilAsync(async () => !(await clientIds(server)).includes(id), 10000, `${id} to be removed`);

    const c = await channelz(server, ch);
    const mine = c.subscriptions.filter((s: any) => s.client_id === id);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].durable_name, 'dur');
    assert.equal(mine[0].is_offline, true);
    assert.equal(c.subscriptions.length, 2);

    // The other client answered its heartbeats all along and still works.
    assert.ok((await clientIds(server)).includes(live.clientID));
    await publish(live, ch, 'after');
    await until(() => kept.got.length === 1);
    assert.equal(kept.got[0]!.data, 'after');
  });

  it('removes a raw client whose heartbeat inbox nobody listens on', async () => {
    const id = unique('deadraw');
    const ch = unique('deadraw.ch');
    const req = connectReq(id);
    assert.equal((await rawConnect(nc, cid, req)).error, '');
    assert.equal((await rawSubscribe(nc, cid, subReq({ clientID: id, subject: ch }))).error, '');
    assert.equal((await rawSubscribe(nc, cid, subReq({ clientID: id, subject: ch, durableName: 'd' }))).error, '');
    await untilAsync(async () => !(await clientIds(server)).includes(id), 10000, `${id} to be removed`);
    const c = await channelz(server, ch);
    assert.equal(c.subscriptions.length, 1);
    assert.equal(c.subscriptions[0].durable_name, 'd');
    assert.equal(c.subscriptions[0].is_offline, true);
    // Its connection ID is no longer registered either.
    const ping = await request(nc, stanSubjects(cid).pings, pb.Ping.encode({ connID: req.connID }));
    assert.equal(pb.PingResponse.decode(ping).error, 'client has been replaced or is no longer registered');
    // And its ID is free again.
    const again = connectReq(id);
    const hb = nc.subscribe(again.heartbeatInbox, { callback: (_e, m) => m.respond(new Uint8Array(0)) });
    assert.equal((await rawConnect(nc, cid, again)).error, '');
    hb.unsubscribe();
  });

  it('removes a client that stops answering, and keeps one that answers (heartbeats keep coming)', async () => {
    const quitter = connectReq(unique('quitter'));
    const stayer = connectReq(unique('stayer'));
    let stayerBeats = 0;
    const q = nc.subscribe(quitter.heartbeatInbox, { callback: (_e, m) => m.respond(new Uint8Array(0)) });
    const s = nc.subscribe(stayer.heartbeatInbox, {
      callback: (_e, m) => {
        stayerBeats++;
        m.respond(new Uint8Array(0));
      },
    });
    assert.equal((await rawConnect(nc, cid, quitter)).error, '');
    assert.equal((await rawConnect(nc, cid, stayer)).error, '');
    await until(() => stayerBeats >= 3, 10000, 'three heartbeats');
    assert.ok((await clientIds(server)).includes(quitter.clientID));
    q.unsubscribe();
    await untilAsync(async () => !(await clientIds(server)).includes(quitter.clientID), 10000, 'the quitter to be removed');
    const before = stayerBeats;
    await until(() => stayerBeats >= before + 3, 10000, 'more heartbeats');
    assert.ok((await clientIds(server)).includes(stayer.clientID));
    s.unsubscribe();
  });

  it('hands the unacked messages of a dead queue member to the other members', async () => {
    const ch = unique('deadq.ch');
    const dying = await conns.connect(cid, unique('deadq'), nats.url);
    const other = await conns.connect(cid, unique('liveq'), nats.url);
    const md = await subscribe(dying, ch, 'g', dying.subscriptionOptions().setManualAckMode(true).setAckWait(60_000));
    for (let i = 1; i <= 3; i++) await publish(other, ch, `m${i}`);
    await until(() => md.got.length === 3);
    const mo = await subscribe(other, ch, 'g', other.subscriptionOptions());
    killUnderlyingNats(dying);
    await until(() => mo.got.length >= 3, 10000, 'the dead member\'s messages');
    await sleep(200);
    assert.deepEqual(seqs(mo.got), [1, 2, 3]);
    assert.ok(mo.got.every((m) => m.redelivered));
    assert.ok(!(await clientIds(server)).includes(dying.clientID));
  });

  it('makes a durable queue group of a dead client offline, and a new member resumes it', async () => {
    const ch = unique('deaddq.ch');
    const dying = await conns.connect(cid, unique('deaddq'), nats.url);
    const md = await subscribe(dying, ch, 'g', dying.subscriptionOptions().setDurableName('dq'));
    const pubc = await conns.connect(cid, unique('deaddqpub'), nats.url);
    await publish(pubc, ch, 'm1');
    await until(() => md.got.length === 1);
    // The client acks on its own; kill it only once the server has the ack, or m1 is rightly redelivered later.
    await untilAsync(async () => (await channelz(server, ch)).subscriptions[0].pending_count === 0, 10000, 'the ack of m1');
    killUnderlyingNats(dying);
    await untilAsync(async () => !(await clientIds(server)).includes(dying.clientID), 10000, 'the dead client to be removed');
    const c = await channelz(server, ch);
    assert.equal(c.subscriptions.length, 1);
    assert.equal(c.subscriptions[0].is_offline, true);
    assert.equal(c.subscriptions[0].queue_name, 'dq:g');
    await publish(pubc, ch, 'm2');
    const mn = await subscribe(pubc, ch, 'g', pubc.subscriptionOptions().setDurableName('dq'));
    await until(() => mn.got.length >= 1);
    await sleep(200);
    assert.deepEqual(seqs(mn.got), [2]);
  });
});
