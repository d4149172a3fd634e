import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';
import { closeStan, connectStan, publish, subscribe, until } from '../helpers/stan-client.js';

describe('monitoring endpoints and their query parameters', () => {
  let nats: NatsServer;
  let server: StanProcess;
  const conns: any[] = [];

  before(async () => {
    nats = await startNatsServer();
    server = await startStanServer(nats.url, ['-mm', '50', '-ma', '1h']);
    for (const id of ['mon-b', 'mon-a', 'mon-c']) conns.push(await connectStan(server.clusterId, id, nats.url));
    const [b, a] = conns;
    for (const ch of ['zeta', 'alpha', 'mid']) await publish(a, ch, 'x');
    const s1 = await subscribe(a, 'alpha', undefined, a.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true));
    await subscribe(b, 'alpha', 'workers', b.subscriptionOptions().setDurableName('dq'));
    await subscribe(a, 'zeta', undefined, a.subscriptionOptions().setDurableName('d<1>'));
    await until(() => s1.got.length === 1);
  });
  after(async () => {
    for (const c of conns) await closeStan(c);
    await server?.stop();
    await nats?.stop();
  });

  it('serves the index and 404s unknown paths', async () => {
    const idx = await fetch(`http://127.0.0.1:${server.monitorPort}/streaming`);
    assert.equal(idx.status, 200);
    assert.match(await idx.text(), /streaming\/serverz/);
    assert.equal((await server.monitor('/streaming/nope')).status, 404);
  });

  it('serverz counts clients, channels, subscriptions and messages', async () => {
    const { body } = await server.monitor('/streaming/serverz');
    assert.equal(body.state, 'STANDALONE');
    assert.equal(body.clients, 3);
    assert.equal(body.channels, 3);
    assert.equal(body.subscriptions, 3);
    assert.equal(body.total_msgs, 3);
    assert.equal(body.in_msgs, 3);
    assert.match(body.uptime, /^\d+s$|^\d+m\d+s$/);
  });

  it('storez reports the limits with durations in nanoseconds', async () => {
    const { body } = await server.monitor('/streaming/storez');
    assert.equal(body.type, 'MEMORY');
    assert.equal(body.limits.max_msgs, 50);
    assert.equal(body.limits.max_age, 3_600_000_000_000);
    assert.equal(body.limits.channels, undefined);
  });

  it('clientsz lists clients sorted by ID, pages with offset and limit, and shows subscriptions with subs=1', async () => {
    const all = (await server.monitor('/streaming/clientsz')).body;
    assert.deepEqual(all.clients.map((c: any) => c.id), ['mon-a', 'mon-b', 'mon-c']);
    assert.equal(all.clients[0].subscriptions, undefined);
    const page = (await server.monitor('/streaming/clientsz?offset=1&limit=1')).body;
    assert.deepEqual([page.offset, page.limit, page.count, page.total], [1, 1, 1, 3]);
    assert.equal(page.clients[0].id, 'mon-b');
    const one = (await server.monitor('/streaming/clientsz?client=mon-a&subs=1')).body;
    assert.equal(one.id, 'mon-a');
    assert.deepEqual(Object.keys(one.subscriptions).sort(), ['alpha', 'zeta']);
    assert.equal((await server.monitor('/streaming/clientsz?client=nobody')).status, 404);
  });

  it('channelsz lists names, or channels with subscriptions, one channel, and pages', async () => {
    const names = (await server.monitor('/streaming/channelsz')).body;
    assert.deepEqual(names.names, ['alpha', 'mid', 'zeta']);
    const withSubs = (await server.monitor('/streaming/channelsz?subs=1&limit=2')).body;
    assert.deepEqual(withSubs.channels.map((c: any) => c.name), ['alpha', 'mid']);
    const alpha = withSubs.channels[0];
    assert.equal(alpha.subs_count, 2);
    assert.deepEqual(alpha.subscriptions.map((s: any) => s.queue_name ?? ''), ['', 'dq:workers']);
    assert.equal(alpha.subscriptions[0].pending_count, 1);
    const zeta = (await server.monitor('/streaming/channelsz?channel=zeta&subs=1')).body;
    assert.equal(zeta.subscriptions[0].durable_name, 'd<1>');
    const raw = await (await fetch(`http://127.0.0.1:${server.monitorPort}/streaming/channelsz?channel=zeta&subs=1`)).text();
    assert.match(raw, /"d\\u003c1\\u003e"/);
    assert.equal((await server.monitor('/streaming/channelsz?channel=nope')).status, 404);
    const past = (await server.monitor('/streaming/channelsz?offset=10')).body;
    assert.equal(past.count, 0);
    assert.equal(past.names, undefined);
  });

  it('answers 400 with a message for a query parameter that is not an integer', async () => {
    for (const q of ['channelsz?offset=x', 'clientsz?limit=1.5', 'channelsz?subs=yes']) {
      const res = await server.monitor(`/streaming/${q}`);
      assert.equal(res.status, 400, q);
      assert.match(String(res.body), /not an integer/);
    }
  });

  it('isFTActive is 204 on a standalone server', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${server.monitorPort}/streaming/isFTActive`)).status, 204);
  });

  it('wraps JSON in a JSONP callback when asked', async () => {
    const res = await fetch(`http://127.0.0.1:${server.monitorPort}/streaming/serverz?callback=cb`);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assert.match(await res.text(), /^cb\(\{/);
  });
});
