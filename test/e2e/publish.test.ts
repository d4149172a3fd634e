import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { pb } from '../../src/proto/codec.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import {
  StanConns,
  channelz,
  connectReq,
  liveRawClient,
  pubMsg,
  rawConnect,
  rawNats,
  rawPublish,
  request,
  stanSubjects,
  unique,
  utf8,
} from '../helpers/raw.js';
import { closeStan, publish, subscribe, until } from '../helpers/stan-client.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';

const INVALID_PUB = 'stan: invalid publish request';

describe('publish', () => {
  let nats: NatsServer;
  const conns = new StanConns();
  let server: StanProcess;
  let nc: NatsConnection;
  let clientId: string;
  let connId: Uint8Array;
  let stopHb: () => void;
  const cid = 'publish-cluster';

  before(async () => {
    nats = await startNatsServer();
    server = await startStanServer(nats.url, [], cid);
    nc = await rawNats(nats.url);
    clientId = unique('publisher');
    const live = await liveRawClient(nc, cid, clientId);
    connId = live.req.connID;
    stopHb = live.stop;
  });
  after(async () => {
    await conns.closeAll();
    stopHb?.();
    await nc?.close();
    await server?.stop();
    await nats?.stop();
  });

  describe('PubAck only after the message is stored', () => {
    it('every acked message is already in the channel (channelsz) and deliverable to a new subscriber', async () => {
      const sc = await conns.connect(cid, unique('stored'), nats.url);
      const ch = unique('stored.ch');
      for (let i = 1; i <= 5; i++) {
        await publish(sc, ch, `m${i}`);
        const c = await channelz(server, ch);
        assert.equal(c.msgs, i);
        assert.equal(c.last_seq, i);
        assert.equal(c.first_seq, 1);
      }
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
      await until(() => got.length === 5);
      assert.deepEqual(got.map((m) => m.data), ['m1', 'm2', 'm3', 'm4', 'm5']);
      await closeStan(sc);
    });

    it('a subscriber on the same connection has the message before the publisher has the PubAck', async () => {
      const sc = await conns.connect(cid, unique('order'), nats.url);
      const ch = unique('order.ch');
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions());
      for (let i = 1; i <= 20; i++) {
        await publish(sc, ch, `m${i}`);
        assert.equal(got.length, i, `message ${i} should arrive before its PubAck`);
        assert.equal(got[i - 1]!.seq, i);
      }
      await closeStan(sc);
    });

    it('stores every publish sent before the client closed, even when the close follows at once', async () => {
      const sc = await conns.connect(cid, unique('pubclose'), nats.url);
      const ch = unique('pubclose.ch');
      for (let i = 1; i <= 200; i++) sc.publish(ch, `m${i}`, () => undefined);
      await closeStan(sc);
      const c = await channelz(server, ch);
      assert.equal(c.msgs, 200);
      assert.equal(c.last_seq, 200);
    });

    it('echoes the guid in the PubAck and copies the reply field into the message', async () => {
      const ch = unique('guid.ch');
      const msg = pubMsg({ clientID: clientId, subject: ch, reply: 'some.reply', data: utf8('payload'), connID: connId });
      const ack = await rawPublish(nc, cid, msg, ch);
      assert.equal(ack.guid, msg.guid);
      assert.equal(ack.error, '');
      const sc = await conns.connect(cid, unique('guidsub'), nats.url);
      const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
      await until(() => got.length === 1);
      assert.equal(got[0]!.data, 'payload');
      assert.equal(got[0]!.msg.getSubject(), ch);
      assert.equal(got[0]!.msg.msg.getReply(), 'some.reply');
      await closeStan(sc);
    });

    it('takes the channel from the PubMsg subject, not from the NATS subject it was sent on', async () => {
      const ch = unique('payload.ch');
      const other = unique('natssubject.ch');
      const ack = await rawPublish(nc, cid, pubMsg({ clientID: clientId, subject: ch, connID: connId }), other);
      assert.equal(ack.error, '');
      assert.equal((await channelz(server, ch)).msgs, 1);
      assert.equal(await channelz(server, other), undefined);
    });

    it('gives consecutive sequences per channel', async () => {
      const a = unique('seq.a');
      const b = unique('seq.b');
      for (const ch of [a, b, a, a, b]) await rawPublish(nc, cid, pubMsg({ clientID: clientId, subject: ch, connID: connId }), ch);
      assert.equal((await channelz(server, a)).last_seq, 3);
      assert.equal((await channelz(server, b)).last_seq, 2);
    });
  });

  describe('invalid publish requests', () => {
    for (const subject of ['a.*', 'a..b', '', 'a.>', 'foo*', '.a', 'a.', 'a/b']) {
      it(`refuses the channel name ${JSON.stringify(subject)} with "${INVALID_PUB}" and creates no channel`, async () => {
        const msg = pubMsg({ clientID: clientId, subject, connID: connId });
        const ack = await rawPublish(nc, cid, msg, 'x');
        assert.equal(ack.error, INVALID_PUB);
        assert.equal(ack.guid, msg.guid);
        if (subject) assert.equal(await channelz(server, subject), undefined);
      });
    }

    it('accepts a channel name with a space (only ".", "*", ">" and "/" are checked)', async () => {
      const ch = unique('with space');
      const ack = await rawPublish(nc, cid, pubMsg({ clientID: clientId, subject: ch, connID: connId }), 'x');
      assert.equal(ack.error, '');
      assert.equal((await channelz(server, ch))?.msgs, 1);
    });

    it('refuses a channel that differs from an existing one only by case, with the Go text', async () => {
      const base = unique('Case.Chan');
      assert.equal((await rawPublish(nc, cid, pubMsg({ clientID: clientId, subject: base }))).error, '');
      const lower = base.toLowerCase();
      const ack = await rawPublish(nc, cid, pubMsg({ clientID: clientId, subject: lower }));
      assert.equal(ack.error, `rejecting channel "${lower}" because channel "${base}" alreay exists (different cases not allowed)`);
      assert.equal(await channelz(server, lower), undefined);
    });

    it('refuses a publish from an unknown client ID', async () => {
      const msg = pubMsg({ clientID: unique('ghost'), subject: unique('ghost.ch') });
      const ack = await rawPublish(nc, cid, msg);
      assert.equal(ack.error, INVALID_PUB);
      assert.equal(ack.guid, msg.guid);
      assert.equal(await channelz(server, msg.subject), undefined);
    });

    it('refuses a publish without guid', async () => {
      const ch = unique('noguid.ch');
      const ack = await rawPublish(nc, cid, pubMsg({ clientID: clientId, subject: ch, guid: '', connID: connId }));
      assert.equal(ack.error, INVALID_PUB);
      assert.equal(ack.guid, '');
      assert.equal(await channelz(server, ch), undefined);
    });

    it('refuses a publish with the connection ID of an unknown connection, even with a valid client ID', async () => {
      const ch = unique('badconn.ch');
      const msg = pubMsg({ clientID: clientId, subject: ch, connID: utf8('not-a-connection') });
      const ack = await rawPublish(nc, cid, msg);
      assert.equal(ack.error, INVALID_PUB);
      assert.equal(await channelz(server, ch), undefined);
    });

    it('checks only the connection ID when there is one (the client ID is then ignored)', async () => {
      const ch = unique('connonly.ch');
      const ack = await rawPublish(nc, cid, pubMsg({ clientID: 'someone-else', subject: ch, connID: connId }));
      assert.equal(ack.error, '');
      assert.equal((await channelz(server, ch)).msgs, 1);
    });

    it('accepts a publish without connection ID from a known client ID', async () => {
      const ch = unique('noconn.ch');
      const ack = await rawPublish(nc, cid, pubMsg({ clientID: clientId, subject: ch }));
      assert.equal(ack.error, '');
    });

    it('refuses the old connection ID of a replaced client', async () => {
      const id = unique('replaced-pub');
      const old = connectReq(id);
      assert.equal((await rawConnect(nc, cid, old)).error, '');
      const fresh = await liveRawClient(nc, cid, id);
      const ch = unique('replaced.ch');
      const bad = await rawPublish(nc, cid, pubMsg({ clientID: id, subject: ch, connID: old.connID }));
      assert.equal(bad.error, INVALID_PUB);
      const good = await rawPublish(nc, cid, pubMsg({ clientID: id, subject: ch, connID: fresh.req.connID }));
      assert.equal(good.error, '');
      fresh.stop();
    });

    it('refuses publishes of a closed client', async () => {
      const id = unique('closed-pub');
      const live = await liveRawClient(nc, cid, id);
      await request(nc, stanSubjects(cid).close, pb.CloseRequest.encode({ clientID: id }));
      const ack = await rawPublish(nc, cid, pubMsg({ clientID: id, subject: unique('closed.ch'), connID: live.req.connID }));
      assert.equal(ack.error, INVALID_PUB);
      const ack2 = await rawPublish(nc, cid, pubMsg({ clientID: id, subject: unique('closed.ch') }));
      assert.equal(ack2.error, INVALID_PUB);
      live.stop();
    });

    it('refuses an undecodable PubMsg with "stan: invalid publish request"', async () => {
      const ack = pb.PubAck.decode(await request(nc, `${stanSubjects(cid).pub}.foo`, utf8('dummy')));
      assert.equal(ack.error, INVALID_PUB);
    });

    it('rejects a wildcard publish from node-nats-streaming too', async () => {
      const sc = await conns.connect(cid, unique('nnsbad'), nats.url);
      await assert.rejects(publish(sc, 'foo.>', 'x'), /stan: invalid publish request/);
      await closeStan(sc);
    });
  });
});
