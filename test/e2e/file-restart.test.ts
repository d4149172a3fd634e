import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { closeStan, connectStan, killUnderlyingNats, publish, sleep, subscribe, until } from '../helpers/stan-client.js';
import { runToExit, startStanServer } from '../helpers/stan-server.js';

describe('FILE store restarts', () => {
  let nats: NatsServer;
  const dirs: string[] = [];
  const newDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nss-restart-'));
    dirs.push(dir);
    return dir;
  };

  before(async () => {
    nats = await startNatsServer();
  });

  /**
   * Starts a server on a new directory, publishes m1..m20 on `channel` and acks the first `acked` of them on a durable
   * that got all 20 (ack wait one minute); returns the server, its arguments and the still-connected client.
   */
  const durableWithAcks = async (cluster: string, channel: string, acked: number) => {
    const args = ['-st', 'FILE', '--dir', await newDir()];
    const server = await startStanServer(nats.url, args, cluster);
    const sc = await connectStan(cluster, `${cluster}-client`, nats.url);
    for (let i = 1; i <= 20; i++) await publish(sc, channel, `m${i}`);
    const dur = await subscribe(sc, channel, undefined, sc.subscriptionOptions().setDurableName('dur').setDeliverAllAvailable().setManualAckMode(true).setAckWait(60_000));
    await until(() => dur.got.length === 20);
    for (const m of dur.got.slice(0, acked)) m.msg.ack();
    return { server, args, sc };
  };
  after(async () => {
    await nats?.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('brings back channels, sequences, durables and unacked messages after SIGTERM', async () => {
    const { server: first, args, sc } = await durableWithAcks('restart-cluster', 'restart.a', 10);
    await sleep(200);
    assert.equal(await first.stop('SIGTERM'), 0);
    // Drop the client's NATS connection without a close request: it must be replaced on reconnect.
    killUnderlyingNats(sc);

    const second = await startStanServer(nats.url, args, 'restart-cluster');
    try {
      const { body } = await second.monitor('/streaming/channelsz?channel=restart.a&subs=1');
      assert.equal(body.msgs, 20);
      assert.equal(body.last_seq, 20);
      assert.equal(body.subscriptions[0].durable_name, 'dur');
      assert.equal(body.subscriptions[0].last_sent, 20);
      assert.equal(body.subscriptions[0].pending_count, 10);
      const again = await connectStan('restart-cluster', 'restart-cluster-client', nats.url);
      const resumed = await subscribe(again, 'restart.a', undefined, again.subscriptionOptions().setDurableName('dur').setManualAckMode(true).setAckWait(60_000));
      await until(() => resumed.got.length === 10);
      assert.deepEqual(resumed.got.map((m) => m.seq), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      assert.deepEqual(resumed.got.map((m) => m.data), ['m11', 'm12', 'm13', 'm14', 'm15', 'm16', 'm17', 'm18', 'm19', 'm20']);
      assert.ok(resumed.got.every((m) => m.redelivered));
      const all = await subscribe(again, 'restart.a', undefined, again.subscriptionOptions().setDeliverAllAvailable());
      await until(() => all.got.length === 20);
      assert.deepEqual(all.got.map((m) => m.data), Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
      assert.equal(await publish(again, 'restart.a', 'next').then(() => 'ok'), 'ok');
      const { body: after } = await second.monitor('/streaming/channelsz?channel=restart.a');
      assert.equal(after.last_seq, 21);
      await closeStan(again);
    } finally {
      await second.stop();
    }
  });

  it('has written, a moment later, what was sent and acked between publishes, for a SIGKILL to keep', async () => {
    const { server: first, args, sc } = await durableWithAcks('acks-cluster', 'acks.a', 12);
    await sleep(500);
    await first.stop('SIGKILL');
    killUnderlyingNats(sc);

    const second = await startStanServer(nats.url, args, 'acks-cluster');
    try {
      const { body } = await second.monitor('/streaming/channelsz?channel=acks.a&subs=1');
      assert.equal(body.subscriptions[0].last_sent, 20);
      assert.equal(body.subscriptions[0].pending_count, 8);
      const again = await connectStan('acks-cluster', 'acks-cluster-client', nats.url);
      const resumed = await subscribe(again, 'acks.a', undefined, again.subscriptionOptions().setDurableName('dur').setManualAckMode(true).setAckWait(60_000));
      await until(() => resumed.got.length === 8);
      assert.deepEqual(resumed.got.map((m) => m.seq), [13, 14, 15, 16, 17, 18, 19, 20]);
      await closeStan(again);
    } finally {
      await second.stop();
    }
  });

  it('has every acknowledged message exactly once after a SIGKILL during publishing', async () => {
    const args = ['-st', 'FILE', '--dir', await newDir()];
    const first = await startStanServer(nats.url, args, 'crash-cluster');
    const sc = await connectStan('crash-cluster', 'crash-pub', nats.url, { maxPubAcksInflight: 256 });
    const acked = new Set<string>();
    let sent = 0;
    let stop = false;
    const sending = (async () => {
      while (!stop) {
        const payload = `c${++sent}`;
        sc.publish('crash.a', payload, (err: unknown) => {
          if (!err) acked.add(payload);
        });
        if (sent % 64 === 0) await sleep(1);
      }
    })();
    await until(() => acked.size >= 2000, 20_000, '2000 acks');
    await first.stop('SIGKILL');
    stop = true;
    await sending;
    const ackedAtKill = new Set(acked);
    killUnderlyingNats(sc);

    const second = await startStanServer(nats.url, args, 'crash-cluster');
    try {
      const reader = await connectStan('crash-cluster', 'crash-reader', nats.url);
      const { body } = await second.monitor('/streaming/channelsz?channel=crash.a');
      const { got } = await subscribe(reader, 'crash.a', undefined, reader.subscriptionOptions().setDeliverAllAvailable());
      await until(() => got.length === body.msgs, 20_000, 'every stored message');
      const seen = new Map<string, number>();
      for (const m of got) seen.set(m.data, (seen.get(m.data) ?? 0) + 1);
      for (const payload of ackedAtKill) assert.equal(seen.get(payload), 1, `acked ${payload} must be stored exactly once`);
      assert.deepEqual(got.map((m) => m.seq), Array.from({ length: got.length }, (_, i) => i + 1));
      // Written but not acked before the kill is allowed; report it.
      const extra = got.length - ackedAtKill.size;
      if (extra > 0) console.log(`# ${extra} message(s) stored but not acked before the SIGKILL`);
      await closeStan(reader);
    } finally {
      await second.stop();
    }
  });

  it('refuses to start a second server on a directory in use without --ft_group', async () => {
    const dir = await newDir();
    const first = await startStanServer(nats.url, ['-st', 'FILE', '--dir', dir], 'lock-cluster');
    try {
      const { code, output } = await runToExit(['-ns', nats.url, '-cid', 'lock-cluster', '-st', 'FILE', '--dir', dir]);
      assert.equal(code, 1);
      assert.match(output, /in use by another server/);
    } finally {
      await first.stop();
    }
  });
});
