import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { closeStan, connectStan, sleep, subscribe, until } from '../helpers/stan-client.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';

const CLUSTER = 'ft-cluster';
const STANDBY = /starting in standby mode/;

async function isActive(server: StanProcess): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/streaming/isFTActive`);
  assert.ok(res.status === 200 || res.status === 204, `isFTActive answered ${res.status}`);
  return res.status === 200;
}

/** Publishes one message, retrying while no server acks it (a failover in progress); resolves once acked. */
function publishUntilAcked(sc: any, subject: string, payload: string): Promise<void> {
  return new Promise((resolve) => {
    const attempt = () => sc.publish(subject, payload, (err: unknown) => (err ? setTimeout(attempt, 50) : resolve()));
    attempt();
  });
}

describe('fault tolerance on the FILE store', () => {
  let nats: NatsServer;
  let dir: string;
  const servers: StanProcess[] = [];

  before(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'nss-ft-'));
  });
  after(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const args = () => ['-st', 'FILE', '--dir', dir, '--ft_group', 'grp'];

  it('refuses an FT group on the memory store', async () => {
    const { runToExit } = await import('../helpers/stan-server.js');
    const { code, output } = await runToExit(['-ns', nats.url, '--ft_group', 'grp']);
    assert.equal(code, 1);
    assert.match(output, /only FILE or SQL stores supported in FT mode/);
  });

  it('has exactly one active server, fails over on SIGKILL without losing an acked message, and the old active comes back as standby', async () => {
    const a = await startStanServer(nats.url, args(), CLUSTER);
    servers.push(a);
    const b = await startStanServer(nats.url, args(), CLUSTER, [], STANDBY);
    servers.push(b);
    await sleep(500);
    assert.equal(await isActive(a), true);
    assert.equal(await isActive(b), false);
    assert.equal((await b.monitor('/streaming/serverz')).status !== 200 || (await b.monitor('/streaming/serverz')).body.state === 'FT_STANDBY', true);

    const pub = await connectStan(CLUSTER, 'ft-pub', nats.url, { ackTimeout: 1000 });
    const subConn = await connectStan(CLUSTER, 'ft-sub', nats.url);
    const { got } = await subscribe(subConn, 'ft.orders', undefined, subConn.subscriptionOptions().setDurableName('dur').setDeliverAllAvailable().setManualAckMode(true).setAckWait(2000), (m) =>
      m.msg.ack(),
    );

    const acked: string[] = [];
    let killed = false;
    for (let i = 1; i <= 300; i++) {
      if (i === 150) {
        await a.stop('SIGKILL');
        killed = true;
      }
      await publishUntilAcked(pub, 'ft.orders', `o${i}`);
      acked.push(`o${i}`);
    }
    assert.ok(killed);
    await b.proc.waitFor(/Streaming Server is ready/);
    assert.equal(await isActive(b), true);
    await until(() => new Set(got.map((m) => m.data)).size >= 300, 20_000, 'the durable to receive every acked message');
    const received = new Set(got.map((m) => m.data));
    for (const p of acked) assert.ok(received.has(p), `acked ${p} was lost`);

    const reader = await connectStan(CLUSTER, 'ft-reader', nats.url);
    const all = await subscribe(reader, 'ft.orders', undefined, reader.subscriptionOptions().setDeliverAllAvailable());
    await until(() => all.got.length >= 300, 10_000, 'all stored messages');
    const stored = new Set(all.got.map((m) => m.data));
    for (const p of acked) assert.ok(stored.has(p), `acked ${p} is not stored`);

    const a2 = await startStanServer(nats.url, args(), CLUSTER, [], STANDBY);
    servers.push(a2);
    await sleep(500);
    assert.equal(await isActive(a2), false);
    assert.equal(await isActive(b), true);
    await closeStan(reader);
    await closeStan(subConn);
    await closeStan(pub);
  });

  it('does not let a standby become active while the active is frozen (SIGSTOP) and resumes it after SIGCONT', async () => {
    const alive = servers.filter((s) => s.proc.child.exitCode === null && s.proc.child.signalCode === null);
    const active = alive.find((s) => s.proc.output().includes('Streaming Server is ready'))!;
    const standby = alive.find((s) => s !== active)!;
    assert.ok(active && standby);
    active.proc.child.kill('SIGSTOP');
    try {
      await sleep(3000);
      assert.equal(await isActive(standby), false);
      assert.doesNotMatch(standby.proc.output(), /Streaming Server is ready/);
    } finally {
      active.proc.child.kill('SIGCONT');
    }
    const sc = await connectStan(CLUSTER, 'ft-after-freeze', nats.url, { ackTimeout: 5000 });
    await publishUntilAcked(sc, 'ft.orders', 'after-freeze');
    assert.equal(await isActive(active), true);
    await closeStan(sc);
  });
});
