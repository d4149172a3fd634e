import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { type StanProcess, startStanServer } from '../helpers/stan-server.js';
import { closeStan, connectStan, publish, subscribe, until } from '../helpers/stan-client.js';

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics', () => {
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

  it('exposes traffic, channel, subscription and exporter-compatible series in Prometheus text', async () => {
    const sc = await connectStan(server.clusterId, 'metrics-1', nats.url);
    for (let i = 0; i < 5; i++) await publish(sc, 'metrics.chan', `m${i}`);
    const { got } = await subscribe(sc, 'metrics.chan', undefined, sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setDurableName('d'));
    await until(() => got.length === 5);
    const res = await fetch(`http://127.0.0.1:${server.monitorPort}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.equal(sample(text, 'stan_clients'), 1);
    assert.equal(sample(text, 'stan_channels'), 1);
    assert.equal(sample(text, 'stan_publishes_total'), 5);
    assert.equal(sample(text, 'stan_channel_last_seq', { channel: 'metrics.chan' }), 5);
    assert.equal(sample(text, 'nss_chan_msgs_total', { channel: 'metrics.chan' }), 5);
    assert.equal(sample(text, 'nss_chan_last_seq', { channel: 'metrics.chan' }), 5);
    assert.equal(sample(text, 'stan_subscription_last_sent', { channel: 'metrics.chan', durable_name: 'd' }), 5);
    assert.equal(sample(text, 'nss_chan_subs_max_inflight', { channel: 'metrics.chan', client_id: 'metrics-1', is_durable: 'true' }), 16384);
    assert.equal(sample(text, 'stan_ft_active'), 1);
    assert.ok((sample(text, 'stan_store_flush_seconds_count') ?? 0) >= 1);
    assert.ok(sample(text, 'process_cpu_user_seconds_total') !== undefined);
    await closeStan(sc);
  });
});
