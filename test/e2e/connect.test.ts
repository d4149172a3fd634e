import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { pb } from '../../src/proto/codec.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import {
  StanConns,
  EMPTY,
  answerHeartbeats,
  channelz,
  clientIds,
  connectReq,
  liveRawClient,
  rawConnect,
  rawNats,
  rawSubscribe,
  repliesWithin,
  request,
  stanSubjects,
  subReq,
  unique,
  untilAsync,
  utf8,
} from '../helpers/raw.js';
import { closeStan, connectStan, publish, subscribe, until } from '../helpers/stan-client.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';

describe('connect, close and client pings', () => {
  let nats: NatsServer;
  const conns = new StanConns();
  let server: StanProcess;
  let nc: NatsConnection;
  const cid = 'connect-cluster';
  const S = stanSubjects(cid);

  before(async () => {
    nats = await startNatsServer();
    server = await startStanServer(nats.url, [], cid);
    nc = await rawNats(nats.url);
  });
  after(async () => {
    await conns.closeAll();
    await nc?.close();
    await server?.stop();
    await nats?.stop();
  });

  describe('ConnectResponse', () => {
    it('gives the cluster-ID based subjects, protocol 1 and echoes the ping settings for a protocol 1 client', async () => {
      const req = connectReq(unique('cr1'), { pingInterval: 7, pingMaxOut: 9 });
      const hb = answerHeartbeats(nc, req);
      const resp = await rawConnect(nc, cid, req);
      assert.equal(resp.error, '');
      assert.equal(resp.pubPrefix, `_STAN.pub.${cid}`);
      assert.equal(resp.subRequests, `_STAN.sub.${cid}`);
      assert.equal(resp.unsubRequests, `_STAN.unsub.${cid}`);
      assert.equal(resp.subCloseRequests, `_STAN.subclose.${cid}`);
      assert.equal(resp.closeRequests, `_STAN.close.${cid}`);
      assert.equal(resp.pingRequests, `_STAN.discover.${cid}.pings`);
      assert.equal(resp.pingInterval, 7);
      assert.equal(resp.pingMaxOut, 9);
      assert.equal(resp.protocol, 1);
      assert.equal(resp.publicKey, '');
      assert.ok((await clientIds(server)).includes(req.clientID));
      hb.stop();
    });

    it('leaves the ping fields out for a protocol 0 client but still says protocol 1', async () => {
      const req = connectReq(unique('cr0'), { protocol: 0, pingInterval: 7, pingMaxOut: 9 });
      const hb = answerHeartbeats(nc, req);
      const resp = await rawConnect(nc, cid, req);
      assert.equal(resp.error, '');
      assert.equal(resp.pubPrefix, `_STAN.pub.${cid}`);
      assert.equal(resp.pingRequests, '');
      assert.equal(resp.pingInterval, 0);
      assert.equal(resp.pingMaxOut, 0);
      assert.equal(resp.protocol, 1);
      hb.stop();
    });

    it('lets node-nats-streaming connect, publish and close', async () => {
      const sc = await conns.connect(cid, unique('nns'), nats.url);
      assert.equal(sc.pubPrefix, `_STAN.pub.${cid}`);
      assert.equal(sc.pingRequests, `_STAN.discover.${cid}.pings`);
      await publish(sc, unique('conn.ch'), 'x');
      await closeStan(sc);
    });
  });

  describe('refused connect requests', () => {
    const invalidId = 'stan: invalid clientID: only alphanumeric and `-` or `_` characters allowed';

    for (const bad of ['has space', 'dot.ted', 'star*', 'slash/x', 'é', '']) {
      it(`refuses client ID ${JSON.stringify(bad)} with the invalid client ID text`, async () => {
        const resp = await rawConnect(nc, cid, connectReq(bad));
        assert.equal(resp.error, invalidId);
        assert.equal(resp.pubPrefix, '');
        if (bad) assert.ok(!(await clientIds(server)).includes(bad));
      });
    }

    it('refuses a client ID with invalid characters from node-nats-streaming too', async () => {
      await assert.rejects(connectStan(cid, 'bad.client', nats.url), { message: invalidId });
    });

    it('accepts letters, digits, - and _', async () => {
      const id = `Az09_-${process.pid}`;
      const req = connectReq(id);
      const hb = answerHeartbeats(nc, req);
      const resp = await rawConnect(nc, cid, req);
      assert.equal(resp.error, '');
      hb.stop();
    });

    it('refuses a request without heartbeat inbox with "stan: invalid connection request"', async () => {
      const id = unique('nohb');
      const resp = await rawConnect(nc, cid, connectReq(id, { heartbeatInbox: '' }));
      assert.equal(resp.error, 'stan: invalid connection request');
      assert.ok(!(await clientIds(server)).includes(id));
    });

    it('checks the heartbeat inbox before the client ID', async () => {
      const resp = await rawConnect(nc, cid, connectReq('bad id', { heartbeatInbox: '' }));
      assert.equal(resp.error, 'stan: invalid connection request');
    });

    it('refuses an undecodable request with "stan: invalid connection request"', async () => {
      const resp = pb.ConnectResponse.decode(await request(nc, S.discover, utf8('dummy')));
      assert.equal(resp.error, 'stan: invalid connection request');
    });
  });

  describe('duplicate client IDs', () => {
    it('refuses a second connection with the ID of a live client, which keeps working', async () => {
      const id = unique('dup');
      const first = await conns.connect(cid, id, nats.url);
      await assert.rejects(connectStan(cid, id, nats.url), { message: 'stan: clientID already registered' });
      const ch = unique('dup.ch');
      const { got } = await subscribe(first, ch, undefined, first.subscriptionOptions().setDeliverAllAvailable());
      await publish(first, ch, 'after refusal');
      await until(() => got.length === 1);
      assert.equal(got[0]!.data, 'after refusal');
      assert.equal((await clientIds(server)).filter((c) => c === id).length, 1);
      await closeStan(first);
    });

    it('refuses a raw duplicate while the first client answers heartbeats', async () => {
      const id = unique('dupraw');
      const live = await liveRawClient(nc, cid, id);
      const resp = await rawConnect(nc, cid, connectReq(id));
      assert.equal(resp.error, 'stan: clientID already registered');
      const { body } = await server.monitor(`/streaming/clientsz?client=${id}`);
      assert.equal(body.hb_inbox, live.req.heartbeatInbox);
      live.stop();
    });

    it('replaces a client that does not answer on its heartbeat inbox', async () => {
      const id = unique('replace');
      // Nobody listens on this heartbeat inbox: the client is dead from the start.
      const dead = await rawConnect(nc, cid, connectReq(id));
      assert.equal(dead.error, '');
      assert.ok((await clientIds(server)).includes(id));
      const sc = await conns.connect(cid, id, nats.url);
      const { body } = await server.monitor(`/streaming/clientsz?client=${id}`);
      assert.equal(body.id, id);
      assert.notEqual(body.hb_inbox, '');
      const ch = unique('replace.ch');
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
      await publish(sc, ch, 'new owner');
      await until(() => got.length === 1);
      assert.equal((await clientIds(server)).filter((c) => c === id).length, 1);
      await closeStan(sc);
    });

    it('a second connect sent right behind the first replaces it when the first does not answer heartbeats', async () => {
      const id = unique('backtoback');
      const first = connectReq(id);
      const second = connectReq(id);
      const hb = answerHeartbeats(nc, second);
      await nc.flush();
      const [r1, r2] = await Promise.all([rawConnect(nc, cid, first), rawConnect(nc, cid, second)]);
      assert.equal(r1.error, '');
      assert.equal(r2.error, '');
      const { body } = await server.monitor(`/streaming/clientsz?client=${id}`);
      assert.equal(body.hb_inbox, second.heartbeatInbox);
      hb.stop();
    });

    it('closes the replaced client: its plain subscriptions go away and its durables go offline', async () => {
      const id = unique('replsubs');
      const old = connectReq(id);
      assert.equal((await rawConnect(nc, cid, old)).error, '');
      const ch = unique('replsubs.ch');
      assert.equal((await rawSubscribe(nc, cid, subReq({ clientID: id, subject: ch }))).error, '');
      assert.equal((await rawSubscribe(nc, cid, subReq({ clientID: id, subject: ch, durableName: 'dur' }))).error, '');
      assert.equal((await channelz(server, ch)).subscriptions.length, 2);

      const next = connectReq(id);
      const hb = answerHeartbeats(nc, next);
      assert.equal((await rawConnect(nc, cid, next)).error, '');
      const c = await channelz(server, ch);
      assert.equal(c.subscriptions.length, 1);
      assert.equal(c.subscriptions[0].durable_name, 'dur');
      assert.equal(c.subscriptions[0].is_offline, true);
      const { body } = await server.monitor(`/streaming/clientsz?client=${id}`);
      assert.equal(body.hb_inbox, next.heartbeatInbox);
      assert.equal(body.subs_count, 0);
      hb.stop();
    });

    it('answers a concurrent duplicate at once with "already registered" while the first duplicate is being checked', async () => {
      const id = unique('concurrent');
      const first = connectReq(id);
      // Subscribed but silent: the server's probe waits for its timeout.
      const silent = nc.subscribe(first.heartbeatInbox, { callback: () => undefined });
      assert.equal((await rawConnect(nc, cid, first)).error, '');
      const second = connectReq(id);
      const hb = answerHeartbeats(nc, second);
      const third = connectReq(id);
      await nc.flush();
      const p2 = rawConnect(nc, cid, second);
      const p3 = rawConnect(nc, cid, third);
      const [r2, r3] = await Promise.all([p2, p3]);
      assert.equal(r2.error, '');
      assert.equal(r2.pubPrefix, `_STAN.pub.${cid}`);
      assert.equal(r3.error, 'stan: clientID already registered');
      const { body } = await server.monitor(`/streaming/clientsz?client=${id}`);
      assert.equal(body.hb_inbox, second.heartbeatInbox);
      silent.unsubscribe();
      hb.stop();
    });
  });

  describe('close requests', () => {
    it('closes a client: it leaves clientsz and its ID can be used again', async () => {
      const id = unique('closeme');
      const live = await liveRawClient(nc, cid, id);
      const resp = pb.CloseResponse.decode(await request(nc, S.close, pb.CloseRequest.encode({ clientID: id })));
      assert.equal(resp.error, '');
      assert.ok(!(await clientIds(server)).includes(id));
      live.stop();
      const again = await liveRawClient(nc, cid, id);
      assert.equal(again.resp.error, '');
      again.stop();
    });

    it('answers a close for an unknown client ID with "stan: unknown clientID"', async () => {
      const resp = pb.CloseResponse.decode(await request(nc, S.close, pb.CloseRequest.encode({ clientID: unique('ghost') })));
      assert.equal(resp.error, 'stan: unknown clientID');
    });

    it('answers an undecodable close with "stan: invalid close request"', async () => {
      const resp = pb.CloseResponse.decode(await request(nc, S.close, utf8('dummy')));
      assert.equal(resp.error, 'stan: invalid close request');
    });
  });

  describe('client pings', () => {
    const replacedText = 'client has been replaced or is no longer registered';

    it('answers a ping from a registered connection with an empty payload', async () => {
      const live = await liveRawClient(nc, cid, unique('pinger'));
      const reply = await request(nc, S.pings, pb.Ping.encode({ connID: live.req.connID }));
      assert.equal(reply.length, 0);
      live.stop();
    });

    it('answers a ping with an unknown connection ID with the "replaced" error', async () => {
      const reply = await request(nc, S.pings, pb.Ping.encode({ connID: utf8('no-such-connection') }));
      assert.equal(pb.PingResponse.decode(reply).error, replacedText);
    });

    it('answers a ping without connection ID with the "replaced" error', async () => {
      // A Ping with only an unknown field decodes to an empty connID.
      const reply = await request(nc, S.pings, new Uint8Array([0x78, 0x01]));
      assert.equal(pb.PingResponse.decode(reply).error, replacedText);
    });

    it('tells the connection of a replaced client that it was replaced, and the new one that it is fine', async () => {
      const id = unique('pingrepl');
      const old = connectReq(id);
      assert.equal((await rawConnect(nc, cid, old)).error, '');
      const next = connectReq(id);
      const hb = answerHeartbeats(nc, next);
      assert.equal((await rawConnect(nc, cid, next)).error, '');
      const oldReply = await request(nc, S.pings, pb.Ping.encode({ connID: old.connID }));
      assert.equal(pb.PingResponse.decode(oldReply).error, replacedText);
      const newReply = await request(nc, S.pings, pb.Ping.encode({ connID: next.connID }));
      assert.equal(newReply.length, 0);
      hb.stop();
    });

    it('tells a closed connection that it is no longer registered', async () => {
      const id = unique('pingclosed');
      const live = await liveRawClient(nc, cid, id);
      await request(nc, S.close, pb.CloseRequest.encode({ clientID: id }));
      const reply = await request(nc, S.pings, pb.Ping.encode({ connID: live.req.connID }));
      assert.equal(pb.PingResponse.decode(reply).error, replacedText);
      live.stop();
    });

    it('does not answer an empty or undecodable ping', async () => {
      assert.deepEqual(await repliesWithin(nc, S.pings, EMPTY, 300), []);
      assert.deepEqual(await repliesWithin(nc, S.pings, utf8('dummy'), 300), []);
      // ...but still answers a good one afterwards.
      const reply = await request(nc, S.pings, pb.Ping.encode({ connID: utf8('x') }));
      assert.equal(pb.PingResponse.decode(reply).error, replacedText);
    });

    it('pings from node-nats-streaming are answered (the client keeps its connection)', async () => {
      const id = unique('nnsping');
      const sc = await conns.connect(cid, id, nats.url);
      // Send the client's own ping bytes the way it does, and read the answer.
      const reply = await request(nc, sc.pingRequests, sc.pingBytes);
      assert.equal(reply.length, 0);
      await closeStan(sc);
      const afterClose = await request(nc, S.pings, sc.pingBytes);
      assert.equal(pb.PingResponse.decode(afterClose).error, replacedText);
    });
  });

  it('registers a client whose connect request has no reply subject', async () => {
    const id = unique('noreply');
    const req = connectReq(id);
    const hb = answerHeartbeats(nc, req);
    nc.publish(S.discover, pb.ConnectRequest.encode(req));
    await untilAsync(async () => (await clientIds(server)).includes(id), 5000, 'the client to be registered');
    hb.stop();
  });
});
