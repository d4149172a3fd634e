import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';
import { closeStan, connectStan, publish, subscribe, until } from '../helpers/stan-client.js';

describe('publish and subscribe with node-nats-streaming', () => {
  let nats: NatsServer;
  let server: StanProcess;

  before(async () => {
    nats = await startNatsServer();
    server = await startStanServer(nats.url);
  });
  after(async () => {
    await server?.stop();
    await nats?.stop();
  });

  it('acks publishes and delivers them in order with sequences from 1', async () => {
    const sc = await connectStan(server.clusterId, 'pubsub-1', nats.url);
    const { got } = await subscribe(sc, 'orders', undefined, sc.subscriptionOptions().setDeliverAllAvailable());
    for (let i = 0; i < 50; i++) await publish(sc, 'orders', `m${i}`);
    await until(() => got.length === 50, 5000, '50 messages');
    assert.deepEqual(got.map((m) => m.seq), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.deepEqual(got.map((m) => m.data), Array.from({ length: 50 }, (_, i) => `m${i}`));
    assert.ok(got.every((m) => !m.redelivered));
    await closeStan(sc);
  });

  it('refuses a publish on a subject with a wildcard with an error PubAck', async () => {
    const sc = await connectStan(server.clusterId, 'pubsub-2', nats.url);
    await assert.rejects(publish(sc, 'bad.*', 'x'), /stan: invalid publish request/);
    await closeStan(sc);
  });

  it('reports channels and subscriptions on channelsz', async () => {
    const sc = await connectStan(server.clusterId, 'pubsub-3', nats.url);
    await publish(sc, 'mon.a', 'hello');
    const { got } = await subscribe(sc, 'mon.a', undefined, sc.subscriptionOptions().setDurableName('dur').setDeliverAllAvailable().setManualAckMode(true));
    await until(() => got.length === 1);
    const { status, body } = await server.monitor('/streaming/channelsz?channel=mon.a&subs=1');
    assert.equal(status, 200);
    assert.equal(body.name, 'mon.a');
    assert.equal(body.msgs, 1);
    assert.equal(body.first_seq, 1);
    assert.equal(body.last_seq, 1);
    assert.equal(body.subscriptions.length, 1);
    assert.equal(body.subscriptions[0].durable_name, 'dur');
    assert.equal(body.subscriptions[0].pending_count, 1);
    assert.equal(body.subscriptions[0].client_id, 'pubsub-3');
    await closeStan(sc);
  });
});
