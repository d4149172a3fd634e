import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NatsConnection, createInbox } from 'nats';
import { pb, spb } from '../../src/proto/codec.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import {
  EMPTY,
  StanConns,
  assertServing,
  channelz,
  clientIds,
  liveRawClient,
  prng,
  rawNats,
  rawSubscribe,
  rawUnsubscribe,
  randomBytes,
  repliesWithin,
  request,
  stanSubjects,
  subReq,
  unique,
  untilAsync,
  utf8,
} from '../helpers/raw.js';
import { type StanConn, publish, subscribe, until } from '../helpers/stan-client.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';

const INVALID_PUB = 'stan: invalid publish request';
const REPLACED = 'client has been replaced or is no longer registered';

describe('bad requests and garbage', () => {
  let nats: NatsServer;
  let server: StanProcess;
  let nc: NatsConnection;
  let sc: StanConn;
  let liveId: string;
  let stopHb: () => void;
  const conns = new StanConns();
  const cid = 'errors-cluster';
  const S = stanSubjects(cid);

  before(async () => {
    nats = await startNatsServer();
    server = await startStanServer(nats.url, [], cid);
    nc = await rawNats(nats.url);
    sc = await conns.connect(cid, unique('victim'), nats.url);
    liveId = unique('rawlive');
    stopHb = (await liveRawClient(nc, cid, liveId)).stop;
  });
  after(async () => {
    await conns.closeAll();
    stopHb?.();
    await nc?.close();
    await server?.stop();
    await nats?.stop();
  });

  describe('undecodable requests get the Go error replies', () => {
    const dummy = utf8('dummy');
    it('discover: "stan: invalid connection request"', async () => {
      assert.equal(pb.ConnectResponse.decode(await request(nc, S.discover, dummy)).error, 'stan: invalid connection request');
    });
    it('publish: "stan: invalid publish request"', async () => {
      assert.equal(pb.PubAck.decode(await request(nc, `${S.pub}.foo`, dummy)).error, INVALID_PUB);
    });
    it('subscribe: "stan: invalid subscription request"', async () => {
      assert.equal(pb.SubscriptionResponse.decode(await request(nc, S.sub, dummy)).error, 'stan: invalid subscription request');
    });
    it('unsubscribe: "stan: invalid unsubscribe request"', async () => {
      assert.equal(pb.SubscriptionResponse.decode(await request(nc, S.unsub, dummy)).error, 'stan: invalid unsubscribe request');
    });
    it('subscription close: "stan: invalid unsubscribe request"', async () => {
      assert.equal(pb.SubscriptionResponse.decode(await request(nc, S.subClose, dummy)).error, 'stan: invalid unsubscribe request');
    });
    it('close: "stan: invalid close request"', async () => {
      assert.equal(pb.CloseResponse.decode(await request(nc, S.close, dummy)).error, 'stan: invalid close request');
    });
    it('pings: no reply', async () => {
      assert.deepEqual(await repliesWithin(nc, S.pings, dummy, 300), []);
    });
  });

  describe('empty payloads (an empty protobuf message) get the Go replies', () => {
    it('discover: no heartbeat inbox', async () => {
      assert.equal(pb.ConnectResponse.decode(await request(nc, S.discover, EMPTY)).error, 'stan: invalid connection request');
    });
    it('publish: no guid', async () => {
      const ack = pb.PubAck.decode(await request(nc, `${S.pub}.foo`, EMPTY));
      assert.equal(ack.error, INVALID_PUB);
      assert.equal(ack.guid, '');
    });
    it('subscribe: no client ID', async () => {
      assert.equal(pb.SubscriptionResponse.decode(await request(nc, S.sub, EMPTY)).error, 'stan: clientID missing');
    });
    it('unsubscribe and subscription close: no such channel', async () => {
      assert.equal(pb.SubscriptionResponse.decode(await request(nc, S.unsub, EMPTY)).error, 'stan: unknown channel');
      assert.equal(pb.SubscriptionResponse.decode(await request(nc, S.subClose, EMPTY)).error, 'stan: unknown channel');
    });
    it('close: unknown client ID', async () => {
      assert.equal(pb.CloseResponse.decode(await request(nc, S.close, EMPTY)).error, 'stan: unknown clientID');
    });
    it('pings: no reply', async () => {
      assert.deepEqual(await repliesWithin(nc, S.pings, EMPTY, 300), []);
    });
  });

  describe('decoding is as strict as the Go server (a field with the wrong wire type is an error)', () => {
    // Field 1 (a string or bytes field in every request) sent as a varint: the Go decoders refuse it.
    const wrongWireType = new Uint8Array([0x08, 0x00]);
    it('subscribe: "stan: invalid subscription request"', async () => {
      assert.equal(pb.SubscriptionResponse.decode(await request(nc, S.sub, wrongWireType)).error, 'stan: invalid subscription request');
    });
    it('unsubscribe: "stan: invalid unsubscribe request"', async () => {
      assert.equal(pb.SubscriptionResponse.decode(await request(nc, S.unsub, wrongWireType)).error, 'stan: invalid unsubscribe request');
    });
    it('close: "stan: invalid close request"', async () => {
      assert.equal(pb.CloseResponse.decode(await request(nc, S.close, wrongWireType)).error, 'stan: invalid close request');
    });
    it('discover: "stan: invalid connection request"', async () => {
      assert.equal(pb.ConnectResponse.decode(await request(nc, S.discover, wrongWireType)).error, 'stan: invalid connection request');
    });
    it('pings: no reply', async () => {
      assert.deepEqual(await repliesWithin(nc, S.pings, wrongWireType, 300), []);
    });
    it('publish: a payload that is a valid CtrlMsg is silently ignored (no PubAck)', async () => {
      const ctrl = spb.CtrlMsg.encode({ MsgType: 1, ServerID: 'srv', Data: new Uint8Array([1, 2]), RefID: 'r' });
      assert.deepEqual(await repliesWithin(nc, `${S.pub}.foo`, ctrl, 300), []);
      assert.deepEqual(await repliesWithin(nc, `${S.pub}.foo`, wrongWireType, 300), []);
    });
  });

  describe('unsubscribe and subscription close requests', () => {
    it('refuses an unknown channel, an unknown inbox and a wrong client ID with the Go texts', async () => {
      const ch = unique('unsub.ch');
      const r = await rawSubscribe(nc, cid, subReq({ clientID: liveId, subject: ch }));
      assert.equal(r.error, '');
      for (const close of [false, true]) {
        assert.equal((await rawUnsubscribe(nc, cid, { clientID: liveId, subject: unique('nochannel'), inbox: r.ackInbox! }, close)).error, 'stan: unknown channel');
        assert.equal((await rawUnsubscribe(nc, cid, { clientID: liveId, subject: ch, inbox: 'wrong' }, close)).error, 'stan: invalid subscription');
        assert.equal((await rawUnsubscribe(nc, cid, { clientID: 'wrong', subject: ch, inbox: r.ackInbox! }, close)).error, 'stan: unknown clientID');
      }
      assert.equal((await channelz(server, ch)).subscriptions.length, 1);
      assert.equal((await rawUnsubscribe(nc, cid, { clientID: liveId, subject: ch, inbox: r.ackInbox! })).error, '');
      assert.equal((await channelz(server, ch)).subscriptions, undefined);
    });

    it('finds the subscription by its delivery inbox too', async () => {
      const ch = unique('unsub.inbox');
      const req = subReq({ clientID: liveId, subject: ch, durableName: 'd' });
      assert.equal((await rawSubscribe(nc, cid, req)).error, '');
      assert.equal((await rawUnsubscribe(nc, cid, { clientID: liveId, subject: ch, inbox: req.inbox }, true)).error, '');
      const c = await channelz(server, ch);
      assert.equal(c.subscriptions.length, 1);
      assert.equal(c.subscriptions[0].is_offline, true);
    });
  });

  describe('subscriptions with unusable inboxes', () => {
    it('a subscription with an empty inbox does not break publishing to, or delivery on, its channel', async () => {
      const ch = unique('emptyinbox');
      const bad = await rawSubscribe(nc, cid, subReq({ clientID: liveId, subject: ch, inbox: '' }));
      assert.equal(bad.error, '');
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions());
      await publish(sc, ch, 'one');
      await publish(sc, ch, 'two');
      await until(() => got.length === 2);
      assert.deepEqual(got.map((m) => m.data), ['one', 'two']);
      assert.equal((await channelz(server, ch)).last_seq, 2);
    });
  });

  describe('random bytes on every protocol subject', () => {
    const rand = prng(0x5eed1234);
    const N = 150;
    const garbage = () => Array.from({ length: N }, () => randomBytes(rand, 64));

    for (const [name, subject, decodeError] of [
      ['discover', S.discover, (b: Uint8Array) => pb.ConnectResponse.decode(b).error],
      ['subscribe', S.sub, (b: Uint8Array) => pb.SubscriptionResponse.decode(b).error],
      ['unsubscribe', S.unsub, (b: Uint8Array) => pb.SubscriptionResponse.decode(b).error],
      ['subscription close', S.subClose, (b: Uint8Array) => pb.SubscriptionResponse.decode(b).error],
      ['close', S.close, (b: Uint8Array) => pb.CloseResponse.decode(b).error],
    ] as const) {
      it(`${name}: every request gets an error reply`, async () => {
        const replies = await Promise.all(garbage().map((g) => request(nc, subject, g, 10000)));
        for (const reply of replies) assert.notEqual(decodeError(reply), '');
      });
    }

    it('publish: no crash, and every PubAck sent is "stan: invalid publish request"', async () => {
      const prefix = createInbox();
      const got: Uint8Array[] = [];
      let done = false;
      const sub = nc.subscribe(`${prefix}.*`, {
        callback: (_e, m) => {
          if (m.subject === `${prefix}.end`) done = true;
          else got.push(m.data);
        },
      });
      await nc.flush();
      for (const [i, g] of garbage().entries()) nc.publish(`${S.pub}.g${i % 7}`, g, { reply: `${prefix}.${i}` });
      nc.publish(`${S.pub}.end`, utf8('dummy'), { reply: `${prefix}.end` });
      await until(() => done, 10000, 'the sentinel PubAck');
      sub.unsubscribe();
      assert.ok(got.length > 0);
      for (const b of got) assert.equal(pb.PubAck.decode(b).error, INVALID_PUB);
    });

    it('pings: no crash, and every reply sent is the "replaced" error', async () => {
      const prefix = createInbox();
      const got: Uint8Array[] = [];
      let done = false;
      const sub = nc.subscribe(`${prefix}.*`, {
        callback: (_e, m) => {
          if (m.subject === `${prefix}.end`) done = true;
          else got.push(m.data);
        },
      });
      await nc.flush();
      for (const [i, g] of garbage().entries()) nc.publish(S.pings, g, { reply: `${prefix}.${i}` });
      nc.publish(S.pings, pb.Ping.encode({ connID: utf8('sentinel') }), { reply: `${prefix}.end` });
      await until(() => done, 10000, 'the sentinel ping reply');
      sub.unsubscribe();
      for (const b of got) assert.equal(pb.PingResponse.decode(b).error, REPLACED);
    });

    it("a subscription's ack inbox: no reply, and the subscription keeps working", async () => {
      const ch = unique('ackgarbage');
      const { sub, got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setManualAckMode(true).setAckWait(60_000).setMaxInFlight(1));
      const ackInbox: string = sub.ackInbox;
      const replyInbox = createInbox();
      const replies: Uint8Array[] = [];
      const rs = nc.subscribe(replyInbox, { callback: (_e, m) => replies.push(m.data) });
      for (const g of garbage()) nc.publish(ackInbox, g, { reply: replyInbox });
      // Acks for unknown channels and sequences are ignored too.
      nc.publish(ackInbox, pb.Ack.encode({ subject: unique('nochannel'), sequence: 1 }), { reply: replyInbox });
      nc.publish(ackInbox, pb.Ack.encode({ subject: ch, sequence: 999 }), { reply: replyInbox });
      await nc.flush();
      await publish(sc, ch, 'one');
      await publish(sc, ch, 'two');
      await until(() => got.length === 1);
      got[0]!.msg.ack();
      await until(() => got.length === 2);
      got[1]!.msg.ack();
      await untilAsync(async () => (await channelz(server, ch)).subscriptions[0].pending_count === 0, 5000, 'both acks');
      assert.deepEqual(got.map((m) => m.data), ['one', 'two']);
      rs.unsubscribe();
      assert.deepEqual(replies, []);
    });

    it('the server still serves afterwards, and its clients are still there', async () => {
      await assertServing(server, nats.url);
      const ids = await clientIds(server);
      assert.ok(ids.includes(liveId));
      assert.ok(ids.includes(sc.clientID));
      const ch = unique('after.garbage');
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions());
      await publish(sc, ch, 'fine');
      await until(() => got.length === 1);
    });

    it('no request handler failed with an internal error while processing garbage', () => {
      assert.equal(server.proc.child.exitCode, null);
      assert.doesNotMatch(server.proc.output(), /unexpected error|uncaught|unhandled/i);
    });
  });
});
